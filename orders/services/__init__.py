"""Write services of the orders app, one module per entity.

Auditing is the base layer's: `ticketing.audit.audit_log`.
"""
