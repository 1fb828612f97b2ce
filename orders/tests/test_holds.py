from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.selectors import Buyer
from events.models import EventSeat, SalePhase, StandingArea
from orders.exceptions import (
    AccessCodeRequired,
    HoldNotActive,
    LimitExceeded,
    NotEnoughSeats,
    PhaseClosed,
    SeatUnavailable,
    ValidationFailed,
)
from orders.models import Hold
from orders.services.holds import hold_create, hold_release, holds_expire
from orders.tests.factories import make_event, seat_ids, web_buyer
from queueing.exceptions import PassRequired
from queueing.selectors import QueuePass
from ticketing.models import AuditEntry


def standing_section(event) -> int:
    return StandingArea.objects.get(event=event).section_id


def test_hold_takes_explicit_seats_with_total_and_expiry(event, buyer, settings):
    settings.HOLD_MINUTES = 7
    ids = seat_ids(event, row=1)[:2] + seat_ids(event, row=2)[:1]
    hold = hold_create(event=event, buyer=buyer, seats=ids)
    assert hold.total == Decimal("60000.50")
    assert sorted(hold.seat_ids) == sorted(ids)
    assert timedelta(minutes=6) < hold.expires_at - timezone.now() <= timedelta(minutes=7)
    rows = EventSeat.objects.filter(id__in=ids)
    assert {(r.status, r.hold_id, r.held_until) for r in rows} == {
        ("held", hold.pk, hold.expires_at)
    }
    assert AuditEntry.objects.filter(action="hold.created", object_id=str(hold.pk)).exists()


def test_hold_fails_when_a_seat_is_taken_and_holds_nothing(event, buyer):
    ids = seat_ids(event)[:3]
    hold_create(event=event, buyer=web_buyer("bob"), seats=[ids[1]])
    with pytest.raises(SeatUnavailable) as err:
        hold_create(event=event, buyer=buyer, seats=ids)
    assert err.value.status == 409
    assert err.value.details == {"seats": [ids[1]]}
    assert EventSeat.objects.filter(id__in=[ids[0], ids[2]], status="available").count() == 2
    assert Hold.objects.filter(buyer_key=buyer.key).count() == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"seats": []}, "seats"),
        ({"seats": [1, 1]}, "seats"),
        ({"seats": [999999]}, "seats"),
        ({"seats": ["x"]}, "seats"),
        ({}, "non_field_errors"),
        ({"seats": [1], "best_available": {"quantity": 1}}, "non_field_errors"),
        ({"best_available": {"quantity": 0}}, "best_available"),
        ({"best_available": {"quantity": 2, "tier": 999999}}, "tier"),
        ({"standing": {"quantity": 2}}, "standing"),
        ({"standing": {"section": 999999, "quantity": 2}}, "section"),
    ],
)
def test_hold_rejects_bad_input_with_field_details(event, buyer, kwargs, field):
    with pytest.raises(ValidationFailed) as err:
        hold_create(event=event, buyer=buyer, **kwargs)
    assert err.value.status == 400
    assert field in err.value.details
    assert Hold.objects.count() == 0


def test_hold_rejects_more_than_the_limit_in_one_go(event, buyer):
    with pytest.raises(ValidationFailed) as err:
        hold_create(event=event, buyer=buyer, best_available={"quantity": 7})
    assert "quantity" in err.value.details


def test_limit_counts_earlier_holds_of_the_same_buyer(event, buyer):
    hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:4])
    with pytest.raises(LimitExceeded) as err:
        hold_create(event=event, buyer=buyer, seats=seat_ids(event)[4:7])
    assert err.value.status == 409
    assert err.value.details["remaining"] == 2
    hold_create(event=event, buyer=web_buyer("bob"), seats=seat_ids(event)[4:7])


def test_expired_holds_do_not_count_against_the_limit(event, buyer):
    hold = hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:6])
    Hold.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    hold_create(event=event, buyer=buyer, seats=seat_ids(event)[6:12])


