from __future__ import annotations

import time

import pytest
from django.utils import timezone

from queueing import services, state, tasks
from queueing.models import WaitingRoom
from ticketing.models import AuditEntry

pytestmark = pytest.mark.django_db


def _form(room: WaitingRoom, **changes) -> dict:
    local = timezone.localtime(room.sale_opens_at)
    data = {
        "mode": room.mode,
        "sale_opens_at_0": local.strftime("%Y-%m-%d"),
        "sale_opens_at_1": local.strftime("%H:%M:%S"),
        "prequeue_opens_at_0": "",
        "prequeue_opens_at_1": "",
        "admission_rate_per_minute": room.admission_rate_per_minute,
        "max_active_shoppers": room.max_active_shoppers,
        "pass_minutes": room.pass_minutes,
        "no_show_grace_seconds": room.no_show_grace_seconds,
        "auto_threshold": room.auto_threshold,
        "expected_tickets_per_buyer": room.expected_tickets_per_buyer,
    }
    return {**data, **changes}


def test_staff_edit_live_is_audited_and_reaches_redis(
    room, admin_client, django_capture_on_commit_callbacks
):
    url = f"/admin/queueing/waitingroom/{room.pk}/change/"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, _form(room, admission_rate_per_minute=300))
    assert response.status_code == 302, response.content[:2000]
    room.refresh_from_db()
    assert room.admission_rate_per_minute == 300
    assert state.read(room.pk)["rate"] == "300"
    entry = AuditEntry.objects.get(action="queue.room_updated", object_id=str(room.pk))
    assert entry.data == {"admission_rate_per_minute": {"old": "60", "new": "300"}}
    assert entry.actor_user.username == "admin"


def test_pause_action_from_the_list(room, admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/queueing/waitingroom/",
            {"action": "pause", "_selected_action": [room.pk]},
        )
    room.refresh_from_db()
    assert room.paused is True
    assert state.read(room.pk)["paused"] == "1"


def test_live_page_shows_numbers_and_a_chart(room, admin_client):
    for i in range(3):
        services.queue_join(room_id=room.pk, visitor=f"d:{i}")
    t0 = time.time()
    for step in (0, 11, 22):
        services.room_tick(room=room, now=t0 + step)
    page = admin_client.get(f"/admin/queueing/waitingroom/{room.pk}/live/")
    assert page.status_code == 200
    assert b"<polyline" in page.content and room.seed_hash.encode() in page.content


def test_the_beat_task_ticks_rooms(room):
    services.queue_join(room_id=room.pk, visitor="d:1")
    assert tasks.admission_tick.apply().get() == 1
    from ticketing.celery import app

    assert app.conf.beat_schedule["queue-admission-tick"]["schedule"] == 1.0


def test_staff_create_a_room_in_admin_is_audited_and_live(
    event, admin_client, django_capture_on_commit_callbacks
):
    room = WaitingRoom(event=event, sale_opens_at=timezone.now().replace(microsecond=0))
    form = {**_form(room), "event": event.pk, "mode": "on"}
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/queueing/waitingroom/add/", form)
    assert response.status_code == 302, response.content[:3000]
    created = WaitingRoom.objects.get(event=event)
    entry = AuditEntry.objects.get(action="queue.room_created", object_id=str(created.pk))
    assert entry.data["commitment"] == created.seed_hash
    assert state.read(created.pk)["commitment"] == created.seed_hash
