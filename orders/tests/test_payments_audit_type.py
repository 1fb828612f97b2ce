"""Payments' audit entries are `payments.payment`, old ones included: the
migration renames what was written while Payment was orders' model, and the
order admin's audit trail reads the one name."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("payments", "0001_initial")]
AFTER = [("payments", "0002_audit_object_type")]


@pytest.mark.django_db(transaction=True)
def test_entries_written_before_the_move_are_renamed_and_back():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    audit = executor.loader.project_state(BEFORE).apps.get_model("ticketing", "AuditEntry")
    audit.objects.create(action="payment.succeeded", object_type="orders.payment", object_id="p1")
    audit.objects.create(action="order.paid", object_type="orders.order", object_id="o1")
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        types = dict(audit.objects.values_list("object_id", "object_type"))
        assert types == {"p1": "payments.payment", "o1": "orders.order"}
        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)
        assert audit.objects.get(object_id="p1").object_type == "orders.payment"
    finally:
        audit.objects.all().delete()
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
