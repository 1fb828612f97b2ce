"""Payments in the admin, and the order admin's payment parts: the payments
inline and the refund action, added by re-registering orders' OrderAdmin
(orders sits below payments and may not import it)."""

from __future__ import annotations

from django.contrib import admin

from orders.admin import OrderAdmin as OrdersOrderAdmin
from orders.admin import admin_run, cancel_orders
from orders.models import Order
from payments.models import Payment
from payments.services import order_refund
from ticketing.money import money_format


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


@admin.action(description="Refund (paid orders): void tickets, seats back on sale")
def refund_orders(modeladmin, request, queryset):
    admin_run(modeladmin, request, queryset, order_refund, "refunded")


admin.site.unregister(Order)


@admin.register(Order)
class OrderAdmin(OrdersOrderAdmin):
    inlines = [*OrdersOrderAdmin.inlines, PaymentInline]
    actions = [refund_orders, cancel_orders]


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

    @admin.display(description="Amount", ordering="amount")
    def amount_display(self, obj: Payment) -> str:
        return money_format(obj.amount, obj.currency)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
