"""In-app payment: a partner charges its own customer and confirms the order
(payments.on_account); the partner's daily settlement report (API.md)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import Partner
from api.services import api_key_create
from orders.models import Order
from orders.tests.conftest_payments import gateway_outbox  # noqa: F401
from orders.tests.factories import make_event, race, seat_ids
from payments.messages import CONFIRMATION_MAIL
from payments.models import Payment, PaymentCallback, Refund
from payments.services import order_refund, partner_on_account_enable, payments_reconcile
from ticketing.models import AuditEntry, OutboxMessage
from ticketing.signing import stamped_header

CONTACT = {"email": "a@example.kz", "name": "Aigerim"}
ALMATY = ZoneInfo("Asia/Almaty")


def _partner(slug: str = "halyk", *, on_account: bool = True, scopes=("sell", "settlement")):
    """(partner, its API client, its on-account secret or "")."""
    partner = Partner.objects.get_or_create(slug=slug, defaults={"name": slug})[0]
    secret = partner_on_account_enable(partner=partner) if on_account else ""
    _, raw = api_key_create(partner=partner, scopes=list(scopes))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return Partner.objects.get(pk=partner.pk), api, secret


def _held_order(api, event, seats: list[int], buyer: str = "c1") -> dict:
    hold = api.post(
        "/api/v1/holds/", {"event": event.slug, "seats": seats, "buyer_ref": buyer}, format="json"
    )
    assert hold.status_code == 201, hold.content
    order = api.post(
        "/api/v1/orders/", {"hold": hold.json()["id"], "buyer_ref": buyer, **CONTACT}, format="json"
    )
    assert order.status_code == 201, order.content
    return order.json()


def _on_account_order(api, event, seats: list[int], buyer: str = "c1") -> tuple[dict, dict]:
    order = _held_order(api, event, seats, buyer)
    start = api.post(
        f"/api/v1/orders/{order['id']}/payments/", {"provider": "on_account"}, format="json"
    )
    assert start.status_code == 201, start.content
    return order, start.json()


def _confirm(api, order, payment, secret, *, amount=None, reference="txn-1", signature=None):
    raw = json.dumps(
        {"amount": amount or order["total"], "currency": "KZT", "reference": reference}
    ).encode()
    header = stamped_header(secrets=[secret], body=raw) if signature is None else signature
    return api.post(
        f"/api/v1/orders/{order['id']}/payments/{payment['payment_id']}/confirm/",
        data=raw,
        content_type="application/json",
        HTTP_KASSA_SIGNATURE=header,
    )


@pytest.mark.django_db
def test_a_confirmed_on_account_order_is_paid_with_its_tickets_at_once():
    event = make_event()
    _partner_obj, api, secret = _partner()
    order, payment = _on_account_order(api, event, seat_ids(event)[:2])
    assert Order.objects.get(pk=order["id"]).status == Order.Status.PENDING_PAYMENT

    confirmed = _confirm(api, order, payment, secret, reference="halyk-tx-77")

    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json() == {
        "payment_id": payment["payment_id"],
        "payment_status": "succeeded",
        "order_id": order["id"],
        "order_status": "paid",
        "reference": "halyk-tx-77",
        "result": "paid",
    }
    paid = Order.objects.get(pk=order["id"])
    assert paid.status == Order.Status.PAID and paid.paid_at is not None
    assert paid.tickets.filter(status="valid").count() == 2
    tickets = api.get(f"/api/v1/orders/{order['id']}/tickets/")
    assert tickets.status_code == 200 and len(tickets.json()) == 2
    # The callback's own path: its audit and the ticket mail in the outbox.
    actions = set(
        AuditEntry.objects.filter(actor="gateway:on_account").values_list("action", flat=True)
    )
    assert actions == {"payment.succeeded", "order.paid"}
    assert OutboxMessage.objects.filter(
        kind=CONFIRMATION_MAIL, payload__order_id=order["id"]
    ).exists()


@pytest.mark.django_db
def test_forged_unsigned_or_mismatched_confirmations_are_refused_and_change_nothing():
    event = make_event()
    _p, api, secret = _partner()
    order, payment = _on_account_order(api, event, seat_ids(event)[:2])
    _other, kaspi_api, kaspi_secret = _partner("kaspi")
    raw = json.dumps({"amount": order["total"], "currency": "KZT", "reference": "r"}).encode()
    old = stamped_header(secrets=[secret], body=raw, timestamp=1_700_000_000)

    refusals = [
        (_confirm(api, order, payment, secret, signature=""), 400, "bad_confirmation"),
        (_confirm(api, order, payment, "another-secret"), 400, "bad_confirmation"),
        (_confirm(api, order, payment, secret, signature=old), 400, "bad_confirmation"),
        # Signed for a body other than the one sent.
        (
            _confirm(
                api, order, payment, secret, signature=stamped_header(secrets=[secret], body=b"{}")
            ),
            400,
            "bad_confirmation",
        ),
        (_confirm(api, order, payment, secret, amount="1.00"), 409, "confirmation_mismatch"),
        # Another partner, with its own valid signature, cannot confirm this order.
        (_confirm(kaspi_api, order, payment, kaspi_secret), 404, "payment_not_found"),
    ]
    for response, status, code in refusals:
        assert response.status_code == status, response.content
        body = response.json()
        assert set(body) == {"error"} and body["error"]["code"] == code
        assert set(body["error"]) == {"code", "message", "details"}
    bad_body = api.post(
        f"/api/v1/orders/{order['id']}/payments/{payment['payment_id']}/confirm/",
        data=b"[1",
        content_type="application/json",
        HTTP_KASSA_SIGNATURE=stamped_header(secrets=[secret], body=b"[1"),
    )
    assert bad_body.status_code == 400 and bad_body.json()["error"]["code"] == "bad_confirmation"
    nul = _confirm(api, order, payment, secret, reference="tx\u0000")
    assert nul.status_code == 400, nul.content
    assert set(nul.json()["error"]["details"]) == {"reference"}

    assert Order.objects.get(pk=order["id"]).status == Order.Status.PENDING_PAYMENT
    assert Payment.objects.get(pk=payment["payment_id"]).status == "created"
    assert not PaymentCallback.objects.exists()
    assert not AuditEntry.objects.filter(actor="gateway:on_account").exists()


@pytest.mark.django_db(transaction=True)
def test_the_same_confirmation_racing_pays_once_and_answers_alike():
    event = make_event()
    _p, api, secret = _partner()
    order, payment = _on_account_order(api, event, seat_ids(event)[:2])
    raw = json.dumps({"amount": order["total"], "currency": "KZT", "reference": "tx-9"}).encode()
    header = stamped_header(secrets=[secret], body=raw)
    url = f"/api/v1/orders/{order['id']}/payments/{payment['payment_id']}/confirm/"

    def confirm(_i):
        client = APIClient()  # one per thread, with the partner's key
        client.credentials(**api._credentials)
        response = client.post(url, data=raw, content_type="application/json",
                               HTTP_KASSA_SIGNATURE=header)  # fmt: skip
        return response.status_code, response.json()["result"]

    results = race(8, confirm)
    assert sorted(results) == sorted([(200, "paid")] + [(200, "duplicate")] * 7), results
    assert Order.objects.get(pk=order["id"]).tickets.count() == 2
    assert PaymentCallback.objects.filter(provider="on_account").count() == 1
    assert AuditEntry.objects.filter(action="order.paid").count() == 1
    # Another reference for the paid payment is a second charge: refused.
    again = _confirm(api, order, payment, secret, reference="tx-10")
    assert again.status_code == 409 and again.json()["error"]["code"] == "confirmation_mismatch"
    assert PaymentCallback.objects.filter(provider="on_account").count() == 1


@pytest.mark.django_db
def test_a_partner_without_on_account_payment_cannot_use_it():
    event = make_event()
    _p, api, _secret = _partner(on_account=False)
    order = _held_order(api, event, seat_ids(event)[:1])
    refused = api.post(
        f"/api/v1/orders/{order['id']}/payments/", {"provider": "on_account"}, format="json"
    )
    assert refused.status_code == 403, refused.content
    assert refused.json()["error"]["code"] == "provider_not_allowed"
    assert not Payment.objects.exists()
    # Nor can the site's own buyers (no partner channel).
    web = APIClient()
    hold = web.post("/api/v1/holds/", {"event": event.slug, "seats": seat_ids(event)[5:6]},
                    format="json")  # fmt: skip
    web_order = web.post("/api/v1/orders/", {"hold": hold.json()["id"], **CONTACT}, format="json")
    response = web.post(
        f"/api/v1/orders/{web_order.json()['id']}/payments/", {"provider": "on_account"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 403 and not Payment.objects.exists()


@pytest.mark.django_db
def test_a_refund_of_an_on_account_order_completes_at_once_and_is_in_the_report(
    gateway_outbox,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    event = make_event()
    _partner_obj, api, secret = _partner()
    ids = seat_ids(event)
    order, payment = _on_account_order(api, event, ids[:3])
    assert _confirm(api, order, payment, secret, reference="r-1").status_code == 200
    paid = Order.objects.get(pk=order["id"])
    one = paid.tickets.order_by("id").first()

    with django_capture_on_commit_callbacks(execute=True):
        partial = order_refund(order=paid, ticket_ids=[one.pk], reason="customer asked")
    partial.refresh_from_db()
    assert partial.status == Refund.Status.DONE  # no outside call: done at once
    assert Payment.objects.get(pk=payment["payment_id"]).status == "succeeded"

    with django_capture_on_commit_callbacks(execute=True):
        whole = order_refund(order=Order.objects.get(pk=order["id"]))
    whole.refresh_from_db()
    assert whole.status == Refund.Status.DONE
    assert Payment.objects.get(pk=payment["payment_id"]).status == "refunded"
    assert Order.objects.get(pk=order["id"]).status == Order.Status.REFUNDED

    day = paid.paid_at.astimezone(ALMATY).date()
    report = api.get("/api/v1/settlements/", {"date": day.isoformat()})
    assert report.status_code == 200, report.content
    body = report.json()
    assert [line["order_code"] for line in body["orders"]] == [paid.code]
    assert body["orders"][0]["tickets"] == 3
    assert [(r["refund_id"], r["tickets"], r["amount"], r["status"]) for r in body["refunds"]] == [
        (partial.pk, 1, str(partial.amount), "done"),
        (whole.pk, 2, str(whole.amount), "done"),
    ]
    [totals] = body["totals"]
    assert Decimal(totals["refunded"]) == Decimal(order["total"])
    assert totals["net"] == "0.00"


def _sql_sums(partner_id: int, starts: datetime, ends: datetime) -> dict:
    """The day's sums straight from the tables (not through the selector)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(p.amount), 0),"
            " coalesce(sum((SELECT count(*) FROM orders_ticket t WHERE t.order_id = o.id)), 0)"
            " FROM orders_payment p JOIN orders_order o ON o.id = p.order_id"
            " WHERE p.provider = 'on_account' AND p.provider_ref <> '' AND o.partner_id = %s"
            " AND o.paid_at >= %s AND o.paid_at < %s",
            [partner_id, starts, ends],
        )
        orders, gross, tickets = cursor.fetchone()
        cursor.execute(
            "SELECT count(*), coalesce(sum(r.amount), 0),"
            " coalesce(sum(jsonb_array_length(r.ticket_ids)), 0)"
            " FROM payments_refund r JOIN orders_payment p ON p.id = r.payment_id"
            " JOIN orders_order o ON o.id = r.order_id"
            " WHERE p.provider = 'on_account' AND o.partner_id = %s"
            " AND r.created_at >= %s AND r.created_at < %s",
            [partner_id, starts, ends],
        )
        refunds, refunded, refunded_tickets = cursor.fetchone()
    return {
        "orders": orders,
        "tickets": tickets,
        "gross": Decimal(gross),
        "refunds": refunds,
        "refunded_tickets": refunded_tickets,
        "refunded": Decimal(refunded),
        "net": Decimal(gross) - Decimal(refunded),
    }


