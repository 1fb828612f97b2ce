"""Fixtures of queueing's tests; the builders they use are in queueing/tests/factories.py."""

from __future__ import annotations

import pytest

from queueing import selectors
from queueing.tests.factories import make_event, make_room


@pytest.fixture(autouse=True)
def _forget_lookups():
    selectors._memo.clear()
    yield
    selectors._memo.clear()


@pytest.fixture
def event(db):
    return make_event()


@pytest.fixture
def room(db, event):
    return make_room(event, admission_rate_per_minute=60, max_active_shoppers=5)
