"""Fixtures of orders' tests; the builders they use are in orders/tests/factories.py."""

from __future__ import annotations

import pytest

# Tests import builders from orders/tests/factories.py; guard_with_waiting_room and
# make_event stay importable from here only for ticketing/tests/test_fuzz_pages.py,
# which another change is editing.
from orders.tests.factories import guard_with_waiting_room, make_event, web_buyer  # noqa: F401


@pytest.fixture
def event(db):
    return make_event()


@pytest.fixture
def buyer():
    return web_buyer()
