"""Payments: the provider interface and registry, the sandbox acquirer's
adapter (its gateway is the sandbox app, reached over HTTP), and the services
that turn a provider's verdict into a paid (or refunded) order."""
