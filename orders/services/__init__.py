"""Write services of the orders app, one module per entity.

`audit_log` stays importable as `orders.services.audit_log` (other apps use it).
"""

from __future__ import annotations

from orders.services.audit import audit_log

__all__ = ["audit_log"]
