"""Payments in the admin, and the order admin's payment parts: the payments
inline and the refund action, added by re-registering orders' OrderAdmin
(orders sits below payments and may not import it)."""

from __future__ import annotations

import csv
from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from api.admin import PartnerAdmin as ApiPartnerAdmin
from api.models import Partner
from events.admin import EventAdmin as EventsEventAdmin
from events.models import Event
from orders.admin import OrderAdmin as OrdersOrderAdmin
from orders.admin import cancel_orders
from orders.models import Order, Ticket
from payments.cancellation import CANCEL_PERMISSIONS, event_cancel
from payments.forms import EventCancelForm, RefundForm, SettlementForm
from payments.models import Payment, Refund
from payments.selectors import (
    event_cancel_preview,
    order_tickets,
    settlement_csv_rows,
    settlement_report,
)
from payments.services import (
    order_refund,
    partner_on_account_disable,
    partner_on_account_enable,
)
from ticketing.errors import KassaError
from ticketing.money import money_format

REFUND_PERMISSION = "payments.add_refund"


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0
    can_delete = False
    fields = [
        "id",
        "provider",
        "amount",
        "status",
        "card_brand",
        "card_bin",
        "card_last4",
        "failure_reason",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
    fields = ["created_at", "amount", "whole", "reason", "status", "actor_user", "places"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=gettext_lazy("Tickets to refund"))
    def places(self, obj: Refund) -> str:
        tickets = order_tickets(obj.order).filter(pk__in=obj.ticket_ids)
        return "; ".join(t.place for t in tickets)


@admin.action(
    description=gettext_lazy("Refund… (one paid order: choose tickets and reason)"),
    permissions=["refund"],
)
def refund_orders(modeladmin, request, queryset):
    """No refund happens here: it opens the order's confirmation page."""
    if queryset.count() != 1:
        modeladmin.message_user(request, _("Choose exactly one order to refund."), messages.WARNING)
        return None
    return redirect(reverse("admin:orders_order_refund", args=[queryset.get().pk]))


admin.site.unregister(Order)
admin.site.unregister(Event)


@admin.action(
    description=gettext_lazy("Cancel event… (stop the sale, refund every buyer)"),
    permissions=["cancel"],
)
def cancel_event(modeladmin, request, queryset):
    """Nothing is cancelled here: it opens the event's confirmation page."""
    if queryset.count() != 1:
        modeladmin.message_user(request, _("Choose exactly one event to cancel."), messages.WARNING)
        return None
    return redirect(reverse("admin:events_event_cancel", args=[queryset.get().pk]))


@admin.register(Event)
class EventAdmin(EventsEventAdmin):
    """The catalogue's event admin with the cancellation (payments.cancellation),
    which refunds, so it lives in payments, above orders."""

    actions = [*EventsEventAdmin.actions, cancel_event]

    def has_cancel_permission(self, request) -> bool:
        return request.user.has_perms(CANCEL_PERMISSIONS)

    def get_urls(self):
        view = self.admin_site.admin_view(self.cancel_view)
        return [path("<int:pk>/cancel/", view, name="events_event_cancel"), *super().get_urls()]

    def cancel_view(self, request, pk: int):
        """The confirmation page: how many orders and how much will be refunded,
        how many unpaid orders and holds end, a required reason, one button."""
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        event = get_object_or_404(Event, pk=pk)
        form = EventCancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = event_cancel(
                    event=event, reason=form.cleaned_data["reason"], by=request.user
                )
            except KassaError as exc:
                form.add_error(None, str(exc.message))
            else:
                messages.success(
                    request,
                    _(
                        "%(event)s is cancelled: %(n)d paid order(s), %(amount)s, are being "
                        "refunded and every buyer is told by e-mail."
                    )
                    % {
                        "event": event.title,
                        "n": result.preview.paid_orders,
                        "amount": money_format(result.preview.refund_amount, event.currency),
                    },
                )
                return redirect(reverse("admin:events_event_change", args=[event.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "event": event,
            "form": form,
            "preview": event_cancel_preview(event=event),
            "cancelled": event.status == Event.Status.CANCELLED,
            "title": _("Cancel %(event)s") % {"event": event.title},
        }
        return render(request, "admin/payments/event_cancel.html", context)


@admin.register(Order)
class OrderAdmin(OrdersOrderAdmin):
    inlines = [*OrdersOrderAdmin.inlines, PaymentInline, RefundInline]
    actions = [refund_orders, cancel_orders]
    change_form_template = "admin/payments/order_change_form.html"

    def has_refund_permission(self, request) -> bool:
        return request.user.has_perm(REFUND_PERMISSION)

    def get_urls(self):
        view = self.admin_site.admin_view(self.refund_view)
        return [path("<int:pk>/refund/", view, name="orders_order_refund"), *super().get_urls()]

    def refund_view(self, request, pk: int):
        """The confirmation page: the order's refundable tickets with checkboxes,
        a required reason, one confirm button, one service call."""
        if not self.has_refund_permission(request):
            raise PermissionDenied
        order = get_object_or_404(Order.objects.select_related("event"), pk=pk)
        done = {i for ids in order.refunds.values_list("ticket_ids", flat=True) for i in ids}
        tickets = [
            t for t in order_tickets(order).exclude(status=Ticket.Status.VOID) if t.pk not in done
        ]
        form = RefundForm(request.POST or None, tickets=tickets, currency=order.currency)
        if request.method == "POST" and form.is_valid():
            try:
                refund = order_refund(
                    order=order,
                    actor_user=request.user,
                    ticket_ids=form.ticket_ids(),
                    reason=form.cleaned_data["reason"],
                )
            except KassaError as exc:
                form.add_error(None, str(exc.message))
            else:
                message = _(
                    "Order %(code)s: %(amount)s refunded for %(n)d ticket(s); "
                    "the buyer is told by e-mail."
                ) % {
                    "code": order.code,
                    "amount": money_format(refund.amount if refund else 0, order.currency),
                    "n": len(form.ticket_ids()),
                }
                messages.success(request, message)
                return redirect(reverse("admin:orders_order_change", args=[order.pk]))
        paid = sum(
            order.payments.filter(
                status__in=[
                    Payment.Status.SUCCEEDED,
                    Payment.Status.REFUND_PENDING,
                    Payment.Status.REFUNDED,
                ]
            ).values_list("amount", flat=True),
            Decimal("0"),
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "order": order,
            "form": form,
            "paid": paid,
            "refunded": sum(order.refunds.values_list("amount", flat=True), Decimal("0")),
            "refundable": order.status == Order.Status.PAID and bool(tickets),
            "title": _("Refund order %(code)s") % {"code": order.code},
        }
        return render(request, "admin/payments/order_refund.html", context)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "order",
        "provider",
        "amount_display",
        "status",
        "card_brand",
        "card_last4",
        "created_at",
    ]
    list_filter = ["status", "provider", "card_brand"]
    search_fields = ["id", "provider_ref", "order__code"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Payment._meta.fields]

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        return money_format(obj.amount, obj.currency)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["created_at", "order", "amount_display", "whole", "status", "actor_user"]
    list_filter = ["status", "whole"]
    search_fields = ["order__code", "order__email", "reason"]
    list_select_related = ["order", "actor_user"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Refund._meta.fields]

    @admin.display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, obj: Refund) -> str:
        return money_format(obj.amount, obj.currency)

    def has_add_permission(self, request) -> bool:
        # Refunds are made from the order's refund page (the permission
        # payments.add_refund lets staff use it), never as a bare row.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


SETTLEMENT_PERMISSION = "payments.view_payment"


@admin.action(
    description=gettext_lazy("Enable on-account payment (a new secret, shown once)"),
    permissions=["change"],
)
def enable_on_account(modeladmin, request, queryset):
    """One partner: make its confirmation secret and show it on the answer page only."""
    if queryset.count() != 1:
        modeladmin.message_user(request, _("Choose exactly one partner."), messages.WARNING)
        return None
    partner = queryset.get()
    secret = partner_on_account_enable(partner=partner, actor_user=request.user)
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": modeladmin.model._meta,
        "partner": partner,
        "secret": secret,
        "title": _("On-account payment enabled"),
    }
    response = render(request, "admin/payments/partner_on_account.html", context)
    response["Cache-Control"] = "no-store"  # the secret must not linger anywhere
    return response


