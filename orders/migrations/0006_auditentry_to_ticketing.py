# AuditEntry moved to the base layer (ticketing.AuditEntry) so that every app
# can audit without importing orders. State only: the table orders_auditentry
# stays as it is, with its rows; ticketing's model keeps db_table pointing at it.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0005_sandbox_charge"),
        # ticketing's model takes over the table before this one lets go of it.
        ("ticketing", "0002_auditentry_from_orders"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
            database_operations=[],
        ),
    ]
