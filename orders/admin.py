from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from orders.models import Order, Ticket
from orders.services.orders import order_cancel
from ticketing.errors import KassaError
from ticketing.models import AuditEntry
from ticketing.money import money_format


class TicketInline(admin.TabularInline):
    model = Ticket
    extra = 0
    can_delete = False
    fields = ["code", "place", "tier", "price", "status", "used_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("place"))
    def place(self, obj: Ticket) -> str:
        return obj.place


def admin_run(modeladmin, request, queryset, service, done: str) -> None:
    """Each order through its service; one failure does not stop the others."""
    for order in queryset:
        try:
            service(order=order, actor_user=request.user)
        except KassaError as exc:
            modeladmin.message_user(request, f"{order.code}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{order.code}: {done}", messages.SUCCESS)


@admin.action(
    description=_("Cancel (unpaid orders): release the held stock"), permissions=["change"]
)
def cancel_orders(modeladmin, request, queryset):
    admin_run(modeladmin, request, queryset, order_cancel, "cancelled")


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["code", "event", "status", "email", "phone", "total_amount", "created_at"]
    list_filter = ["status", "event", "channel"]
    search_fields = ["code", "email", "phone", "name"]
    date_hierarchy = "created_at"
    # payments/admin.py re-registers Order with its payments inline and the
    # refund action (payments sits above orders, which may not import it).
    inlines = [TicketInline]
    actions = [cancel_orders]
    readonly_fields = [
        "code",
        "event",
        "phase",
        "hold",
        "buyer_key",
        "channel",
        "partner",
        "buyer_ref",
        "user",
        "status",
        "quantity",
        "total",
        "currency",
        "expires_at",
        "created_at",
        "paid_at",
        "audit_trail",
    ]
    exclude = ["access_token"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("Total"), ordering="total")
    def total_amount(self, obj: Order) -> str:
        return money_format(obj.total, obj.currency)

    @admin.display(description=_("Audit trail"))
    def audit_trail(self, obj: Order):
        payment_ids = [str(pk) for pk in obj.payments.values_list("pk", flat=True)]
        entries = AuditEntry.objects.filter(
            object_type__in=["orders.order", "orders.hold", "payments.payment"],
            object_id__in=[str(obj.pk), str(obj.hold_id), *payment_ids],
        ).order_by("created_at", "id")
        rows = format_html_join(
            "",
            "<li>{} · <b>{}</b> · {} · {}</li>",
            (
                (e.created_at.isoformat(timespec="seconds"), e.action, e.actor, e.data)
                for e in entries
            ),
        )
        return format_html("<ul>{}</ul>", rows) if entries else "—"


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["code", "place", "order", "event", "status", "used_at"]
    list_filter = ["status", "event"]
    list_select_related = [
        "order", "event", "tier", "event_seat__seat", "event_seat__section",
        "standing_area__section",
    ]  # fmt: skip
    search_fields = ["code", "order__code", "order__email"]
    exclude = ["totp_secret"]

    def get_readonly_fields(self, request, obj=None):
        return ["place", *(f.name for f in Ticket._meta.fields if f.name != "totp_secret")]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("place"))
    def place(self, obj: Ticket) -> str:
        return obj.place
