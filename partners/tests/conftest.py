"""A real HTTP receiver (http.server in a thread) standing in for a partner's
server, and a partner with a webhook endpoint pointing at it."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.models import Partner
from partners.services import webhook_endpoint_create


class Receiver:
    """Records every request; answers the queued statuses, then 200. Dedupes
    by Kassa-Event-Id the way a partner must: `effects` lists each event
    once. With `hold` set, the first request is recorded and then held open
    until `release` is set (a deliverer killed while waiting)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.seen: set[str] = set()
        self.effects: list[str] = []
        self.hold = threading.Event()
        self.release = threading.Event()
        self.got_request = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": raw})
                    event_id = self.headers["Kassa-Event-Id"]
                    if event_id not in receiver.seen:  # a duplicate changes nothing
                        receiver.seen.add(event_id)
                        receiver.effects.append(event_id)
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    held = receiver.hold.is_set() and len(receiver.requests) == 1
                receiver.got_request.set()
                if held:
                    receiver.release.wait(30)
                answer = json.dumps({"ok": status < 300, "seen": event_id}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the deliverer was killed while we held its request

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kassa/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver():
    r = Receiver()
    r.thread.start()
    yield r
    r.release.set()
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    """The receivers of these tests listen on 127.0.0.1: allowed here (DEBUG's
    default); test_private_hosts turns it off."""
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True


@pytest.fixture
def partner(db):
    return Partner.objects.create(slug="halyk", name="Halyk Bank")


@pytest.fixture
def endpoint(partner, receiver, settings):
    """(endpoint, secret) for every order event, at the receiver."""
    settings.WEBHOOK_ALLOW_HTTP = True  # the receiver is plain http on localhost
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    return webhook_endpoint_create(
        partner=partner,
        url=receiver.url,
        events=["order.paid", "order.refunded", "order.expired"],
    )