@admin.action(
    description=gettext_lazy("Disable on-account payment (its secret stops signing)"),
    permissions=["change"],
)
def disable_on_account(modeladmin, request, queryset):
    disabled = sum(
        partner_on_account_disable(partner=partner, actor_user=request.user) for partner in queryset
    )
    modeladmin.message_user(
        request,
        ngettext(
            "On-account payment disabled for %(count)d partner.",
            "On-account payment disabled for %(count)d partners.",
            disabled,
        )
        % {"count": disabled},
        messages.SUCCESS,
    )


@admin.action(description=gettext_lazy("Settlement report (CSV)…"), permissions=["settlement"])
def settlement_report_open(modeladmin, request, queryset):
    if queryset.count() != 1:
        modeladmin.message_user(request, _("Choose exactly one partner."), messages.WARNING)
        return None
    return redirect(reverse("admin:api_partner_settlement", args=[queryset.get().pk]))


admin.site.unregister(Partner)


@admin.register(Partner)
class PartnerAdmin(ApiPartnerAdmin):
    """api's partner admin, plus on-account payment and its settlement report
    (api sits below payments and may not import it)."""

    list_display = [*ApiPartnerAdmin.list_display, "on_account"]
    list_filter = [*ApiPartnerAdmin.list_filter, "on_account"]
    readonly_fields = ["on_account"]
    actions = [enable_on_account, disable_on_account, settlement_report_open]

    def has_settlement_permission(self, request) -> bool:
        return request.user.has_perm(SETTLEMENT_PERMISSION)

    def get_urls(self):
        view = self.admin_site.admin_view(self.settlement_view)
        return [
            path("<int:pk>/settlement/", view, name="api_partner_settlement"),
            *super().get_urls(),
        ]

    def settlement_view(self, request, pk: int):
        """A day's on-account settlement of the partner: pick the day, get the CSV."""
        if not self.has_settlement_permission(request):
            raise PermissionDenied
        partner = get_object_or_404(Partner, pk=pk)
        form = SettlementForm(request.GET or None)
        if form.is_valid():
            day = form.cleaned_data["date"]
            report = settlement_report(partner=partner, day=day)
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            name = f"settlement-{partner.slug}-{day.isoformat()}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            csv.writer(response).writerows(settlement_csv_rows(report))
            return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "partner": partner,
            "form": form,
            "title": _("Settlement report of %(partner)s") % {"partner": partner.name},
        }
        return render(request, "admin/payments/partner_settlement.html", context)
