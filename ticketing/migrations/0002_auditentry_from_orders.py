# AuditEntry moved here from orders (orders 0006 drops it from orders' state).
# State only: the table orders_auditentry, created by orders 0001, is taken
# over as it is (db_table), so no SQL runs and existing rows stay.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("ticketing", "0001_outbox"),
        # The table (created by orders 0001) exists before this state claims it,
        # so later migrations of this model here can alter it.
        ("orders", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ("actor", models.CharField(blank=True, max_length=100)),
                        ("action", models.CharField(
                            choices=[
                                ("account.created", "Account Created"),
                                ("account.sessions_revoked", "Account Sessions Revoked"),
                                ("api_key.created", "Api Key Created"),
                                ("api_key.revoked", "Api Key Revoked"),
                                ("eventseat.block", "Eventseat Block"),
                                ("eventseat.unblock", "Eventseat Unblock"),
                                ("hold.created", "Hold Created"),
                                ("hold.expired", "Hold Expired"),
                                ("hold.extended_for_payment", "Hold Extended For Payment"),
                                ("hold.released", "Hold Released"),
                                ("order.attached", "Order Attached"),
                                ("order.cancelled", "Order Cancelled"),
                                ("order.created", "Order Created"),
                                ("order.expired", "Order Expired"),
                                ("order.paid", "Order Paid"),
                                ("order.refunded", "Order Refunded"),
                                ("payment.callback_mismatch", "Payment Callback Mismatch"),
                                ("payment.failed", "Payment Failed"),
                                ("payment.reconcile_gave_up", "Payment Reconcile Gave Up"),
                                ("payment.reconciled", "Payment Reconciled"),
                                ("payment.refund_requested", "Payment Refund Requested"),
                                ("payment.refunded", "Payment Refunded"),
                                ("payment.started", "Payment Started"),
                                ("payment.succeeded", "Payment Succeeded"),
                                ("queue.auto_off", "Queue Auto Off"),
                                ("queue.auto_on", "Queue Auto On"),
                                ("queue.room_created", "Queue Room Created"),
                                ("queue.room_updated", "Queue Room Updated"),
                                ("queue.shuffle_revealed", "Queue Shuffle Revealed"),
                            ],
                            db_index=True,
                            max_length=100,
                        )),
                        ("object_type", models.CharField(max_length=50)),
                        ("object_id", models.CharField(max_length=64)),
                        ("data", models.JSONField(blank=True, default=dict)),
                        ("actor_user", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name_plural": "audit entries",
                        "db_table": "orders_auditentry",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
