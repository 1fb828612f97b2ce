"""REST endpoints: start payment, provider callback, tickets of an order, check-in."""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from api.bodies import output_body
from api.idempotency import idempotent
from api.permissions import HasScope, RequiresScope, StaffPermission, partner_key
from api.schema import ErrorSerializer as ApiErrorSerializer
from api.schema import error_responses
from events.selectors import event_for_gate
from orders.models import Order
from orders.selectors import gate_counts, order_for_buyer
from orders.tickets import ticket_checkin, ticket_checkin_override, ticket_describe
from payments import selectors
from payments.exceptions import TicketsNotReady
from payments.providers import provider_get
from payments.services import payment_callback_handle, payment_on_account_confirm, payment_start
from ticketing.money import money_plain
from ticketing.signing import STAMPED_HEADER

ORDER_TOKEN = OpenApiParameter(
    "X-Order-Token",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="The order's access token (buyers without an account).",
)


# One error body component for the whole API (api/schema.py).
ErrorSerializer = ApiErrorSerializer


class PaymentStartApi(APIView):
    permission_classes = [HasScope.of("sell")]

    class InputSerializer(serializers.Serializer):
        provider = serializers.CharField(required=False, default="sandbox", max_length=30)
        return_url = serializers.CharField(required=False, max_length=500)

        class Meta:
            ref_name = "PaymentStartInput"

        def validate_return_url(self, value: str) -> str:
            # Relative paths for the site; partner apps may return to their own URLs.
            if value.startswith("/") and not value.startswith("//"):
                return value
            if partner_key(self.context["request"]) and value.startswith(("https://", "http://")):
                return value
            raise serializers.ValidationError(_("Must be a path on this site."))

    class OutputSerializer(serializers.Serializer):
        payment_id = serializers.UUIDField()
        redirect_url = serializers.CharField()

        class Meta:
            ref_name = "PaymentStartOutput"

    @extend_schema(
        request=InputSerializer,
        parameters=[ORDER_TOKEN],
        responses={
            201: OutputSerializer,
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            410: ErrorSerializer,
        },
    )
    @idempotent
    def post(self, request, order_id: int):
        order = order_for_buyer(request, token=request.headers.get("X-Order-Token"), pk=order_id)
        data = self.InputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        payment, redirect_url = payment_start(
            order=order, actor_user=request.user, **data.validated_data
        )
        redirect_url = request.build_absolute_uri(redirect_url)
        body = {"payment_id": payment.pk, "redirect_url": redirect_url}
        return Response(output_body(self.OutputSerializer, body), status=status.HTTP_201_CREATED)