def test_no_phase_open_means_phase_closed(event, buyer):
    SalePhase.objects.filter(event=event).update(starts_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(PhaseClosed):
        hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:1])


def test_wrong_channel_means_phase_closed(db, buyer):
    event = make_event(channels=["partner:halyk"])
    with pytest.raises(PhaseClosed):
        hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:1])
    partner = Buyer(channel="partner:halyk", key="partner:halyk:c1", partner_id=1)
    assert hold_create(event=event, buyer=partner, seats=seat_ids(event)[:1]).channel == (
        "partner:halyk"
    )


def test_access_code_is_required_when_the_phase_has_codes(db, buyer):
    event = make_event(access_codes=["FANS2026"])
    for code in (None, "WRONG"):
        with pytest.raises(AccessCodeRequired):
            hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:1], access_code=code)
    hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:1], access_code=" fans2026 ")


def test_guarded_phase_needs_a_queue_pass_and_its_cap_applies(db, buyer, monkeypatch):
    event = make_event(requires_waiting_room=True)
    with pytest.raises(PassRequired):
        hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:1])
    seen = {}

    def valid(*, event_id, buyer_key, token):
        seen.update(event_id=event_id, buyer_key=buyer_key, token=token)
        return QueuePass(room_id=1, visitor=buyer_key, expires_at=0, purchase_cap=2)

    monkeypatch.setattr("queueing.selectors.pass_validate", valid)
    with pytest.raises(ValidationFailed):
        hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:3], queue_pass="p")
    hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:2], queue_pass="p")
    assert seen == {"event_id": event.pk, "buyer_key": buyer.key, "token": "p"}


def test_unguarded_phase_never_asks_the_queue(event, buyer, monkeypatch):
    def boom(**kwargs):
        raise AssertionError("pass_validate called")

    monkeypatch.setattr("queueing.selectors.pass_validate", boom)
    hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:1])


def test_best_available_takes_the_best_block_together(event, buyer):
    hold = hold_create(event=event, buyer=buyer, best_available={"quantity": 3})
    seats = EventSeat.objects.filter(id__in=hold.seat_ids).select_related("seat")
    assert {s.seat.row_index for s in seats} == {1}
    assert sorted(s.seat.number for s in seats) == [4, 5, 6]  # centre of row 1 (per_row=10)


def test_best_available_skips_broken_rows_and_respects_tier(event, buyer):
    row1 = seat_ids(event, row=1)
    # Leave only seats 1,2 and 9,10 free in row 1: no block of 3 there.
    hold_create(event=event, buyer=web_buyer("x"), seats=row1[2:8])
    vip = event.tiers.get(name="VIP")
    with pytest.raises(NotEnoughSeats):
        hold_create(event=event, buyer=buyer, best_available={"quantity": 3, "tier": vip.pk})
    hold = hold_create(event=event, buyer=buyer, best_available={"quantity": 3})
    numbers = sorted(
        EventSeat.objects.filter(id__in=hold.seat_ids).values_list("seat__number", flat=True)
    )
    assert numbers == [4, 5, 6]
    assert set(
        EventSeat.objects.filter(id__in=hold.seat_ids).values_list("seat__row_index", flat=True)
    ) == {2}


@pytest.mark.django_db(transaction=True)
def test_best_available_looks_past_a_window_whose_blocks_rivals_hold(monkeypatch):
    """Late in a sale the best free seats may offer a block that a rival is
    locking right now: the buyer gets a block further back, not a 409."""
    import threading

    from django.db import connection, transaction

    from orders.holdkinds import best

    event = make_event(rows=3, per_row=4)
    monkeypatch.setattr(best, "BEST_WINDOWS", (4, None))  # row 1 only, then all
    monkeypatch.setattr(best, "BEST_ATTEMPTS", 3)  # the three pairs of row 1
    row1 = seat_ids(event, row=1)
    locked, release = threading.Event(), threading.Event()

    def rival():  # holds row-1 seats' row locks in an open transaction
        try:
            with transaction.atomic():
                list(EventSeat.objects.select_for_update().filter(id__in=row1))
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=rival)
    thread.start()
    try:
        assert locked.wait(10)
        hold = hold_create(event=event, buyer=web_buyer("late"), best_available={"quantity": 2})
    finally:
        release.set()
        thread.join()
    rows = set(
        EventSeat.objects.filter(id__in=hold.seat_ids).values_list("seat__row_index", flat=True)
    )
    assert rows == {2}


