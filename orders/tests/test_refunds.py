"""Staff refunds, whole or of chosen tickets: stock back through events.stock,
the chosen tickets' price back through the provider (the outbox), the buyer's
e-mail in the order's language, audit with the reason; once under races."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core import mail
from django.db import connection
from django.utils import translation

from bench.audit import audit
from events.models import EventSeat
from orders.models import Order, Ticket
from orders.tests.conftest_payments import *  # noqa: F403
from orders.tests.factories import event_make, order_make, pay_with_card, post_callback, race
from payments.exceptions import OrderNotRefundable, ProviderUnavailable, RefundInvalid
from payments.models import Payment, Refund
from payments.sandbox import SandboxProvider
from payments.services import order_refund, payment_start
from sandbox.models import SandboxRefund
from ticketing.models import AuditEntry, OutboxMessage
from ticketing.money import money_format

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _pay(client, order, gateway_outbox, capture) -> Order:
    payment, _url = payment_start(order=order)
    with capture(execute=True):
        pay_with_card(client, payment, "4400 4300 0000 0001")
    with capture(execute=True):
        post_callback(client, gateway_outbox.bodies()[0])
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    gateway_outbox.clear()
    mail.outbox.clear()  # the ticket mail: the tests read the refund's
    return order


@pytest.fixture
def paid_order(client, gateway_outbox, django_capture_on_commit_callbacks):
    event = event_make(seats=6)
    order = order_make(event=event, seat_count=3)
    return _pay(client, order, gateway_outbox, django_capture_on_commit_callbacks)


def _audit_clean(event_id: int) -> None:
    with connection.cursor() as cursor:
        assert audit(cursor, event_id=event_id) == dict.fromkeys(audit(cursor), 0)


def test_partial_refund_voids_the_chosen_tickets_and_gives_back_their_price(
    client, paid_order, gateway_outbox, mailoutbox, django_capture_on_commit_callbacks
):
    first, second, third = paid_order.tickets.order_by("id")
    with django_capture_on_commit_callbacks(execute=True):
        refund = order_refund(
            order=paid_order, ticket_ids=[first.pk], reason="The buyer cannot come"
        )
    paid_order.refresh_from_db()
    assert (paid_order.status, paid_order.quantity) == (Order.Status.PAID, 2)
    statuses = dict(paid_order.tickets.values_list("pk", "status"))
    assert statuses == {first.pk: "void", second.pk: "valid", third.pk: "valid"}
    seats = dict(EventSeat.objects.filter(event=paid_order.event).values_list("pk", "status"))
    assert seats[first.event_seat_id] == "available"
    assert seats[second.event_seat_id] == seats[third.event_seat_id] == "sold"
    assert (refund.amount, refund.whole) == (Decimal("10000.00"), False)
    # The provider is asked for this ticket's price only, under the refund's reference.
    [body] = gateway_outbox.bodies("refunded")
    assert (body["amount"], body["refund_id"]) == ("10000.00", str(refund.pk))
    # The acquirer's books: this refund, under the payment and the reference.
    books = list(SandboxRefund.objects.values_list("refund_id", "amount"))
    assert books == [(f"{refund.payment_id}-{refund.pk}", Decimal("10000.00"))]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(client, body).status_code == 200
    refund.refresh_from_db()
    payment = paid_order.payments.get()
    assert refund.status == Refund.Status.DONE
    assert payment.status == Payment.Status.SUCCEEDED  # it still pays for two tickets
    entry = AuditEntry.objects.get(action="order.partly_refunded", object_id=str(paid_order.pk))
    assert entry.data["reason"] == "The buyer cannot come"
    assert entry.data["tickets"] == [first.pk] and entry.data["amount"] == "10000.00"
    _audit_clean(paid_order.event_id)
    # The buyer's e-mail says what was refunded, and why.
    [message] = mailoutbox
    assert message.to == [paid_order.email]
    with translation.override(paid_order.language):
        assert first.place in message.body and second.place not in message.body
    amount = money_format(Decimal("10000"), "KZT", paid_order.language)
    assert amount in message.body and "The buyer cannot come" in message.body


def test_refunding_the_rest_after_a_partial_refund_refunds_the_whole_payment(
    client, paid_order, gateway_outbox, django_capture_on_commit_callbacks
):
    first, *rest = paid_order.tickets.order_by("id")
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=paid_order, ticket_ids=[first.pk], reason="One seat")
    with django_capture_on_commit_callbacks(execute=True):
        last = order_refund(order=paid_order, ticket_ids=[t.pk for t in rest], reason="Rest")
    paid_order.refresh_from_db()
    assert paid_order.status == Order.Status.REFUNDED
    assert (last.whole, last.amount) == (True, Decimal("20000.00"))
    assert sum(paid_order.refunds.values_list("amount", flat=True)) == paid_order.total
    whole = [b for b in gateway_outbox.bodies("refunded") if "refund_id" not in b]
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, whole[0])
    assert paid_order.payments.get().status == Payment.Status.REFUNDED
    # The whole refund's callback closes both refunds: the partial one's own
    # callback was never posted here, and the whole one returned it too.
    assert set(paid_order.refunds.values_list("status", flat=True)) == {"done"}
    assert set(paid_order.tickets.values_list("status", flat=True)) == {"void"}
    assert not EventSeat.objects.filter(event=paid_order.event, status="sold").exists()
    _audit_clean(paid_order.event_id)


def test_refund_mail_is_written_in_the_language_of_the_order(
    paid_order, mailoutbox, django_capture_on_commit_callbacks
):
    Order.objects.filter(pk=paid_order.pk).update(language="kk")
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=paid_order, reason="The show moved")
    [message] = mailoutbox
    with translation.override("kk"):
        expected = translation.gettext("Refund for your order %(code)s: %(event)s")
    assert expected != "Refund for your order %(code)s: %(event)s"
    assert message.subject == expected % {"code": paid_order.code, "event": paid_order.event.title}
    with translation.override("kk"):
        assert translation.gettext("Reason") in message.body


def test_bad_refunds_are_refused_and_change_nothing(paid_order):
    other = order_make(event=event_make(seats=2), seat_count=1)
    ticket = paid_order.tickets.first()
    with pytest.raises(RefundInvalid):
        order_refund(order=paid_order, ticket_ids=[], reason="x")
    with pytest.raises(RefundInvalid):
        order_refund(order=paid_order, ticket_ids=[ticket.pk, 10**9], reason="x")
    with pytest.raises(OrderNotRefundable):
        order_refund(order=other, reason="not paid")
    order_refund(order=paid_order, ticket_ids=[ticket.pk], reason="once")
    with pytest.raises(RefundInvalid):  # the same ticket twice: refunded already
        order_refund(order=paid_order, ticket_ids=[ticket.pk], reason="twice")
    paid_order.refresh_from_db()
    assert paid_order.quantity == 2 and paid_order.refunds.count() == 1
    assert paid_order.refunds.get().amount == Decimal("10000.00")


def test_a_partial_refund_queued_behind_a_whole_one_is_not_asked_for_again(
    paid_order, gateway_outbox, django_capture_on_commit_callbacks, monkeypatch
):
    from payments import services

    # The partial refund's outbox message runs only after the whole refund.
    real = services.refund_partial_issue
    delayed: list[int] = []
    monkeypatch.setattr("payments.outbox.refund_partial_issue", lambda **kw: delayed.append(kw))
    first = paid_order.tickets.order_by("id").first()
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=paid_order, ticket_ids=[first.pk], reason="One")
    with django_capture_on_commit_callbacks(execute=True):
        order_refund(order=paid_order, reason="All the rest")
    assert len(delayed) == 1
    real(**delayed[0])  # no ValueError from the gateway, no second callback
    assert len(gateway_outbox.bodies("refunded")) == 1
    payment = paid_order.payments.get()
    # Only the whole refund reached the acquirer's books.
    assert list(SandboxRefund.objects.values_list("refund_id", flat=True)) == [str(payment.pk)]


def test_the_sandbox_never_refunds_more_than_it_charged(paid_order):
    payment = paid_order.payments.get()
    with pytest.raises(ProviderUnavailable, match="amount_invalid"):
        SandboxProvider().refund(payment, amount=payment.amount + 1, reference="big")
    SandboxProvider().refund(payment, amount=Decimal("100.00"), reference="a")
    SandboxProvider().refund(payment, amount=Decimal("100.00"), reference="a")  # asked twice
    books = list(SandboxRefund.objects.values_list("refund_id", "amount"))
    assert books == [(f"{payment.pk}-a", Decimal("100.00"))]


@pytest.mark.django_db(transaction=True)
def test_two_staff_refunding_the_same_tickets_at_once_refund_once(
    client, gateway_outbox, django_capture_on_commit_callbacks
):
    order = _pay(
        client,
        order_make(event=event_make(seats=4), seat_count=2),
        gateway_outbox,
        django_capture_on_commit_callbacks,
    )
    ticket = order.tickets.first()
    results = race(
        6, lambda i: order_refund(order=order, ticket_ids=[ticket.pk], reason=f"staff {i}")
    )
    won = [r for r in results if isinstance(r, Refund)]
    lost = [r for r in results if isinstance(r, RefundInvalid)]
    assert (len(won), len(lost)) == (1, 5), results
    assert Refund.objects.filter(order=order).count() == 1
    assert OutboxMessage.objects.filter(kind="payments.partial_refund").count() == 1
    order.refresh_from_db()
    assert order.quantity == 1
    _audit_clean(order.event_id)


@pytest.mark.django_db(transaction=True)
def test_whole_refunds_racing_partial_ones_never_refund_more_than_was_paid(
    client, gateway_outbox, django_capture_on_commit_callbacks
):
    order = _pay(
        client,
        order_make(event=event_make(seats=4), seat_count=2),
        gateway_outbox,
        django_capture_on_commit_callbacks,
    )
    ids = list(order.tickets.values_list("pk", flat=True))
    asks = [None, [ids[0]], [ids[1]], None, [ids[0]], ids]
    results = race(
        len(asks), lambda i: order_refund(order=order, ticket_ids=asks[i], reason="race")
    )
    assert all(isinstance(r, Refund | RefundInvalid | OrderNotRefundable) for r in results)
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert sum(order.refunds.values_list("amount", flat=True)) == order.total
    _audit_clean(order.event_id)


# --- the staff page ---------------------------------------------------------------


def test_admin_refund_page_confirms_tickets_and_reason_before_refunding(
    admin_client, paid_order, mailoutbox, django_capture_on_commit_callbacks
):
    url = f"/admin/orders/order/{paid_order.pk}/refund/"
    first, second, _third = paid_order.tickets.order_by("id")
    page = admin_client.get(url)
    assert page.status_code == 200
    assert first.place in page.content.decode()
    # No reason, no tickets, a forged ticket id: a message on the page, nothing refunded.
    for data in ({"tickets": [first.pk]}, {"reason": "why"}, {"tickets": ["999999"], "reason": "x"},
                 {"tickets": ["abc"], "reason": "x"}):  # fmt: skip
        answer = admin_client.post(url, data)
        assert answer.status_code == 200
        assert b"errorlist" in answer.content or b"errornote" in answer.content
    assert not paid_order.refunds.exists()
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(url, {"tickets": [first.pk, second.pk], "reason": "Moved"})
    assert done.status_code == 302
    # A double submit of the same form: a message, not a second refund.
    again = admin_client.post(url, {"tickets": [first.pk, second.pk], "reason": "Moved"})
    assert again.status_code == 200
    assert paid_order.refunds.count() == 1
    assert paid_order.refunds.get().amount == Decimal("20000.00")
    assert len(mailoutbox) == 1


def test_the_refund_page_needs_the_refund_permission(client, paid_order):
    clerk = User.objects.create_user("clerk", password="pw-123456", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(clerk)
    url = f"/admin/orders/order/{paid_order.pk}/refund/"
    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"tickets": [paid_order.tickets.first().pk], "reason": "x"}).status_code
        == 403
    )
    clerk.user_permissions.add(Permission.objects.get(codename="add_refund"))
    clerk = User.objects.get(pk=clerk.pk)
    client.force_login(clerk)
    assert client.get(url).status_code == 200


def test_a_used_ticket_is_offered_marked_used_and_keeps_its_place_sold(
    admin_client, paid_order, django_capture_on_commit_callbacks
):
    from django.utils import translation

    used = paid_order.tickets.order_by("id").first()
    Ticket.objects.filter(pk=used.pk).update(status=Ticket.Status.USED)
    page = admin_client.get(f"/admin/orders/order/{paid_order.pk}/refund/")
    with translation.override(page.wsgi_request.LANGUAGE_CODE):
        assert f"— {Ticket.Status.USED.label}" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        refund = order_refund(order=paid_order, ticket_ids=[used.pk], reason="Left early")
    assert refund.amount == used.price
    assert EventSeat.objects.get(pk=used.event_seat_id).status == "sold"
    used.refresh_from_db()
    assert used.status == Ticket.Status.USED
    with pytest.raises(RefundInvalid):  # refunded once, though it stays `used`
        order_refund(order=paid_order, ticket_ids=[used.pk], reason="again")
    _audit_clean(paid_order.event_id)
