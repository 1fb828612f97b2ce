from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from events.exceptions import InventoryTierMissing
from events.models import EventSeat, PriceTier, Seat, Section, StandingArea, Venue
from events.services import (
    event_inventory_create,
    eventseat_block,
    eventseat_unblock,
    venue_create_from_spec,
)
from events.tests.factories import make_event
from ticketing.models import AuditEntry


def test_venue_from_spec_creates_sections_seats_and_ranks(db, small_spec):
    venue = venue_create_from_spec(spec=small_spec)
    assert venue.layout_spec == small_spec and (venue.map_width, venue.map_height) == (200, 200)
    assert list(venue.sections.values_list("code", "kind", "capacity", "tier_key")) == [
        ("G", "seated", None, "front"),
        ("A", "seated", None, "back"),
        ("S", "standing", 50, "floor"),
    ]
    seats = Seat.objects.filter(section__venue=venue)
    assert seats.count() == 23
    assert sorted(seats.values_list("quality_rank", flat=True)) == list(range(1, 24))


def test_venue_from_spec_is_idempotent_per_slug(db, small_spec):
    first = venue_create_from_spec(spec=small_spec)
    small_spec["sections"][0]["rows"] = 10  # ignored: the venue exists
    again = venue_create_from_spec(spec=small_spec)
    assert again.pk == first.pk
    assert Venue.objects.count() == 1
    assert Seat.objects.filter(section__venue=first).count() == 23


def test_inventory_has_one_row_per_seat_and_one_area_per_standing_section(small_event):
    assert EventSeat.objects.filter(event=small_event).count() == 23
    tiers = {t.key: t.pk for t in small_event.tiers.all()}
    grid = Section.objects.get(venue=small_event.venue, code="G")
    assert set(EventSeat.objects.filter(section=grid).values_list("tier_id", flat=True)) == {
        tiers["front"]
    }
    area = StandingArea.objects.get(event=small_event)
    assert (area.capacity, area.held, area.sold, area.tier_id) == (50, 0, 0, tiers["floor"])
    assert set(EventSeat.objects.filter(event=small_event).values_list("status", flat=True)) == {
        "available"
    }


def test_inventory_create_again_creates_nothing_and_keeps_states(small_event):
    seat = EventSeat.objects.filter(event=small_event).first()
    EventSeat.objects.filter(pk=seat.pk).update(status="sold", order_id=7)
    counts = event_inventory_create(event=small_event)
    assert counts == {"seats_created": 0, "standing_created": 0, "seats_total": 23,
                      "standing_total": 1}  # fmt: skip
    seat.refresh_from_db()
    assert (seat.status, seat.order_id) == ("sold", 7)


def test_inventory_refuses_a_section_without_tier_and_writes_nothing(db, small_spec):
    event = make_event(venue=venue_create_from_spec(spec=small_spec))
    PriceTier.objects.filter(event=event, key="back").delete()
    with pytest.raises(InventoryTierMissing) as info:
        event_inventory_create(event=event)
    assert info.value.details == {"sections": ["A"]}
    assert not EventSeat.objects.filter(event=event).exists()
    assert not StandingArea.objects.filter(event=event).exists()


def test_inventory_accepts_an_explicit_tier_per_section(db, small_spec):
    venue = venue_create_from_spec(spec=small_spec)
    event = make_event(venue=venue)
    cheap = event.tiers.get(key="back")
    override = {s.pk: cheap for s in venue.sections.all()}
    event_inventory_create(event=event, tier_by_section=override)
    assert set(EventSeat.objects.filter(event=event).values_list("tier_id", flat=True)) == {
        cheap.pk
    }


