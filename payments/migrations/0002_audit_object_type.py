"""Audit entries of payments name their model as it is now, payments.payment.

Payment moved from orders to payments (0001, state only); the entries written
before the move still say orders.payment. One UPDATE renames them, so every
reader (the order admin's audit trail) asks for one name, old rows included.
"""

from django.db import migrations


def _rename(old: str, new: str):
    def run(apps, schema_editor):
        audit = apps.get_model("ticketing", "AuditEntry")
        audit.objects.filter(object_type=old).update(object_type=new)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
        ("ticketing", "0002_auditentry_from_orders"),
    ]

    operations = [
        migrations.RunPython(
            _rename("orders.payment", "payments.payment"),
            _rename("payments.payment", "orders.payment"),
        ),
    ]
