# The sandbox acquirer keeps its own books now (sandbox 0001 copied them).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0002_audit_object_type'),
        ('sandbox', '0001_initial'),
    ]

    operations = [
        migrations.DeleteModel(
            name='SandboxCharge',
        ),
    ]
