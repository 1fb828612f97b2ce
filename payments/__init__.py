"""Payments: the provider interface, the built-in sandbox gateway, and the
services that turn a provider's verdict into a paid (or refunded) order."""
