"""Idempotency for creating POSTs (API.md): `Idempotency-Key` header.

Usage on an APIView method:

    @idempotent
    def post(self, request, ...): ...

(Interface placeholder: the API-platform work replaces the body with the
stored-response implementation; views decorate themselves now.)
"""

from __future__ import annotations

import functools


def idempotent(view_method):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        return view_method(self, request, *args, **kwargs)

    return wrapper
