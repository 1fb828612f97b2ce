"""Calling an event off (payments.cancellation.event_cancel): the sale stops,
every paid order is refunded through its provider, unpaid orders and holds
end, every buyer is e-mailed in their language, partners hear
`event.cancelled` and `order.refunded`; once, whatever crashes or repeats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection
from django.utils import timezone

from bench.audit import audit
from events.exceptions import EventCancelledFinal
from events.models import Event, EventSeat
from events.services import event_status_set, event_update
from orders.exceptions import PhaseClosed
from orders.models import Hold, Order
from orders.services.holds import hold_create
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import make_event, race, seat_ids, web_buyer
from orders.tests.test_on_account import _confirm, _held_order, _on_account_order, _partner
from partners.models import WebhookDelivery, WebhookEndpoint
from payments import cancellation
from payments.cancellation import event_cancel, event_cancellation_process
from payments.exceptions import CancelInvalid, OrderNotPayable
from payments.messages import CANCELLATION_MAIL, EVENT_CANCEL
from payments.models import Payment, Refund
from payments.services import order_refund, payment_start
from ticketing.models import AuditEntry, OutboxMessage
from ticketing.outbox import outbox_sweep

REASON = "The artist is ill"


@pytest.fixture(autouse=True)
def _no_fast_path(settings):
    # The outbox is driven by hand (_drain), as the sweep would, so a test
    # sees each step; webhooks are recorded, never POSTed.
    settings.OUTBOX_FAST_PATH = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _drain(*kinds: str) -> int:
    """Run the due messages of these kinds (as the sweep does, the clock an
    hour ahead so delays are over) until none is left; returns how many ran."""
    ran = 0
    while True:
        n = outbox_sweep(now=timezone.now() + timedelta(hours=1), kinds=list(kinds))
        if not n:
            return ran
        ran += n


def _endpoint(partner, events) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        partner=partner, url="https://partner.example/hook", events=events, secret="whsec_t"
    )


def _paid_on_account(api, secret, event, seats, buyer) -> Order:
    order, payment = _on_account_order(api, event, seats, buyer)
    assert _confirm(api, order, payment, secret, reference=f"tx-{buyer}").status_code == 200
    return Order.objects.get(pk=order["id"])


def _audit_clean(event_id: int) -> None:
    with connection.cursor() as cursor:
        assert audit(cursor, event_id=event_id) == dict.fromkeys(audit(cursor), 0)


@pytest.mark.django_db
def test_cancel_refunds_paid_orders_ends_the_rest_and_mails_each_buyer():
    event = make_event()
    partner, api, secret = _partner()
    _endpoint(partner, ["event.cancelled", "order.refunded"])
    seats = seat_ids(event, row=2)
    paid = [_paid_on_account(api, secret, event, seats[i * 2 : i * 2 + 2], f"c{i}") for i in (0, 1)]
    Order.objects.filter(pk=paid[1].pk).update(language="kk")
    pending = Order.objects.get(pk=_held_order(api, event, seats[4:5], "c3")["id"])
    hold = hold_create(event=event, buyer=web_buyer(), seats=seats[6:8])
    OutboxMessage.objects.all().delete()  # the ticket mails of the two paid orders
    mail.outbox.clear()

    result = event_cancel(event=event, reason=REASON, by="cinema:sync")

    event.refresh_from_db()
    assert event.status == Event.Status.CANCELLED
    preview = result.preview
    assert (preview.paid_orders, preview.tickets, preview.pending_orders) == (2, 4, 1)
    assert (preview.refund_amount, preview.active_holds) == (sum(o.total for o in paid), 1)
    [cancelled] = WebhookDelivery.objects.filter(event_type="event.cancelled")
    assert cancelled.payload["data"]["event"]["id"] == event.pk
    assert cancelled.payload["data"]["reason"] == REASON
    entry = AuditEntry.objects.get(action="event.cancelled")
    assert (entry.actor, entry.data["paid_orders"]) == ("cinema:sync", 2)

    _drain(EVENT_CANCEL, "payments.refund", CANCELLATION_MAIL)

    statuses = dict(Order.objects.filter(event=event).values_list("pk", "status"))
    assert [statuses[o.pk] for o in paid] == ["refunded", "refunded"]
    assert statuses[pending.pk] == "cancelled"
    hold.refresh_from_db()
    assert hold.status == Hold.Status.RELEASED
    assert set(Payment.objects.filter(order__in=paid).values_list("status", flat=True)) == {
        "refunded"
    }
    assert set(Refund.objects.values_list("order_id", "amount", "reason")) == {
        (o.pk, o.total, REASON) for o in paid
    }
    assert not EventSeat.objects.filter(event=event).exclude(status="available").exists()
    refunded_hooks = WebhookDelivery.objects.filter(event_type="order.refunded")
    assert sorted(d.payload["data"]["order"]["id"] for d in refunded_hooks) == [o.pk for o in paid]
    assert len(mail.outbox) == 3  # two paid orders, one unpaid
    subjects = sorted(m.subject for m in mail.outbox)
    assert any(s.startswith("Отменено") for s in subjects), subjects  # ru, the default
    assert any(s.startswith("Тоқтатылды") for s in subjects), subjects  # kk
    assert all(REASON in m.body for m in mail.outbox)
    unpaid_mail = next(m for m in mail.outbox if pending.code in m.subject)
    assert "ничего не списано" in unpaid_mail.body
    _audit_clean(event.pk)


@pytest.mark.django_db
def test_cancelling_twice_and_running_every_pass_twice_refunds_and_mails_once():
    event = make_event()
    partner, api, secret = _partner()
    order = _paid_on_account(api, secret, event, seat_ids(event)[:2], "c1")
    _endpoint(partner, ["event.cancelled"])
    mail.outbox.clear()

    first = event_cancel(event=event, reason=REASON)
    again = event_cancel(event=event, reason="another reason")
    assert (first.already, again.already) == (False, True)
    for message in OutboxMessage.objects.filter(kind=EVENT_CANCEL):
        event_cancellation_process(**message.payload)
        event_cancellation_process(**message.payload)
    _drain(EVENT_CANCEL, "payments.refund", CANCELLATION_MAIL, "orders.confirmation_mail")

    assert Refund.objects.filter(order=order).count() == 1
    assert WebhookDelivery.objects.filter(event_type="event.cancelled").count() == 1
    assert AuditEntry.objects.filter(action="event.cancelled").count() == 1
    cancel_mails = [m for m in mail.outbox if order.code in m.subject and "Отменено" in m.subject]
    assert len(cancel_mails) == 1
    assert REASON in cancel_mails[0].body


@pytest.mark.django_db
def test_a_pass_that_dies_half_way_is_finished_by_the_next_one(monkeypatch):
    event = make_event()
    _partner_obj, api, secret = _partner()
    seats = seat_ids(event)
    orders = [_paid_on_account(api, secret, event, seats[i : i + 1], f"c{i}") for i in range(3)]
    event_cancel(event=event, reason=REASON)
    real = cancellation.order_refund
    calls = []

    def dies_on_the_second(**kw):
        calls.append(kw["order"].pk)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(**kw)

    monkeypatch.setattr(cancellation, "order_refund", dies_on_the_second)
    with pytest.raises(RuntimeError):
        event_cancellation_process(event_id=event.pk, reason=REASON)
    assert Order.objects.filter(event=event, status="refunded").count() == 1
    monkeypatch.setattr(cancellation, "order_refund", real)

    _drain(EVENT_CANCEL)

    assert Order.objects.filter(event=event, status="refunded").count() == 3
    assert sorted(Refund.objects.values_list("order_id", flat=True)) == [o.pk for o in orders]
    assert OutboxMessage.objects.filter(kind=CANCELLATION_MAIL).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_passes_racing_refund_each_order_once():
    event = make_event()
    _partner_obj, api, secret = _partner()
    seats = seat_ids(event)
    for i in range(6):
        _paid_on_account(api, secret, event, seats[i : i + 1], f"c{i}")
    event_cancel(event=event, reason=REASON)

    results = race(4, lambda i: event_cancellation_process(event_id=event.pk, reason=REASON))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert Order.objects.filter(event=event, status="refunded").count() == 6
    assert Refund.objects.count() == 6
    assert OutboxMessage.objects.filter(kind=CANCELLATION_MAIL).count() == 6
    _audit_clean(event.pk)


@pytest.mark.django_db
def test_after_cancelling_nothing_sells_and_late_money_goes_back(client):
    event = make_event()
    _partner_obj, api, secret = _partner()
    seats = seat_ids(event)
    order, payment = _on_account_order(api, event, seats[:2], "c1")  # started, not confirmed
    event_cancel(event=event, reason=REASON)

    with pytest.raises(PhaseClosed):
        hold_create(event=event, buyer=web_buyer("bob"), seats=seats[5:6])
    with pytest.raises(OrderNotPayable):
        payment_start(order=Order.objects.get(pk=order["id"]), provider="on_account")
    # The partner's confirmation arrives before the pass ran: not sold, refunded.
    assert _confirm(api, order, payment, secret).status_code == 200
    assert Order.objects.get(pk=order["id"]).status == Order.Status.REFUNDED
    assert Payment.objects.get(pk=payment["payment_id"]).status in ("refund_pending", "refunded")
    _drain(EVENT_CANCEL, "payments.refund")
    assert not EventSeat.objects.filter(event=event).exclude(status="available").exists()
    _audit_clean(event.pk)


@pytest.mark.django_db
def test_a_cancellation_needs_a_reason_and_a_status_change_cannot_cancel():
    event = make_event()
    with pytest.raises(CancelInvalid):
        event_cancel(event=event, reason="  ")
    event.refresh_from_db()
    assert event.status == Event.Status.ON_SALE
    with pytest.raises(EventCancelledFinal):
        event_status_set(event=event, status=Event.Status.CANCELLED)
    event_cancel(event=event, reason=REASON)
    with pytest.raises(EventCancelledFinal):
        event_status_set(event=Event.objects.get(pk=event.pk), status=Event.Status.ON_SALE)


@pytest.mark.django_db
def test_partial_refund_tells_the_partner_order_partially_refunded_with_the_amount():
    event = make_event()
    partner, api, secret = _partner()
    _endpoint(partner, ["order.partially_refunded", "order.refunded"])
    order = _paid_on_account(api, secret, event, seat_ids(event, row=2)[:3], "c1")
    first = order.tickets.order_by("id").first()

    refund = order_refund(order=order, ticket_ids=[first.pk], reason="Cannot come")

    [hook] = WebhookDelivery.objects.filter(event_type="order.partially_refunded")
    data = hook.payload["data"]
    assert data["refund"] == {
        "id": refund.pk,
        "amount": str(first.price),
        "currency": "KZT",
        "partial": True,
        "tickets": [first.code],
        "reason": "Cannot come",
        "remaining_quantity": 2,
    }
    assert (data["order"]["status"], data["order"]["quantity"]) == ("paid", 2)
    assert not WebhookDelivery.objects.filter(event_type="order.refunded").exists()
    order_refund(order=Order.objects.get(pk=order.pk), reason="All of it")
    assert WebhookDelivery.objects.filter(event_type="order.refunded").count() == 1


@pytest.mark.django_db
def test_staff_changing_start_venue_or_status_tells_partners_event_changed():
    event = make_event()
    partner, _api, _secret = _partner()
    _endpoint(partner, ["event.changed"])
    other, _a, _s = _partner("kaspi", on_account=False)
    _endpoint(other, ["order.paid"])  # does not want it
    new_start = event.starts_at + timedelta(days=1)

    event_update(event=event, starts_at=new_start, doors_at=event.doors_at)
    event_update(event=event, starts_at=new_start)  # no change: nothing told
    event_status_set(event=event, status=Event.Status.SOLD_OUT)

    hooks = WebhookDelivery.objects.filter(event_type="event.changed").order_by("created_at")
    assert [h.partner_id for h in hooks] == [partner.pk, partner.pk]
    assert hooks[0].payload["data"]["starts_at"] == {
        "old": event.starts_at.isoformat(),
        "new": new_start.isoformat(),
    }
    assert "doors_at" not in hooks[0].payload["data"]
    assert hooks[1].payload["data"]["status"] == {"old": "on_sale", "new": "sold_out"}
    assert hooks[1].payload["data"]["event"]["starts_at"] == new_start.isoformat()
    assert AuditEntry.objects.filter(action="event.changed").count() == 1


@pytest.mark.django_db
def test_admin_confirmation_page_shows_what_is_refunded_then_cancels(client):
    event = make_event()
    _partner_obj, api, secret = _partner()
    order = _paid_on_account(api, secret, event, seat_ids(event)[:2], "c1")
    staff = User.objects.create_superuser("boss", "b@example.kz", "pw")
    client.force_login(staff)
    url = f"/admin/events/event/{event.pk}/cancel/"

    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="paid-orders">1 ' in html
    amount = f"{order.total:,.0f}".replace(",", "\xa0")
    assert amount in html or f"{order.total:,.0f}" in html, html
    refused = client.post(url, {"reason": REASON})  # the box not ticked
    assert refused.status_code == 200
    assert Event.objects.get(pk=event.pk).status == Event.Status.ON_SALE

    done = client.post(url, {"reason": REASON, "confirm": "on"})

    assert done.status_code == 302
    assert Event.objects.get(pk=event.pk).status == Event.Status.CANCELLED
    assert AuditEntry.objects.get(action="event.cancelled").actor_user == staff
    _drain(EVENT_CANCEL)
    assert Refund.objects.get(order=order).actor_user == staff


@pytest.mark.django_db
def test_a_card_paid_order_is_refunded_through_the_acquirer_and_the_room_is_paused(
    client, settings, gateway_outbox, django_capture_on_commit_callbacks
):
    from orders.tests.factories import (
        event_make,
        guard_with_waiting_room,
        order_make,
        pay_with_card,
        post_callback,
    )

    settings.OUTBOX_FAST_PATH = True  # gateway_outbox runs each message at once
    event = event_make(seats=4)
    room = guard_with_waiting_room(event)
    order = order_make(event=event, seat_count=2)
    payment, _url = payment_start(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    gateway_outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        event_cancel(event=event, reason=REASON)

    room.refresh_from_db()
    assert room.paused
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUND_PENDING
    [refunded] = gateway_outbox.bodies("refunded")  # the acquirer gave the money back
    assert refunded["amount"] == str(order.total)
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, refunded).status_code == 200
    payment.refresh_from_db()
    assert payment.status == Payment.Status.REFUNDED
    assert Order.objects.get(pk=order.pk).status == Order.Status.REFUNDED
    _audit_clean(event.pk)


@pytest.mark.django_db
def test_saving_a_new_start_in_the_admin_form_tells_partners_event_changed(rf):
    from django.contrib import admin
    from django.forms.models import model_to_dict

    event = make_event()
    partner, _api, _secret = _partner()
    _endpoint(partner, ["event.changed"])
    staff = User.objects.create_superuser("boss", "b@example.kz", "pw")
    request = rf.post("/admin/")
    request.user = staff
    model_admin = admin.site._registry[Event]
    form_class = model_admin.get_form(request, event, change=True)
    new_start = timezone.localtime(event.starts_at + timedelta(days=2)).replace(microsecond=0)
    data = {k: v for k, v in model_to_dict(event).items() if v is not None and k != "poster"}
    data.update(
        {
            "starts_at_0": new_start.strftime("%Y-%m-%d"),
            "starts_at_1": new_start.strftime("%H:%M:%S"),
            "title": "Renamed",
        }
    )
    form = form_class(data, instance=Event.objects.get(pk=event.pk))
    assert form.is_valid(), form.errors

    model_admin.save_model(request, form.instance, form, change=True)

    event.refresh_from_db()
    assert (event.title, event.starts_at) == ("Renamed", new_start)
    [hook] = WebhookDelivery.objects.filter(event_type="event.changed")
    assert hook.payload["data"]["starts_at"]["new"] == new_start.isoformat()
    assert set(hook.payload["data"]) == {"event", "starts_at"}
    assert AuditEntry.objects.get(action="event.changed").actor_user == staff
