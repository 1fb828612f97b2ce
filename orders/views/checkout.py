"""Pages: take a hold from the event page, the checkout page, release.

Thin: parse the form, call one service, render or redirect. Errors from the
services come back to the buyer as their message (django messages).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.selectors import buyer_identity
from events.models import Event, EventSeat
from events.selectors import sale_snapshot
from orders import holdkinds
from orders.api.holds import hold_items
from orders.exceptions import OrderExists, ValidationFailed
from orders.models import Hold, Order
from orders.services.holds import hold_create, hold_release
from orders.services.orders import contact_clean, hold_visible_to, order_create
from orders.ticket_types import seat_options
from queueing.exceptions import PassExpired, PassInvalid
from ticketing.cookies import pass_cookie
from ticketing.errors import KassaError
from ticketing.money import money_shape


class ContactForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)
    name = forms.CharField(label=_("Name on the tickets"), max_length=200)
    phone = forms.CharField(
        label=_("Phone (optional)"), max_length=40, required=False,
        help_text=_("For example +7 701 234 5678."),
    )  # fmt: skip

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"]
        if phone:
            try:
                contact_clean(email="a@example.com", name="-", phone=phone)
            except ValidationFailed as exc:
                raise forms.ValidationError(exc.details["phone"]) from exc
        return phone


def _error_text(exc: KassaError) -> str:
    parts = [str(exc.message)]
    for messages_ in exc.details.values():
        if isinstance(messages_, list) and all(isinstance(m, str) for m in messages_):
            parts.extend(messages_)
    return " ".join(parts)


@require_POST
def hold_create_page(request: HttpRequest, slug: str) -> HttpResponse:
    event = get_object_or_404(Event, slug=slug)
    try:
        hold = hold_create(
            event=event,
            buyer=buyer_identity(request),
            access_code=request.POST.get("access_code") or None,
            queue_pass=request.COOKIES.get(pass_cookie(event.pk)),
            user=request.user if request.user.is_authenticated else None,
            **holdkinds.form_request(request.POST),
        )
    except KassaError as exc:
        request.error_code = exc.code  # the refusal's cause in the request rollup (sales)
        messages.error(request, _error_text(exc))
        response = redirect(event.get_absolute_url())
        if isinstance(exc, PassInvalid | PassExpired):
            # A spent or foreign pass is worth nothing: without it the event
            # page offers the waiting room again, as the message says.
            response.delete_cookie(pass_cookie(event.pk), samesite="Lax")
        return response
    return redirect("orders:checkout", hold_id=hold.pk)


def _own_hold(request: HttpRequest, hold_id) -> Hold:
    hold = Hold.objects.select_related("event__venue").filter(pk=hold_id).first()
    if hold is None or not hold_visible_to(hold=hold, buyer=buyer_identity(request)):
        raise Http404
    return hold


def pay_url(order: Order) -> str:
    # No token in the URL: the device that made the order reads it
    # (order_readable_by), and the token stays out of history and Referer.
    return reverse("orders_payments:pay_start", kwargs={"code": order.code})


def _seat_choices(hold: Hold, items: list[dict], post) -> tuple[list[dict], dict[str, str]]:
    """Each seat's ticket-type options (a showing sells types), with the one
    chosen in the form (`type_<seat id>`) or the first; and the choices to
    send. Empty for events without types."""
    sale = sale_snapshot(hold.event_id)
    if sale is None or not sale.ticket_types or not hold.seat_ids:
        return items, {}
    tier_of = dict(EventSeat.objects.filter(pk__in=hold.seat_ids).values_list("pk", "tier_id"))
    chosen: dict[str, str] = {}
    rows = []
    for item in items:
        options = seat_options(sale, tier_of.get(item.get("seat"), 0))
        picked = (post or {}).get(f"type_{item['seat']}") or (
            options[0]["type"].key if options else ""
        )
        chosen[str(item["seat"])] = picked
        rows.append({**item, "options": options, "chosen": picked})
    return rows, chosen


def _typed_total(items: list[dict]) -> Decimal:
    total = Decimal("0")
    for item in items:
        prices = {o["type"].key: o["price"] for o in item.get("options", ())}
        total += prices.get(item.get("chosen"), Decimal("0"))
    return total


def checkout(request: HttpRequest, hold_id) -> HttpResponse:
    hold = _own_hold(request, hold_id)
    if hold.status == Hold.Status.CONVERTED:
        return redirect(pay_url(hold.order))
    form = ContactForm(request.POST or None)
    items, chosen = _seat_choices(hold, hold_items(hold), request.POST)
    if request.method == "POST" and form.is_valid():
        try:
            order = order_create(
                hold=hold, buyer=buyer_identity(request),
                user=request.user if request.user.is_authenticated else None,
                language=request.LANGUAGE_CODE, ticket_types=chosen or None,
                **form.cleaned_data,
            )  # fmt: skip
            return redirect(pay_url(order))
        except OrderExists:
            return redirect(pay_url(Order.objects.get(hold=hold)))
        except ValidationFailed as exc:
            for field, errors in exc.details.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
            hold.refresh_from_db()
        except KassaError as exc:
            messages.error(request, _error_text(exc))
            hold.refresh_from_db()
    remaining = int((hold.expires_at - timezone.now()).total_seconds())
    live = hold.status == Hold.Status.ACTIVE and remaining > 0
    return render(
        request,
        "orders/checkout.html",
        {
            "hold": hold,
            "event": hold.event,
            "items": items,
            "typed": bool(chosen),
            "typed_total": _typed_total(items),
            "money_shape": money_shape(hold.currency),
            "form": form,
            "live": live,
            "remaining": max(remaining, 0),
        },
        status=200 if live or request.method == "GET" else 410,
    )


@require_POST
def checkout_release(request: HttpRequest, hold_id) -> HttpResponse:
    hold = _own_hold(request, hold_id)
    try:
        hold_release(hold=hold, actor="buyer", actor_user=request.user)
        messages.success(request, _("Your seats were released."))
    except KassaError as exc:
        messages.error(request, _error_text(exc))
    return redirect(hold.event.get_absolute_url())
