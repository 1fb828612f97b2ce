# The audit actions of partner webhooks (endpoint created, secret rotated, disabled; delivery replayed).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ticketing', '0005_merge_gate_console'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('account.created', 'Account Created'), ('account.sessions_revoked', 'Account Sessions Revoked'), ('api_key.created', 'Api Key Created'), ('api_key.revoked', 'Api Key Revoked'), ('event.duplicated', 'Event Duplicated'), ('event.status_changed', 'Event Status Changed'), ('eventseat.block', 'Eventseat Block'), ('eventseat.unblock', 'Eventseat Unblock'), ('hold.created', 'Hold Created'), ('hold.expired', 'Hold Expired'), ('hold.extended_for_payment', 'Hold Extended For Payment'), ('hold.released', 'Hold Released'), ('order.attached', 'Order Attached'), ('order.cancelled', 'Order Cancelled'), ('order.created', 'Order Created'), ('order.expired', 'Order Expired'), ('order.paid', 'Order Paid'), ('order.partly_refunded', 'Order Partly Refunded'), ('order.refunded', 'Order Refunded'), ('payment.callback_mismatch', 'Payment Callback Mismatch'), ('payment.failed', 'Payment Failed'), ('payment.reconcile_gave_up', 'Payment Reconcile Gave Up'), ('payment.reconciled', 'Payment Reconciled'), ('payment.refund_requested', 'Payment Refund Requested'), ('payment.refunded', 'Payment Refunded'), ('payment.started', 'Payment Started'), ('payment.succeeded', 'Payment Succeeded'), ('queue.auto_off', 'Queue Auto Off'), ('queue.auto_on', 'Queue Auto On'), ('queue.room_created', 'Queue Room Created'), ('queue.room_updated', 'Queue Room Updated'), ('queue.shuffle_revealed', 'Queue Shuffle Revealed'), ('ticket.checked_in', 'Ticket Checked In'), ('ticket.checkin_overridden', 'Ticket Checkin Overridden'), ('webhook_delivery.replayed', 'Webhook Delivery Replayed'), ('webhook_endpoint.created', 'Webhook Endpoint Created'), ('webhook_endpoint.disabled', 'Webhook Endpoint Disabled'), ('webhook_endpoint.secret_rotated', 'Webhook Endpoint Secret Rotated')], db_index=True, max_length=100),
        ),
    ]
