# The ticket's verbose names (staff operations) and its gate permissions (the gate page), made on two branches.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0010_verbose_names'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='ticket',
            options={'ordering': ['id'], 'permissions': [('scan_ticket', 'Can scan tickets at the gate'), ('override_checkin', 'Can let a refused ticket in at the gate (supervisor)')], 'verbose_name': 'ticket', 'verbose_name_plural': 'tickets'},
        ),
    ]
