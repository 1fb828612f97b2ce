"""A cancelled showing refunds every order (issue 18): staff cancel it where
they cancel any event (the showing's "Cancel showing…" action opens the
event's confirmation page, payments.cancellation.event_cancel does the
work); every paid order is refunded through the acquirer, every buyer is
e-mailed, the unpaid order ends, and the schedule drops the showing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cinema import selectors
from cinema.factories import hall_make, showing_make
from cinema.models import Showing
from events.models import Event
from events.services import event_update
from orders.models import Order
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import order_make, pay_with_card, post_callback
from payments.models import Payment
from payments.services import payment_start

pytestmark = pytest.mark.django_db
CARD = "4400 4300 0000 0001"


def _paid(client, gateway_outbox, capture, showing, email) -> Order:
    order = order_make(event=showing.event, seat_count=2, email=email)
    payment, _url = payment_start(order=order)
    gateway_outbox.clear()
    with capture(execute=True):
        pay_with_card(client, payment, CARD)
    with capture(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def test_cancelling_a_showing_refunds_every_order_mails_every_buyer_and_leaves_the_schedule(
    client, settings, gateway_outbox, django_capture_on_commit_callbacks
):
    settings.OUTBOX_FAST_PATH = True  # gateway_outbox runs each message at once
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    showing = showing_make(hall=hall_make(rows=4, per_row=8))
    capture = django_capture_on_commit_callbacks
    paid = [
        _paid(client, gateway_outbox, capture, showing, f"buyer{i}@example.com") for i in range(3)
    ]
    unpaid = order_make(event=showing.event, seat_count=1, email="late@example.com")
    query = selectors.ScheduleQuery(city=showing.city, day=timezone.localdate(), days=7)
    assert [s.pk for s in selectors.schedule_list(query)] == [showing.pk]

    staff = User.objects.create_superuser("boss", "boss@example.kz", "pw")
    client.force_login(staff)
    # The showing's action opens its event's confirmation page...
    changelist = reverse("admin:cinema_showing_changelist")
    opened = client.post(changelist, {"action": "cancel_showing", "_selected_action": [showing.pk]})
    cancel_url = reverse("admin:events_event_cancel", args=[showing.pk])
    assert opened.status_code == 302 and opened["Location"] == cancel_url
    page = client.get(cancel_url)
    assert page.status_code == 200 and "3" in page.content.decode()
    # ... and confirming it cancels through event_cancel.
    gateway_outbox.clear()
    mail.outbox.clear()
    with capture(execute=True):
        done = client.post(cancel_url, {"reason": "Projector failure", "confirm": "on"})
    assert done.status_code == 302, done.content.decode()[:500]

    showing.refresh_from_db()
    assert showing.cancelled
    assert Event.objects.get(pk=showing.pk).status == Event.Status.CANCELLED
    refunds = gateway_outbox.bodies("refunded")
    assert sorted(r["amount"] for r in refunds) == sorted(str(o.total) for o in paid)
    for body in refunds:
        with capture(execute=True):
            assert post_callback(client, body).status_code == 200
    for order in paid:
        order.refresh_from_db()
        assert order.status == Order.Status.REFUNDED
        assert Payment.objects.get(order=order).status == Payment.Status.REFUNDED
    unpaid.refresh_from_db()
    assert unpaid.status == Order.Status.CANCELLED
    told = {address for message in mail.outbox for address in message.to}
    assert told >= {o.email for o in paid} | {"late@example.com"}
    assert selectors.schedule_list(query) == []


def test_moving_a_showings_event_moves_it_on_the_schedule(django_capture_on_commit_callbacks):
    showing = showing_make(hall=hall_make(code="3", rows=2, per_row=4))
    later = showing.starts_at + timedelta(hours=2)
    with django_capture_on_commit_callbacks(execute=True):
        event_update(event=showing.event, starts_at=later)
    moved = Showing.objects.get(pk=showing.pk)
    assert moved.starts_at == later
    assert moved.ends_at == later + timedelta(minutes=showing.film.duration_minutes)


def test_staff_read_the_cinema_catalogue_in_admin(client):
    showing = showing_make(hall=hall_make(code="4", rows=2, per_row=4))
    client.force_login(User.objects.create_superuser("boss", "boss@example.kz", "pw"))
    for model in ("city", "cinema", "hall", "genre", "film", "showing"):
        page = client.get(reverse(f"admin:cinema_{model}_changelist"))
        assert page.status_code == 200, model
    page = client.get(reverse("admin:cinema_showing_change", args=[showing.pk]))
    assert page.status_code == 200
    assert showing.event.slug in page.content.decode()
    halls = client.get(reverse("admin:cinema_hall_changelist")).content.decode()
    assert reverse("cinema_staff:hall_new") in halls


def test_partners_hear_a_cancelled_showing_by_the_name_they_asked_for():
    from api.models import Partner
    from partners.models import WebhookDelivery, WebhookEndpoint
    from payments.cancellation import event_cancel

    showing = showing_make(hall=hall_make(code="5", rows=2, per_row=4))
    wants = {
        "cinema-app": ["showing.cancelled"],
        "old-app": ["event.cancelled"],
        "both-app": ["event.cancelled", "showing.cancelled"],
        "orders-only": ["order.paid"],
    }
    for slug, events in wants.items():
        partner = Partner.objects.create(slug=slug, name=slug)
        WebhookEndpoint.objects.create(
            partner=partner, url=f"https://{slug}.example/hook", events=events, secret="whsec_t"
        )
    event_cancel(event=showing.event, reason="Projector failure")
    heard = {
        (d.endpoint.partner.slug, d.event_type)
        for d in WebhookDelivery.objects.select_related("endpoint__partner")
    }
    assert heard == {
        ("cinema-app", "showing.cancelled"),
        ("old-app", "event.cancelled"),
        ("both-app", "showing.cancelled"),
    }


def test_the_hall_list_counts_seats_in_one_query_whatever_the_number_of_halls(
    client, django_assert_max_num_queries
):
    cinema_hall = hall_make(code="6", rows=2, per_row=4)
    for code in ("7", "8", "9"):
        hall_make(cinema=cinema_hall.cinema, code=code, rows=3, per_row=5)
    client.force_login(User.objects.create_superuser("boss", "boss@example.kz", "pw"))
    url = reverse("admin:cinema_hall_changelist")
    client.get(url)  # warm the session and permissions
    with django_assert_max_num_queries(7):
        page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert '<td class="field-seats">8</td>' in body and '<td class="field-seats">15</td>' in body
