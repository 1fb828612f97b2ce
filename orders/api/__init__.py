"""REST endpoints of the orders app (API.md), one module per resource."""
