"""POST /orders/, GET /orders/{id}/, POST /orders/{id}/cancel/ (API.md)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import buyer_identity
from api.bodies import output_body
from api.buyers import phone_sha256_check, phone_sha256_field
from api.idempotency import idempotent
from api.permissions import HasScope
from events.models import TicketType
from orders.api.common import error
from orders.models import Order
from orders.selectors import order_for_buyer
from orders.services.orders import order_cancel, order_create
from orders.waits import order_settled_wait

TOKEN_PARAMS = [
    OpenApiParameter("token", str, OpenApiParameter.QUERY, description="The order's access token."),
    OpenApiParameter("X-Order-Token", str, OpenApiParameter.HEADER),
]


class OrderOut(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    event = serializers.IntegerField()
    hold = serializers.UUIDField()
    status = serializers.CharField()
    quantity = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    expires_at = serializers.DateTimeField()
    email = serializers.EmailField()
    name = serializers.CharField()
    phone = serializers.CharField()
    ticket_types = serializers.DictField(
        child=serializers.CharField(),
        help_text="the ticket type's key per seat id, as chosen; empty for events without types",
    )


class OrderCreatedOut(OrderOut):
    access_token = serializers.CharField()


def _type_keys(order: Order) -> dict[str, str]:
    """{seat id: type key} of a typed order (one query); no query for others."""
    if not order.seat_types:
        return {}
    ids = {chosen["type"] for chosen in order.seat_types.values()}
    keys = dict(TicketType.objects.filter(pk__in=ids).values_list("pk", "key"))
    return {seat: keys.get(chosen["type"], "") for seat, chosen in order.seat_types.items()}


def order_body(order: Order, *, with_token: bool = False) -> dict:
    values = {
        "id": order.pk,
        "code": order.code,
        "event": order.event_id,
        "hold": order.hold_id,
        "status": order.status,
        "quantity": order.quantity,
        "total": order.total,
        "currency": order.currency,
        "expires_at": order.expires_at,
        "email": order.email,
        "name": order.name,
        "phone": order.phone,
        "ticket_types": _type_keys(order),
    }
    if with_token:
        values["access_token"] = order.access_token
        return output_body(OrderCreatedOut, values)
    return output_body(OrderOut, values)


class OrderCreateApi(APIView):
    permission_classes = [HasScope.of("sell")]

    class OrderCreateIn(serializers.Serializer):
        hold = serializers.UUIDField()
        # Blank passes here so the service reports every contact field at once.
        email = serializers.CharField(max_length=254, allow_blank=True)
        name = serializers.CharField(max_length=200, allow_blank=True)
        phone = serializers.CharField(required=False, allow_blank=True, max_length=40)
        # 100, as queue join: with "partner:<slug>:" it fits the buyer key (200).
        buyer_ref = serializers.CharField(required=False, allow_blank=True, max_length=100)
        ticket_types = serializers.DictField(
            child=serializers.CharField(max_length=30),
            required=False,
            help_text=(
                "Events that sell ticket types (a showing's adult, child, student, "
                "pensioner; see the event's `ticket_types`): the type per seat of the "
                'hold, {"<seat id>": "<type key>"}. The order\'s total is then the '
                "types' prices for the seats' tiers; a seat left out gets the first "
                "type sold for its tier. An unknown type, a type not sold for the "
                "seat's tier or a seat not in the hold is a 400 validation_error "
                "(details.ticket_types) and the hold stays as it was."
            ),
        )
        phone_sha256 = phone_sha256_field()

        def validate(self, attrs):
            return phone_sha256_check(attrs)

    @extend_schema(
        operation_id="order_create",
        description=(
            "Turns the buyer's hold into an order awaiting payment. The ticket e-mail "
            "is written in the request's language (Accept-Language: ru, kk or en; "
            "ru otherwise)."
        ),
        request=OrderCreateIn,
        responses={
            201: OrderCreatedOut,
            400: error("validation_error"),
            403: error("forbidden: another buyer's hold"),
            404: error("hold_not_found"),
            409: error("order_exists: the hold already has an order"),
            410: error("hold_expired"),
        },
    )
    @idempotent
    def post(self, request):
        data = self.OrderCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        order = order_create(
            hold=d["hold"],
            buyer=buyer_identity(
                request,
                buyer_ref=d.get("buyer_ref") or None,
                phone_sha256=d.get("phone_sha256", ""),
            ),
            email=d["email"],
            name=d["name"],
            phone=d.get("phone", ""),
            buyer_ref=d.get("buyer_ref", ""),
            user=request.user if getattr(request.user, "is_authenticated", False) else None,
            language=request.LANGUAGE_CODE,
            ticket_types=d.get("ticket_types"),
        )
        return Response(order_body(order, with_token=True), status=status.HTTP_201_CREATED)


def readable_order(request, order_id: int) -> Order:
    token = request.query_params.get("token") or request.headers.get("X-Order-Token")
    return order_for_buyer(request, token=token, pk=order_id)


WAIT_PARAM = OpenApiParameter(
    "wait",
    int,
    OpenApiParameter.QUERY,
    required=False,
    description=(
        "Seconds (1-15) to wait, when the order awaits payment, until its payment is "
        "settled: the answer comes as soon as the provider's callback is applied (the "
        "order is then paid or refunded, or still `pending_payment` after a declined "
        "card) or when the time is up, with the order as it is then. Replaces polling "
        "after the buyer's return from the payment page. The server may answer at "
        "once (it has no waiting capacity free): read again then. Ignored for orders "
        "that no longer await payment. Not a number or below 0: 400."
    ),
)


class OrderDetailApi(APIView):
    permission_classes = [HasScope.of("sell")]

    class QueryIn(serializers.Serializer):
        wait = serializers.IntegerField(required=False, min_value=0, default=0)

    @extend_schema(
        operation_id="order_read",
        parameters=[*TOKEN_PARAMS, WAIT_PARAM],
        responses={
            200: OrderOut,
            400: error("validation_error: wait"),
            404: error("order_not_found (also: not yours)"),
        },
    )
    def get(self, request, order_id: int):
        query = self.QueryIn(data=request.query_params)
        query.is_valid(raise_exception=True)
        order = readable_order(request, order_id)
        if order.status == Order.Status.PENDING_PAYMENT and order_settled_wait(
            order_id=order.pk,
            seconds=query.validated_data["wait"],
            multithreaded=bool(request.META.get("wsgi.multithread")),
        ):
            order.refresh_from_db(fields=["status", "quantity", "expires_at"])
        return Response(order_body(order))


class OrderCancelApi(APIView):
    permission_classes = [HasScope.of("sell")]

    @extend_schema(
        operation_id="order_cancel",
        request=None,
        parameters=TOKEN_PARAMS,
        responses={
            200: OrderOut,
            404: error("order_not_found"),
            409: error("order_not_cancellable: paid, expired or already cancelled"),
        },
    )
    def post(self, request, order_id: int):
        order = readable_order(request, order_id)
        partner = getattr(request, "partner", None)
        order = order_cancel(
            order=order,
            actor=partner.channel if partner is not None else "buyer",
            actor_user=request.user if getattr(request.user, "is_authenticated", False) else None,
        )
        return Response(order_body(order))