class PaymentCallbackApi(APIView):
    """The provider's signed callback: no session, no CSRF; the signature is the auth."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    # Not the per-IP budget of site callers: every callback comes from the
    # provider's few addresses (the worker's 127.0.0.1 in the sandbox), and a
    # 429 only delays paid orders behind the provider's retry backoff.
    throttle_classes: list = []

    @extend_schema(
        request=inline_serializer(
            "ProviderCallback",
            fields={
                "payment_id": serializers.UUIDField(),
                "status": serializers.CharField(),
                "amount": serializers.CharField(),
                "currency": serializers.CharField(),
                "event_id": serializers.CharField(),
                "card": serializers.DictField(),
            },
        ),
        responses={
            200: inline_serializer("CallbackResult", fields={"result": serializers.CharField()}),
            400: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request, provider: str):
        gateway = provider_get(provider)
        event = gateway.verify_callback(request)
        result = payment_callback_handle(provider=provider, event=event)
        return Response({"result": result})


class OrderTicketsApi(APIView):
    permission_classes = [HasScope.of("sell")]

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        section = serializers.CharField()
        row = serializers.CharField(allow_null=True)
        seat = serializers.CharField(allow_null=True)
        tier = serializers.CharField()
        ticket_type = serializers.CharField(
            allow_null=True, help_text="the ticket type's key (adult, child, ...), null: none"
        )
        requires_document = serializers.BooleanField(
            help_text="the type's document (student or pension card) is shown at the door"
        )
        price = serializers.DecimalField(max_digits=12, decimal_places=2)
        qr_svg_url = serializers.CharField()

        class Meta:
            ref_name = "OrderTicket"

    @extend_schema(
        parameters=[ORDER_TOKEN],
        responses={200: OutputSerializer(many=True), 404: ErrorSerializer, 409: ErrorSerializer},
    )
    def get(self, request, order_id: int):
        order = order_for_buyer(request, token=request.headers.get("X-Order-Token"), pk=order_id)
        if order.status != Order.Status.PAID:
            raise TicketsNotReady()
        rows = []
        for ticket in selectors.order_tickets(order):
            url = reverse("orders_payments:ticket_qr", args=[order.code, ticket.code])
            qr = request.build_absolute_uri(f"{url}?t={order.access_token}")
            kind = ticket.ticket_type
            rows.append(
                {
                    "code": ticket.code,
                    **ticket_describe(ticket),
                    "ticket_type": kind.key if kind else None,
                    "requires_document": bool(kind and kind.requires_document),
                    "price": ticket.price,
                    "qr_svg_url": qr,
                }
            )
        return Response([output_body(self.OutputSerializer, row) for row in rows])


def _event_brief(event) -> dict:
    return {
        "slug": event.slug,
        "title": event.title,
        "starts_at": event.starts_at,
        "time_zone": event.time_zone,
    }


def _checkin_body(result: str, ticket) -> dict:
    body = None
    if ticket is not None:
        body = {
            "code": ticket.code,
            "status": ticket.status,
            "order": ticket.order_id,
            "used_at": ticket.used_at,
            "used_gate": ticket.used_gate,
            "event": _event_brief(ticket.event),
            **ticket_describe(ticket),
        }
    return {"result": result, "ticket": body}


CHECKIN_RESULTS = ["ok", "already_used", "void", "unknown", "other_event", "wrong_day"]


class CheckinApi(APIView):
    permission_classes = [RequiresScope.of("checkin", staff_permission="orders.scan_ticket")]

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64)
        event = serializers.SlugField(required=False, max_length=50)
        gate = serializers.CharField(required=False, default="", allow_blank=True, max_length=40)

        class Meta:
            ref_name = "CheckinInput"

    @extend_schema(
        summary="Check in a scanned ticket",
        description=(
            "Needs a partner key with the `checkin` scope, or a staff session with the "
            "`orders.scan_ticket` permission (the gate page). A key "
            "may be limited to events (set when the key is made): it then checks in "
            "only tickets of those events, and a ticket of any other event answers "
            "`unknown` and stays valid. A key with no events (every key made before "
            "this limit existed) checks in tickets of every event; a staff session "
            "too. With `event` (the slug the gate scans for), a ticket of another "
            "event stays valid and answers `wrong_day` (that event is on another date) "
            "or `other_event`. `gate` names the door; `already_used` answers carry the "
            "first `used_gate` and `used_at`."
        ),
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "CheckinResult",
                fields={
                    "result": serializers.ChoiceField(CHECKIN_RESULTS),
                    "ticket": serializers.DictField(allow_null=True),
                },
            ),
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = partner_key(request)
        events = key.event_ids() if key is not None else None  # staff: every event
        slug = data.validated_data.get("event")
        result, ticket = ticket_checkin(
            scanned=data.validated_data["code"],
            events=events,
            event=event_for_gate(slug) if slug else None,
            gate=data.validated_data["gate"],
            actor_user=request.user,
            actor=f"partner:{key.partner.slug}" if key is not None else "",
        )
        return Response(_checkin_body(result, ticket))


class CheckinOverrideApi(APIView):
    permission_classes = [StaffPermission.of("orders.override_checkin")]

    class InputSerializer(serializers.Serializer):
        code = serializers.CharField(max_length=64)
        event = serializers.SlugField(max_length=50)
        gate = serializers.CharField(required=False, default="", allow_blank=True, max_length=40)
        reason = serializers.CharField(max_length=500)

        class Meta:
            ref_name = "CheckinOverrideInput"

    @extend_schema(
        summary="Let a refused ticket in anyway (gate supervisor)",
        description=(
            "Staff session with `orders.override_checkin`. A valid ticket becomes "
            "used at this gate; a used or void one keeps its status. Audited with "
            "the reason (`ticket.checkin_overridden`)."
        ),
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "CheckinOverrideResult",
                fields={
                    "result": serializers.ChoiceField(["ok"]),
                    "ticket": serializers.DictField(),
                },
            ),
            400: ErrorSerializer,
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ticket = ticket_checkin_override(
            scanned=data.validated_data["code"],
            event=event_for_gate(data.validated_data["event"]),
            gate=data.validated_data["gate"],
            reason=data.validated_data["reason"],
            actor_user=request.user,
        )
        return Response(_checkin_body("ok", ticket))


class GateCountsApi(APIView):
    permission_classes = [StaffPermission.of("orders.scan_ticket")]

    @extend_schema(
        summary="Tickets let in per gate of an event (the gate page's counts)",
        responses={
            200: inline_serializer(
                "GateCounts",
                fields={
                    "admitted": serializers.IntegerField(),
                    "tickets": serializers.IntegerField(),
                    "gates": serializers.ListField(child=serializers.DictField()),
                },
            ),
            401: ErrorSerializer,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def get(self, request, slug: str):
        return Response(gate_counts(event=event_for_gate(slug)))


class PartnerKeyWithScope(HasScope):
    """Only a partner's API key with the scope: the answer is that partner's."""

    def has_permission(self, request, view) -> bool:
        if partner_key(request) is None:
            raise NotAuthenticated()
        return super().has_permission(request, view)

    @classmethod
    def of(cls, scope: str) -> type[BasePermission]:
        return type(f"PartnerKeyWithScope_{scope}", (cls,), {"scope": scope})


class PaymentConfirmApi(APIView):
    """The partner's app confirms an on-account payment it charged its customer for."""

    permission_classes = [PartnerKeyWithScope.of("sell")]

    class InputSerializer(serializers.Serializer):
        amount = serializers.CharField(help_text="The payment's amount, a decimal string.")
        currency = serializers.CharField(min_length=3, max_length=3)
        reference = serializers.CharField(
            max_length=80, help_text="The partner's own transaction id, unique per partner."
        )

        class Meta:
            ref_name = "PaymentConfirmInput"

    class OutputSerializer(serializers.Serializer):
        payment_id = serializers.UUIDField()
        payment_status = serializers.CharField()
        order_id = serializers.IntegerField()
        order_status = serializers.CharField()
        reference = serializers.CharField()
        result = serializers.ChoiceField(["paid", "refunding", "duplicate"])

        class Meta:
            ref_name = "PaymentConfirmOutput"

    @extend_schema(
        summary="Confirm an on-account payment (in-app payment by the partner)",
        description=(
            "For a payment started with `provider: on_account` (partners with on-account "
            "payment only). The partner charged its customer and says so: the order is "
            "paid and its tickets issued at once. Signed: `Kassa-Signature: t=<unix time>,"
            'v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the partner\'s on-account '
            "secret>` (the webhooks' scheme; `t` at most 5 minutes off). Idempotent by "
            "`reference`: the same confirmation again answers `duplicate` and pays nothing "
            "more. Refused, changing nothing: a missing or wrong signature or bad body (400 "
            "`bad_confirmation`), another amount or currency, a reference used for another "
            "payment, or a payment already confirmed (409 `confirmation_mismatch`). "
            "`refunding`: the order could no longer be sold; nothing is owed."
        ),
        request=InputSerializer,
        parameters=[
            OpenApiParameter(
                STAMPED_HEADER,
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="t=<unix time>,v1=<hex HMAC-SHA256>",
            )
        ],
        responses={200: OutputSerializer, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request, order_id: int, payment_id):
        key = partner_key(request)
        payment, result, reference = payment_on_account_confirm(
            partner=key.partner,
            order_id=order_id,
            payment_id=payment_id,
            body=request.body,
            signature=request.headers.get(STAMPED_HEADER, ""),
        )
        body = {
            "payment_id": payment.pk,
            "payment_status": payment.status,
            "order_id": payment.order_id,
            "order_status": payment.order.status,
            "reference": reference,
            "result": result,
        }
        return Response(self.OutputSerializer(body).data)


def settlement_body(report: selectors.SettlementReport) -> dict:
    return {
        "partner": report.partner.slug,
        "date": report.day.isoformat(),
        "time_zone": report.time_zone,
        "starts_at": report.starts_at.isoformat(),
        "ends_at": report.ends_at.isoformat(),
        "orders": [
            {
                "order_id": o.order_id,
                "order_code": o.order_code,
                "payment_id": o.payment_id,
                "paid_at": o.paid_at.isoformat(),
                "tickets": o.tickets,
                "amount": money_plain(o.amount),
                "currency": o.currency,
                "reference": o.reference,
            }
            for o in report.orders
        ],
        "refunds": [
            {
                "refund_id": r.refund_id,
                "order_id": r.order_id,
                "order_code": r.order_code,
                "at": r.at.isoformat(),
                "tickets": r.tickets,
                "amount": money_plain(r.amount),
                "currency": r.currency,
                "whole": r.whole,
                "status": r.status,
            }
            for r in report.refunds
        ],
        "totals": [
            {
                "currency": t.currency,
                "orders": t.orders,
                "tickets": t.tickets,
                "gross": money_plain(t.gross),
                "refunds": t.refunds,
                "refunded_tickets": t.refunded_tickets,
                "refunded": money_plain(t.refunded),
                "net": money_plain(t.net),
            }
            for t in report.totals
        ],
    }


class SettlementOrderSerializer(serializers.Serializer):
    order_id = serializers.IntegerField()
    order_code = serializers.CharField()
    payment_id = serializers.UUIDField()
    paid_at = serializers.DateTimeField()
    tickets = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    reference = serializers.CharField()

    class Meta:
        ref_name = "SettlementOrder"


class SettlementRefundSerializer(serializers.Serializer):
    refund_id = serializers.IntegerField()
    order_id = serializers.IntegerField()
    order_code = serializers.CharField()
    at = serializers.DateTimeField()
    tickets = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    whole = serializers.BooleanField()
    status = serializers.CharField(help_text="`requested`, or `done`: given back.")

    class Meta:
        ref_name = "SettlementRefund"


class SettlementTotalsSerializer(serializers.Serializer):
    currency = serializers.CharField()
    orders = serializers.IntegerField()
    tickets = serializers.IntegerField()
    gross = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunds = serializers.IntegerField()
    refunded_tickets = serializers.IntegerField()
    refunded = serializers.DecimalField(max_digits=14, decimal_places=2)
    net = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ref_name = "SettlementTotals"


class SettlementApi(APIView):
    permission_classes = [PartnerKeyWithScope.of("settlement")]

    class QuerySerializer(serializers.Serializer):
        date = serializers.DateField(input_formats=["%Y-%m-%d"])

        class Meta:
            ref_name = "SettlementQuery"

        def validate_date(self, value: date) -> date:
            # The day's bounds must be datetimes Postgres and Python can hold.
            if not date(2000, 1, 1) <= value <= date(2999, 12, 31):
                raise serializers.ValidationError(_("A day from 2000-01-01 to 2999-12-31."))
            return value

    class OutputSerializer(serializers.Serializer):
        partner = serializers.CharField()
        date = serializers.DateField()
        time_zone = serializers.CharField()
        starts_at = serializers.DateTimeField()
        ends_at = serializers.DateTimeField()
        orders = SettlementOrderSerializer(many=True)
        refunds = SettlementRefundSerializer(many=True)
        totals = SettlementTotalsSerializer(many=True)

        class Meta:
            ref_name = "SettlementReport"

    @extend_schema(
        summary="The partner's on-account settlement of one day",
        description=(
            "For the calling partner's key with the `settlement` scope. The day is the "
            "site's calendar day in `time_zone` ([`starts_at`, `ends_at`)). `orders`: each "
            "order an on-account payment paid that day (`tickets` it issued, `amount`, the "
            "partner's `reference`); `refunds`: each refund of such an order made that day "
            "(whatever day it was paid), money the partner owes back to its customer; "
            "`totals` per currency, `net` = `gross` - `refunded`. Amounts are decimal strings."
        ),
        parameters=[QuerySerializer],
        responses={200: OutputSerializer, **error_responses(400, 403)},
    )
    def get(self, request):
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        day: date = query.validated_data["date"]
        report = selectors.settlement_report(partner=partner_key(request).partner, day=day)
        return Response(settlement_body(report))
