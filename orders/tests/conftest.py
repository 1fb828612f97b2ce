"""Fixtures of orders' tests; the builders they use are in orders/tests/factories.py."""

from __future__ import annotations

import pytest

from orders.tests.factories import make_event, web_buyer


@pytest.fixture
def event(db):
    return make_event()


@pytest.fixture
def buyer():
    return web_buyer()
