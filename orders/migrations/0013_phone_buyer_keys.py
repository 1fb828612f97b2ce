"""Accounts that sign in with a phone are now that phone's buyer key
(`phone:<digest>`, accounts.selectors.account_key) instead of `user:<id>`:
their holds and orders move to the new key, so the per-buyer limits of a
sale in progress still count what they took before the change."""

from __future__ import annotations

from django.db import migrations

BATCH = 1000


def _rekey(apps, schema_editor):
    from accounts.selectors import phone_key, phone_sha256_of

    Profile = apps.get_model("accounts", "Profile")
    pairs = [
        (f"user:{user_id}", phone_key(phone_sha256=phone_sha256_of(phone)))
        for user_id, phone in Profile.objects.filter(phone__isnull=False).values_list(
            "user_id", "phone"
        )
    ]
    with schema_editor.connection.cursor() as cursor:
        for start in range(0, len(pairs), BATCH):
            batch = pairs[start : start + BATCH]
            values = ", ".join(["(%s, %s)"] * len(batch))
            params = [item for pair in batch for item in pair]
            # One pass over each table per batch (a join on the old key), not
            # one scan per account: buyer_key alone has no index.
            for table in ("orders_hold", "orders_order"):
                cursor.execute(
                    f"UPDATE {table} AS t SET buyer_key = m.new FROM (VALUES {values}) "  # noqa: S608
                    "AS m(old, new) WHERE t.buyer_key = m.old",
                    params,
                )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_profile_and_one_time_code"),
        ("orders", "0012_ticket_ticket_type"),
    ]

    operations = [migrations.RunPython(_rekey, migrations.RunPython.noop, elidable=True)]