@pytest.mark.django_db
def test_the_settlement_report_equals_the_databases_sums_for_its_day_and_partner(
    gateway_outbox,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    event = make_event()
    halyk, api, secret = _partner()
    _kaspi, kaspi_api, kaspi_secret = _partner("kaspi")
    ids = seat_ids(event)
    day = date(2026, 3, 14)
    noon = datetime(2026, 3, 14, 12, 0, tzinfo=ALMATY)
    placed = [  # (seats, buyer, paid at in Almaty): the last one is the next day's
        (ids[0:2], "c1", noon),
        (ids[2:5], "c2", noon + timedelta(hours=3)),
        (ids[5:6], "c3", datetime(2026, 3, 14, 23, 59, 59, tzinfo=ALMATY)),
        (ids[6:8], "c4", datetime(2026, 3, 15, 0, 0, tzinfo=ALMATY)),
    ]
    orders = []
    for n, (seats, buyer, paid_at) in enumerate(placed):
        order, payment = _on_account_order(api, event, seats, buyer)
        assert _confirm(api, order, payment, secret, reference=f"h-{n}").status_code == 200
        Order.objects.filter(pk=order["id"]).update(paid_at=paid_at)
        orders.append(order)
    # Another partner's order the same day is not in halyk's report.
    k_order, k_payment = _on_account_order(kaspi_api, event, ids[10:12], "k1")
    assert _confirm(kaspi_api, k_order, k_payment, kaspi_secret, reference="h-0").status_code == 200
    Order.objects.filter(pk=k_order["id"]).update(paid_at=noon)
    # A refund that day of one ticket of the second order.
    second = Order.objects.get(pk=orders[1]["id"])
    with django_capture_on_commit_callbacks(execute=True):
        refund = order_refund(order=second, ticket_ids=[second.tickets.order_by("id").first().pk])
    Refund.objects.filter(pk=refund.pk).update(created_at=noon + timedelta(hours=5))

    response = api.get("/api/v1/settlements/", {"date": "2026-03-14"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["date"], body["time_zone"], body["partner"]) == (
        "2026-03-14", "Asia/Almaty", "halyk",
    )  # fmt: skip
    assert [line["order_code"] for line in body["orders"]] == [o["code"] for o in orders[:3]]
    assert [line["reference"] for line in body["orders"]] == ["h-0", "h-1", "h-2"]
    [totals] = body["totals"]
    starts = datetime(2026, 3, 14, tzinfo=ALMATY)
    expected = _sql_sums(halyk.pk, starts, starts + timedelta(days=1))
    got = {
        key: Decimal(value) if key in {"gross", "refunded", "net"} else value
        for key, value in totals.items()
        if key != "currency"
    }
    assert got == expected
    # And the sums are what was sold: 6 tickets for the three orders' totals.
    assert expected["orders"] == 3 and expected["tickets"] == 6
    assert expected["gross"] == sum(Decimal(o["total"]) for o in orders[:3])
    assert expected["refunds"] == 1 and expected["refunded"] == refund.amount > 0
    # Each line is the row it says: amounts per line add up to the totals.
    assert sum(Decimal(line["amount"]) for line in body["orders"]) == expected["gross"]
    assert sum(Decimal(line["amount"]) for line in body["refunds"]) == expected["refunded"]
    assert day == date.fromisoformat(body["date"])


@pytest.mark.django_db
def test_the_settlement_api_needs_a_partner_key_with_its_scope_and_a_date():
    _p, api, _s = _partner(scopes=("sell",))
    refused = api.get("/api/v1/settlements/", {"date": "2026-03-14"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert APIClient().get("/api/v1/settlements/", {"date": "2026-03-14"}).status_code == 401
    _p, api, _s = _partner("kaspi", scopes=("settlement",))
    for bad in ({}, {"date": "14.03.2026"}, {"date": "2026-02-30"}, {"date": "9999-12-31"},
                {"date": "0001-01-01"}):  # fmt: skip
        response = api.get("/api/v1/settlements/", bad)
        assert response.status_code == 400, (bad, response.content)
        assert set(response.json()) == {"error"}


@pytest.mark.django_db
def test_staff_enable_on_account_see_the_secret_once_and_download_the_days_csv(
    client, django_user_model, django_capture_on_commit_callbacks
):
    event = make_event()
    partner = Partner.objects.create(slug="halyk", name="Halyk Bank")
    staff = django_user_model.objects.create_user("cashier", "c@x.kz", "pw", is_staff=True)
    client.force_login(django_user_model.objects.create_superuser("boss", "b@x.kz", "pw"))
    enabled = client.post(
        "/admin/api/partner/",
        {"action": "enable_on_account", "_selected_action": [partner.pk]},
    )
    assert enabled.status_code == 200, enabled.content
    partner.refresh_from_db()
    assert partner.on_account and partner.on_account_secret
    assert partner.on_account_secret in enabled.content.decode()
    assert "no-store" in enabled["Cache-Control"]
    assert (
        partner.on_account_secret
        not in client.get(f"/admin/api/partner/{partner.pk}/change/").content.decode()
    )
    assert AuditEntry.objects.filter(action="partner.on_account_enabled").count() == 1

    _, raw = api_key_create(partner=partner, scopes=["sell"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    order, payment = _on_account_order(api, event, seat_ids(event)[:2])
    confirmed = _confirm(api, order, payment, partner.on_account_secret, reference="=x-1")
    assert confirmed.status_code == 200
    paid = Order.objects.get(pk=order["id"])
    day = paid.paid_at.astimezone(ALMATY).date().isoformat()

    url = f"/admin/api/partner/{partner.pk}/settlement/"
    assert client.get(url).status_code == 200  # the form
    response = client.get(url, {"date": day})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["line", "id", "order"]
    assert rows[1][0] == "order" and rows[1][2] == paid.code and rows[1][4] == "2"
    assert rows[1][5] == order["total"] and rows[1][7] == "'=x-1"  # not a formula
    assert ["net", "", "", "", "2", order["total"], "KZT", "", ""] in rows
    # Disabled: the secret no longer signs and no new on-account payment
    # starts; what was paid stays paid and in the report.
    second, second_payment = _on_account_order(api, event, seat_ids(event)[5:6], "c2")
    secret = partner.on_account_secret
    disabled = client.post(
        "/admin/api/partner/",
        {"action": "disable_on_account", "_selected_action": [partner.pk]},
        follow=True,
    )
    assert disabled.status_code == 200
    partner.refresh_from_db()
    assert (partner.on_account, partner.on_account_secret) == (False, "")
    assert AuditEntry.objects.filter(action="partner.on_account_disabled").count() == 1
    late = _confirm(api, second, second_payment, secret, reference="x-2")
    assert late.status_code == 400 and late.json()["error"]["code"] == "bad_confirmation"
    assert Order.objects.get(pk=second["id"]).status == Order.Status.PENDING_PAYMENT
    refused = api.post(
        f"/api/v1/orders/{second['id']}/payments/", {"provider": "on_account"}, format="json"
    )
    assert refused.status_code == 403
    assert client.get(url, {"date": day}).content == response.content
    # Staff without the payments view permission get no report.
    client.force_login(staff)
    assert client.get(url, {"date": day}).status_code == 403


@pytest.mark.django_db
def test_reconcile_fails_an_unconfirmed_expired_payment_and_a_late_confirm_still_sells(
    gateway_outbox,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    event = make_event()
    _p, api, secret = _partner()
    order, payment = _on_account_order(api, event, seat_ids(event)[:2])
    due = timezone.now() - timedelta(seconds=1)
    Payment.objects.filter(pk=payment["payment_id"]).update(reconcile_after=due)
    payments_reconcile()  # still payable: nothing is charged yet, it stays `created`
    assert Payment.objects.get(pk=payment["payment_id"]).status == "created"

    Order.objects.filter(pk=order["id"]).update(expires_at=due)
    Payment.objects.filter(pk=payment["payment_id"]).update(reconcile_after=due)
    payments_reconcile()
    failed = Payment.objects.get(pk=payment["payment_id"])
    assert (failed.status, failed.failure_reason) == ("failed", "not_confirmed")
    assert not AuditEntry.objects.filter(action="payment.reconcile_gave_up").exists()

    # The partner did charge its customer after all: the seats are still the
    # hold's, so the late confirmation sells (a success after a failure wins).
    with django_capture_on_commit_callbacks(execute=True):
        late = _confirm(api, order, payment, secret, reference="late-1")
    assert late.status_code == 200, late.content
    assert late.json()["result"] == "paid"
    assert Order.objects.get(pk=order["id"]).tickets.count() == 2


@pytest.mark.django_db
def test_a_confirmation_of_a_cancelled_order_is_given_back_at_once_and_owes_nothing(
    gateway_outbox,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    event = make_event()
    _p, api, secret = _partner()
    order, payment = _on_account_order(api, event, seat_ids(event)[:2])
    cancelled = api.post(f"/api/v1/orders/{order['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.content

    with django_capture_on_commit_callbacks(execute=True):
        late = _confirm(api, order, payment, secret, reference="after-cancel")

    assert late.status_code == 200, late.content
    assert late.json()["result"] == "refunding"
    assert late.json()["reference"] == "after-cancel"
    # No outside call: the money is marked returned at once (the partner gives it back).
    assert Payment.objects.get(pk=payment["payment_id"]).status == "refunded"
    assert Order.objects.get(pk=order["id"]).tickets.count() == 0
    paid_day = Payment.objects.get(pk=payment["payment_id"]).created_at.astimezone(ALMATY).date()
    body = api.get("/api/v1/settlements/", {"date": paid_day.isoformat()}).json()
    assert (body["orders"], body["refunds"], body["totals"]) == ([], [], [])
