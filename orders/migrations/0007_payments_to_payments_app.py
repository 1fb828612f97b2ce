# Payment, PaymentCallback and SandboxCharge moved to their own app (payments),
# which sits above orders. State only: the tables orders_payment,
# orders_paymentcallback and orders_sandboxcharge stay as they are, with their
# rows; payments' models keep db_table pointing at them.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0006_auditentry_to_ticketing"),
        # payments' models take over the tables before these let go of them.
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="payment", name="order"),
                migrations.RemoveField(model_name="paymentcallback", name="payment"),
                migrations.DeleteModel(name="SandboxCharge"),
                migrations.DeleteModel(name="Payment"),
                migrations.DeleteModel(name="PaymentCallback"),
            ],
            database_operations=[],
        ),
    ]
