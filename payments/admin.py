"""Payments in the admin, and the order admin's payment parts: the payments
inline and the refund action, added by re-registering orders' OrderAdmin
(orders sits below payments and may not import it)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.admin import OrderAdmin as OrdersOrderAdmin
from orders.admin import cancel_orders
from orders.models import Order, Ticket
from payments.forms import RefundForm
from payments.models import Payment, Refund
from payments.selectors import order_tickets
from payments.services import order_refund
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