def test_best_available_by_section_code(event, buyer):
    hold = hold_create(event=event, buyer=buyer, best_available={"quantity": 2, "section": "A"})
    assert len(hold.seat_ids) == 2


def test_standing_hold_counts_places_and_refuses_over_capacity(db, buyer):
    event = make_event(standing=5)
    section = standing_section(event)
    hold = hold_create(event=event, buyer=buyer, standing={"section": section, "quantity": 4})
    assert hold.total == Decimal("40002.00")
    assert StandingArea.objects.get(event=event).held == 4
    with pytest.raises(NotEnoughSeats) as err:
        hold_create(event=event, buyer=web_buyer("b"), standing={"section": section, "quantity": 2})
    assert err.value.details == {"available": 1, "requested": 2}
    assert hold.standing.get().quantity == 4


def test_release_frees_seats_and_places_at_once(event, buyer):
    hold = hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:2])
    standing = hold_create(
        event=event, buyer=buyer, standing={"section": standing_section(event), "quantity": 3}
    )
    hold_release(hold=hold, actor="buyer")
    hold_release(hold=standing, actor="buyer")
    hold.refresh_from_db()
    assert hold.status == "released"
    assert EventSeat.objects.filter(id__in=seat_ids(event)[:2], status="available").count() == 2
    assert StandingArea.objects.get(event=event).held == 0
    with pytest.raises(HoldNotActive):
        hold_release(hold=hold, actor="buyer")
    hold_create(event=event, buyer=web_buyer("b"), seats=seat_ids(event)[:2])


def test_expired_seat_is_takeable_without_any_worker(event, buyer):
    ids = seat_ids(event)[:2]
    old = hold_create(event=event, buyer=buyer, seats=ids)
    past = timezone.now() - timedelta(seconds=1)
    Hold.objects.filter(pk=old.pk).update(expires_at=past)
    EventSeat.objects.filter(id__in=ids).update(held_until=past)
    new = hold_create(event=event, buyer=web_buyer("b"), seats=ids)
    assert set(EventSeat.objects.filter(id__in=ids).values_list("hold_id", flat=True)) == {new.pk}
    # The sweeper later tidies the old hold but leaves the new owner's seats alone.
    assert holds_expire() == 1
    old.refresh_from_db()
    assert old.status == "expired"
    assert EventSeat.objects.filter(id__in=ids, hold_id=new.pk, status="held").count() == 2


def test_expired_standing_places_return_on_the_next_hold(db, buyer):
    event = make_event(standing=4)
    section = standing_section(event)
    old = hold_create(event=event, buyer=buyer, standing={"section": section, "quantity": 4})
    Hold.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    hold_create(event=event, buyer=web_buyer("b"), standing={"section": section, "quantity": 3})
    old.refresh_from_db()
    assert old.status == "expired"
    assert StandingArea.objects.get(event=event).held == 3


def test_sweeper_expires_only_past_holds(event, buyer):
    live = hold_create(event=event, buyer=buyer, seats=seat_ids(event)[:1])
    floor = {"section": standing_section(event), "quantity": 2}
    gone = hold_create(event=event, buyer=web_buyer("b"), standing=floor)
    Hold.objects.filter(pk=gone.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert holds_expire() == 1
    live.refresh_from_db()
    gone.refresh_from_db()
    assert (live.status, gone.status) == ("active", "expired")
    assert StandingArea.objects.get(event=event).held == 0
    assert holds_expire() == 0
