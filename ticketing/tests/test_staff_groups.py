"""The staff roles (groups made by ticketing 0003): each sees in admin only what
it may see, and can do only what it may do (403 otherwise)."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.contrib.auth.models import Group, User

from events.factories import event_build
from orders.tests.factories import order_make
from queueing.services import room_create

pytestmark = pytest.mark.django_db

OK, NO = 200, 403
# page -> expected status for supervisor, box office, support, gate
PAGES = {
    "/admin/events/event/": (OK, OK, OK, OK),
    "/admin/events/event/add/": (OK, NO, NO, NO),
    "/admin/events/event/{event}/duplicate/": (OK, NO, NO, NO),
    "/admin/events/eventseat/": (OK, OK, OK, NO),
    "/admin/orders/order/": (OK, OK, OK, NO),
    "/admin/orders/order/{order}/change/": (OK, OK, OK, NO),
    "/admin/orders/order/{order}/refund/": (OK, OK, NO, NO),
    "/admin/orders/ticket/": (OK, OK, OK, OK),
    "/admin/payments/payment/": (OK, OK, OK, NO),
    "/admin/payments/refund/": (OK, OK, OK, NO),
    "/admin/queueing/waitingroom/": (OK, NO, NO, NO),
    "/admin/queueing/waitingroom/{room}/live/": (OK, NO, NO, NO),
    "/admin/api/apikey/": (OK, NO, NO, NO),
    "/admin/auth/user/": (NO, NO, NO, NO),
}
ROLES = ["supervisor", "box office", "support", "gate"]


@pytest.fixture(autouse=True)
def _staff_groups(db):
    """The roles are a data migration's rows (ticketing 0004). A transactional
    test that ran before this one in the same xdist worker flushed every
    table; the permissions come back with post_migrate, the groups do not:
    they are put back as the migration wrote them."""
    from django.contrib.auth.models import Permission

    roles = import_module("ticketing.migrations.0004_audit_actions_and_staff_groups")
    for name, grants in roles.GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        codenames = [
            (app, f"{verb}_{model}") for (app, model), verbs in grants.items() for verb in verbs
        ] + roles.EXTRA.get(name, [])
        group.permissions.set(
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in codenames
        )


@pytest.fixture
def objects():
    event = event_build(seats=4)
    room = room_create(event=event, mode="off", sale_opens_at=event.starts_at)
    return {"event": event.pk, "order": order_make(event=event, seat_count=1).pk, "room": room.pk}


def _member(role: str) -> User:
    user = User.objects.create_user(role.replace(" ", "_"), password="pw-123456", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_only_its_admin_pages(client, objects, role):
    client.force_login(_member(role))
    column = ROLES.index(role)
    seen = {page: client.get(page.format(**objects)).status_code for page in PAGES}
    assert seen == {page: statuses[column] for page, statuses in PAGES.items()}


@pytest.mark.parametrize(
    ("role", "actions"),
    [
        ("supervisor", {"refund_orders", "cancel_orders"}),
        ("box office", {"refund_orders", "cancel_orders"}),
        ("support", set()),
    ],
)
def test_order_actions_follow_the_role(client, objects, role, actions):
    client.force_login(_member(role))
    page = client.get("/admin/orders/order/")
    form = page.context["action_form"]
    # No action at all: the admin shows no action form.
    choices = form.fields["action"].choices if form is not None else []
    offered = {value for value, _label in choices if value}
    assert offered - {"delete_selected"} == actions


def test_support_cannot_refund_by_posting_the_action(client, objects):
    client.force_login(_member("support"))
    answer = client.post(
        "/admin/orders/order/", {"action": "refund_orders", "_selected_action": [objects["order"]]}
    )
    assert answer.status_code == 200  # "no action selected": nothing happens
    assert "/refund/" not in answer.get("Location", "")
