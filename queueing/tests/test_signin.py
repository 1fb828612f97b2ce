"""Signing in on the way through the waiting room keeps the buyer's place and pass."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.test import Client

from accounts.sms import FileSmsBackend
from queueing import selectors, services, state, tokens
from queueing.exceptions import PassExpired
from ticketing.cookies import pass_cookie

pytestmark = pytest.mark.django_db

PHONE = "+77012345678"


@pytest.fixture(autouse=True)
def _sms_to_files(settings, tmp_path):
    settings.SMS_BACKEND = "accounts.sms.FileSmsBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")


@pytest.fixture
def sign_in(settings, django_capture_on_commit_callbacks):
    """Sign in through the real pages, reading the code from the SMS the site sent."""

    def walk(client: Client, next_url: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            form = {"identity": "8 701 234 56 78", "next": next_url}
            sent = client.post("/account/signin/", form)
        assert sent.status_code == 302 and sent["Location"] == "/account/signin/code/"
        text = FileSmsBackend(settings.SMS_FILE_PATH).messages(PHONE)[-1]["text"]
        code = re.search(r"\b(\d{6})\b", text).group(1)
        with django_capture_on_commit_callbacks(execute=True):
            done = client.post("/account/signin/code/", {"code": code})
        assert done.status_code == 302 and done["Location"] == next_url

    return walk


def _admit_everyone(room) -> None:
    t0 = time.time()
    state.conn().hset(state.keys(room.pk)["st"], "last", t0)
    services.room_tick(room=room, now=t0 + 5)


def _pass_visitor(client: Client, room) -> str:
    raw = client.cookies[pass_cookie(room.event_id)].value
    return signing.loads(raw, salt=tokens.PASS_SALT)["v"]


def test_signing_in_after_admission_keeps_the_place_and_the_pass(room, sign_in):
    slug = room.event.slug
    client = Client(headers={"accept-language": "en"})
    client.post(f"/e/{slug}/queue/")  # join as a guest
    _admit_everyone(room)
    page = client.get(f"/e/{slug}/queue/")
    assert "It is your turn!" in page.content.decode()
    assert _pass_visitor(client, room).startswith("device:")

    sign_in(client, f"/e/{slug}/")

    # The pass this browser holds (the device's) is good for the account's hold.
    hold = client.post(f"/e/{slug}/hold/", {"best_quantity": "2"})
    assert hold.status_code == 302 and hold["Location"].startswith("/checkout/"), [
        str(m) for m in hold.wsgi_request._messages
    ]
    # The queue page agrees: the account's turn, with a pass bound to the account.
    page = client.get(f"/e/{slug}/queue/")
    assert "It is your turn!" in page.content.decode()
    # (An account that signed in with a phone is that phone's key: accounts.selectors.)
    assert _pass_visitor(client, room).startswith(("user:", "phone:"))
    assert not _pass_visitor(client, room).startswith("device:")
    assert client.post(f"/e/{slug}/hold/", {"best_quantity": "1"})["Location"].startswith(
        "/checkout/"
    )
    assert state.counters(room.pk)["active"] == 1  # one shopper, not two


def test_the_device_pass_is_void_after_the_hand_over(room):
    joined = services.queue_join(room_id=room.pk, visitor="device:d")
    _admit_everyone(room)
    device_pass = selectors.queue_status(token=joined.token)["pass"]
    services.queue_handover(from_visitor="device:d", to_visitor="user:7")
    # Signed out again, the device is a new guest: its old pass buys nothing.
    with pytest.raises(PassExpired):
        selectors.pass_validate(event_id=room.event_id, buyer_key="device:d", token=device_pass)
    assert selectors.pass_validate(event_id=room.event_id, buyer_key="user:7", token=device_pass)
    # The device's token, still polled by an open tab, now speaks for the account.
    status = selectors.queue_status(token=joined.token)
    assert status["state"] == "admitted" and status["number"] == joined.number
    assert tokens.pass_read(status["pass"])["v"] == "user:7"
    assert tokens.token_read(status["token"])["v"] == "user:7"


def test_an_account_with_a_place_keeps_the_better_one(room):
    services.queue_join(room_id=room.pk, visitor="device:early")
    account = services.queue_join(room_id=room.pk, visitor="user:7")  # number 2
    device = services.queue_join(room_id=room.pk, visitor="device:d")  # number 3
    assert services.queue_handover(from_visitor="device:d", to_visitor="user:7") == {room.pk: "to"}
    assert services.queue_join(room_id=room.pk, visitor="user:7").number == account.number
    assert state.conn().hget(state.keys(room.pk)["map"], "device:d") is None
    # ... and the other way round: the device was earlier in line.
    early = services.queue_join(room_id=room.pk, visitor="device:e2")  # number 4
    later = services.queue_join(room_id=room.pk, visitor="user:8")  # number 5
    assert services.queue_handover(from_visitor="device:e2", to_visitor="user:8") == {
        room.pk: "from"
    }
    assert services.queue_join(room_id=room.pk, visitor="user:8").number == early.number
    # The account's dropped (later) number does not come back through its token.
    assert selectors.queue_status(token=later.token)["number"] == early.number
    assert selectors.queue_status(token=device.token)["number"] == account.number
    assert services.queue_handover(from_visitor="device:e2", to_visitor="user:8") == {}


def test_a_live_place_beats_one_whose_order_was_paid(room):
    paid = services.queue_join(room_id=room.pk, visitor="user:7")  # number 1, then paid
    services.pass_complete(event_id=room.event_id, buyer_key="user:7")
    device = services.queue_join(room_id=room.pk, visitor="device:d")  # number 2, waiting
    assert services.queue_handover(from_visitor="device:d", to_visitor="user:7") == {
        room.pk: "from"
    }
    status = selectors.queue_status(token=device.token)
    assert status["number"] == device.number and status["state"] == "waiting"
    # The ended number 1 cannot be restored through the account's old token.
    assert selectors.queue_status(token=paid.token)["number"] == device.number


def test_a_prequeue_entry_is_handed_over(db):
    import datetime as dt

    from django.utils import timezone

    from queueing.tests.factories import make_room

    now = timezone.now()
    room = make_room(prequeue_opens_at=now - dt.timedelta(minutes=5),
                     sale_opens_at=now + dt.timedelta(minutes=5))  # fmt: skip
    services.queue_join(room_id=room.pk, visitor="device:d")
    assert services.queue_handover(from_visitor="device:d", to_visitor="user:7") == {room.pk: "pre"}
    members = state.conn().zrange(state.keys(room.pk)["pre"], 0, -1)
    assert members == [b"user:7"]