def test_standing_check_constraint_refuses_overfill(small_event):
    area = StandingArea.objects.get(event=small_event)
    StandingArea.objects.filter(pk=area.pk).update(held=20, sold=30)  # exactly full is fine
    with pytest.raises(IntegrityError), transaction.atomic():
        StandingArea.objects.filter(pk=area.pk).update(sold=F("sold") + 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        StandingArea.objects.filter(pk=area.pk).update(held=0, sold=F("capacity") + 1)
    area.refresh_from_db()
    assert (area.held, area.sold) == (20, 30)


def _set(seat: EventSeat, status: str, *, held_for: timedelta | None = None) -> None:
    fields: dict = {"status": status}
    if status == "held":
        fields |= {"hold_id": uuid.uuid4(), "held_until": timezone.now() + held_for}
    EventSeat.objects.filter(pk=seat.pk).update(**fields)


def test_block_moves_only_free_seats_and_writes_an_audit_entry(small_event, admin_user):
    free, expired, live, sold = EventSeat.objects.filter(event=small_event).order_by("pk")[:4]
    _set(expired, "held", held_for=timedelta(minutes=-1))
    _set(live, "held", held_for=timedelta(minutes=5))
    _set(sold, "sold")
    ids = [free.pk, expired.pk, live.pk, sold.pk]
    assert eventseat_block(event_seat_ids=ids, actor=admin_user) == 2
    status = dict(EventSeat.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert status == {free.pk: "blocked", expired.pk: "blocked", live.pk: "held", sold.pk: "sold"}
    expired.refresh_from_db()
    assert expired.hold_id is None and expired.held_until is None
    entry = AuditEntry.objects.get(action="eventseat.block")
    assert entry.actor_user == admin_user and entry.object_id == str(small_event.pk)
    assert entry.data["event_seat_ids"] == sorted([free.pk, expired.pk])

    assert eventseat_unblock(event_seat_ids=ids, actor=admin_user) == 2
    status = dict(EventSeat.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert status == {free.pk: "available", expired.pk: "available", live.pk: "held",
                      sold.pk: "sold"}  # fmt: skip
    assert AuditEntry.objects.filter(action="eventseat.unblock").count() == 1


def test_block_of_nothing_free_writes_no_audit(small_event):
    seat = EventSeat.objects.filter(event=small_event).first()
    _set(seat, "sold")
    assert eventseat_block(event_seat_ids=[seat.pk], actor=None) == 0
    assert not AuditEntry.objects.exists()


def test_concurrent_inventory_creation_creates_each_place_once(transactional_db, small_spec):
    event = make_event(venue=venue_create_from_spec(spec=small_spec))
    barrier = threading.Barrier(4)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(event_inventory_create(event=event))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r["seats_created"] for r in results) == 23
    assert sum(r["standing_created"] for r in results) == 1
    assert EventSeat.objects.filter(event=event).count() == 23


def test_concurrent_venue_creation_generates_the_seats_once(transactional_db, small_spec):
    barrier = threading.Barrier(3)
    venues, errors = [], []

    def run():
        try:
            barrier.wait()
            venues.append(venue_create_from_spec(spec=small_spec).pk)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(venues)) == 1
    assert Seat.objects.count() == 23


def test_a_tier_in_use_cannot_be_deleted_but_its_event_can(small_event):
    from django.db.models import RestrictedError

    tier = small_event.tiers.get(key="front")
    with pytest.raises(RestrictedError), transaction.atomic():
        tier.delete()
    small_event.delete()
    assert not EventSeat.objects.exists() and not StandingArea.objects.exists()


def _race_hold_and_block(ids: list[int]) -> list[Exception]:
    barrier = threading.Barrier(2)
    errors: list[Exception] = []

    def hold():
        with transaction.atomic():
            until = timezone.now() + timedelta(minutes=5)
            taken = EventSeat.objects.filter(pk__in=ids, status="available").update(
                status="held", hold_id=uuid.uuid4(), held_until=until
            )
            if taken != len(ids):
                transaction.set_rollback(True)  # all or nothing, like hold_create

    def run(work):
        try:
            barrier.wait()
            work()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(hold,)),
        threading.Thread(target=run, args=(lambda: eventseat_block(event_seat_ids=ids),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_block_racing_a_hold_never_splits_the_hold(transactional_db, small_spec):
    """An all-or-nothing hold UPDATE and a block race on the same seats, many times."""
    event = make_event(venue=venue_create_from_spec(spec=small_spec))
    event_inventory_create(event=event)
    ids = list(EventSeat.objects.filter(event=event).order_by("pk").values_list("pk", flat=True))
    for _ in range(15):
        EventSeat.objects.filter(event=event).update(
            status="available", hold_id=None, held_until=None
        )
        assert _race_hold_and_block(ids) == []
        statuses = set(EventSeat.objects.filter(pk__in=ids).values_list("status", flat=True))
        # Either the hold got every seat, or the block got them; seats the block
        # skipped while the losing hold had them locked stay available.
        assert statuses in ({"held"}, {"blocked"}, {"blocked", "available"}), statuses
