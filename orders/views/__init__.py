"""Buyer pages of the orders app, one module per flow."""
