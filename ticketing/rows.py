"""Several new rows in one round trip, without the ORM's per-statement
compilation: for hot paths that write a few rows whose values are all known
in Python (a hold, its standing lines, its audit entry)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models


def rows_insert(instances: Sequence[models.Model]) -> None:
    """INSERT each unsaved instance (in order: parents before children), as
    one multi-statement query: one round trip, each INSERT its own statement.

    Every concrete field is written from the instance as Model.save() would
    (pre_save, get_db_prep_save: defaults, JSON, decimals); an auto primary
    key left unset is filled by the database and NOT read back. No signals
    are sent (nothing listens to these models' post_save). Call it inside the
    transaction that makes the change; any failing INSERT fails them all.
    """
    statements, params = [], []
    for instance in instances:
        meta = instance._meta
        fields = [
            f
            for f in meta.concrete_fields
            if not (f.primary_key and isinstance(f, models.AutoField) and instance.pk is None)
        ]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        table = connection.ops.quote_name(meta.db_table)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 - our own names
        statements.append(sql)
        params.extend(f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute("; ".join(statements), params)
    for instance in instances:
        instance._state.adding = False
        instance._state.db = connection.alias
