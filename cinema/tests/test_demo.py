"""The cinema demo of `make run`: a city, cinemas with halls of different
shapes, films and a week of showings with some tonight; idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from cinema.demo import cinema_demo_load
from cinema.models import Cinema, Film, Hall, Showing
from events.models import Seat

pytestmark = pytest.mark.django_db


def test_demo_loads_once_with_every_hall_shape_and_showings_tonight():
    now = timezone.now()
    created = cinema_demo_load(now=now)
    assert created > 100
    assert Cinema.objects.filter(city__slug="almaty").count() == 3
    assert Film.objects.count() == 5
    sizes = sorted(
        Hall.objects.annotate(n=Count("venue__sections__seats")).values_list("n", flat=True)
    )
    assert sizes[0] == 50 and sizes[-1] >= 400 and 200 in sizes
    kinds = set(Seat.objects.values_list("kind", flat=True))
    assert {"standard", "vip", "love", "wheelchair", "companion"} <= kinds
    assert Showing.objects.filter(
        starts_at__gt=now, starts_at__lt=now + timedelta(hours=4)
    ).exists()
    last = Showing.objects.order_by("-starts_at").first().starts_at
    assert last > now + timedelta(days=6)
    # Every showing sells the four ticket types; children never on love seats.
    event = Showing.objects.filter(hall__code="2").first().event
    assert list(event.ticket_types.values_list("key", flat=True)) == [
        "adult", "child", "student", "pensioner",
    ]  # fmt: skip
    child = event.ticket_types.get(key="child")
    assert child.prices.get(tier__key="love").price is None
    # A second load (a restart of `make run`) creates nothing.
    assert cinema_demo_load(now=now + timedelta(minutes=5)) == 0
    assert Showing.objects.count() == created
