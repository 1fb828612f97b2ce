# The sandbox acquirer's own books. Until now its charges were a payments
# model (orders_sandboxcharge, pointing at kassa's payments); they are copied
# here with what the gateway must now know itself (amount, currency, return
# and callback URLs), and payments 0003 drops the old table.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


CALLBACK_PATH = "/api/v1/payments/sandbox/callback/"


def copy_charges(apps, schema_editor):
    from django.conf import settings

    site = settings.SITE_URL.rstrip("/")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sandbox_payment (id, merchant, description, amount, currency, "
            "return_url, callback_url, card_brands, card_bins, card_note, created_at) "
            "SELECT p.id, 'kassa', 'order ' || o.code, p.amount, p.currency, "
            "CASE WHEN p.return_url LIKE '/%%' THEN %s || p.return_url ELSE p.return_url END, "
            "%s, '[]'::jsonb, '[]'::jsonb, '', p.created_at "
            "FROM orders_sandboxcharge c JOIN orders_payment p ON p.id = c.payment_id "
            "JOIN orders_order o ON o.id = p.order_id",
            [site, site + CALLBACK_PATH],
        )
        cursor.execute(
            "INSERT INTO sandbox_charge (payment_id, status, card, reason, event_id, "
            "refunded_amount, created_at, updated_at) "
            "SELECT c.payment_id, c.status, c.card, c.reason, c.event_id, "
            "CASE WHEN c.status = 'refunded' THEN p.amount ELSE 0 END, c.created_at, c.updated_at "
            "FROM orders_sandboxcharge c JOIN orders_payment p ON p.id = c.payment_id"
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        # Runs while orders_sandboxcharge still exists, to copy it.
        ('payments', '0002_audit_object_type'),
    ]

    operations = [
        migrations.CreateModel(
            name='SandboxPayment',
            fields=[
                ('id', models.UUIDField(primary_key=True, serialize=False)),
                ('merchant', models.CharField(max_length=100)),
                ('description', models.CharField(blank=True, max_length=200)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                ('currency', models.CharField(max_length=3)),
                ('return_url', models.CharField(max_length=500)),
                ('callback_url', models.CharField(max_length=500)),
                ('card_brands', models.JSONField(blank=True, default=list)),
                ('card_bins', models.JSONField(blank=True, default=list)),
                ('card_note', models.CharField(blank=True, max_length=300)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                'db_table': 'sandbox_payment',
                'constraints': [models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='sandbox_payment_amount_not_negative')],
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
                ('refunded_amount', models.DecimalField(decimal_places=2, default=0, max_digits=12)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('updated_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('payment', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='charge', to='sandbox.sandboxpayment')),
            ],
            options={
                'db_table': 'sandbox_charge',
                'constraints': [models.CheckConstraint(condition=models.Q(('refunded_amount__gte', 0)), name='sandbox_refund_not_negative')],
            },
        ),
        migrations.CreateModel(
            name='SandboxRefund',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('refund_id', models.CharField(max_length=100, unique=True)),
                ('amount', models.DecimalField(decimal_places=2, max_digits=12)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('payment', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='refunds', to='sandbox.sandboxpayment')),
            ],
            options={
                'db_table': 'sandbox_refund',
                'constraints': [models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='sandbox_refund_positive')],
            },
        ),
        migrations.RunPython(copy_charges, migrations.RunPython.noop),
    ]
