"""The sandbox acquirer: a pretend card gateway with its own pages and books.

It stands where an outside acquirer stands and talks to kassa only over HTTP:
the buyer's browser brings a payment signed by the merchant (the hosted
payment page's redirect), the gateway POSTs signed callbacks to the
merchant's callback URL, and the merchant asks the gateway's status and
refund API. It imports nothing of kassa's apps (import-linter), only the
shared ticketing layer (signing, outbox, formatting). `make run` serves it in
the same process under /sandbox-gateway/; `sandbox.settings` runs it as a
process of its own (bench/onsale.py counts its CPU apart).
"""
