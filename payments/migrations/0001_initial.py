# Payment, PaymentCallback and SandboxCharge moved here from orders (orders 0007
# drops them from orders' state). State only: the tables orders_payment,
# orders_paymentcallback and orders_sandboxcharge, created by orders 0002 and
# 0005, are taken over as they are (db_table), with their indexes, constraints
# and rows, so no SQL runs.

import django.db.models.deletion
import django.utils.timezone
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # The tables exist, as orders' migrations left them, before this state
        # claims them, so later migrations of these models here can alter them.
        ('orders', '0006_auditentry_to_ticketing'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Payment',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('provider', models.CharField(default='sandbox', max_length=30)),
                        ('provider_ref', models.CharField(blank=True, max_length=100)),
                        ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                        ('currency', models.CharField(max_length=3)),
                        ('status', models.CharField(choices=[('created', 'Created'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('refund_pending', 'Refund pending'), ('refunded', 'Refunded')], default='created', max_length=16)),
                        ('return_url', models.CharField(blank=True, max_length=500)),
                        ('card_brand', models.CharField(blank=True, max_length=20)),
                        ('card_bin', models.CharField(blank=True, max_length=8)),
                        ('card_last4', models.CharField(blank=True, max_length=4)),
                        ('failure_reason', models.CharField(blank=True, max_length=200)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('reconcile_after', models.DateTimeField(blank=True, null=True)),
                        ('reconcile_attempts', models.PositiveSmallIntegerField(default=0)),
                        ('order', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payments', to='orders.order')),
                    ],
                    options={
                        'db_table': 'orders_payment',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='PaymentCallback',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(max_length=30)),
                        ('event_id', models.CharField(max_length=100)),
                        ('status', models.CharField(max_length=20)),
                        ('payload', models.JSONField(default=dict)),
                        ('received_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('payment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='callbacks', to='payments.payment')),
                    ],
                    options={
                        'db_table': 'orders_paymentcallback',
                    },
                ),
                migrations.CreateModel(
                    name='SandboxCharge',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('succeeded', 'Succeeded'), ('failed', 'Failed'), ('refunded', 'Refunded')], max_length=10)),
                        ('card', models.JSONField(blank=True, default=dict)),
                        ('reason', models.CharField(blank=True, max_length=200)),
                        ('event_id', models.CharField(blank=True, max_length=100)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('payment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='sandbox_charge', to='payments.payment')),
                    ],
                    options={
                        'db_table': 'orders_sandboxcharge',
                    },
                ),
                migrations.AddIndex(
                    model_name='payment',
                    index=models.Index(condition=models.Q(('status', 'created')), fields=['reconcile_after'], name='payment_reconcile_due'),
                ),
                migrations.AddIndex(
                    model_name='payment',
                    index=models.Index(condition=models.Q(('status', 'refund_pending')), fields=['created_at'], name='payment_refund_pending'),
                ),
                migrations.AddConstraint(
                    model_name='payment',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='payment_amount_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='paymentcallback',
                    constraint=models.UniqueConstraint(fields=('provider', 'event_id'), name='callback_once'),
                ),
            ],
            database_operations=[],
        ),
    ]
