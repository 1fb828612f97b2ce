"""FOR SELF-TESTING THE BENCH DRIVER ONLY — not kassa, and not a test of kassa.

A tiny in-memory HTTP server that speaks the slice of /work/shared/API.md the
buyers in bench/buyers.py use (waiting room, availability, holds, orders,
payments, sandbox gateway, tickets), so the driver's flow can be exercised
without the real stack. It keeps its own books to prove the driver never
counts a ticket the server did not sell.

    python bench/fake_server.py --port 8765 --places 200
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SLUG = "fake-stadium"
DECLINED = {"4000000000000002", "4000000000009995"}
THREE_DS = "4000000000003220"
HOLD_SECONDS = 8  # short, so walk-aways' holds come back within a test


class FakeKassa:
    """All state behind one lock: correctness over speed."""

    def __init__(self, *, places: int, open_in: float, rate_per_minute: int, standing_share=0.2):
        self.lock = threading.Lock()
        self.open_at = time.time() + open_in
        self.rate = rate_per_minute
        standing = int(places * standing_share)
        self.seats = {}  # id -> [section, row, number, status, hold]
        ids = itertools.count(1)
        for n in range(places - standing):
            section, row, number = 1 + n % 2, n // 20, n % 10 + 1
            self.seats[next(ids)] = [section, row, number, "available", None]
        self.standing = {"capacity": standing, "held": 0, "sold": 0}
        self.tail = 0
        self.prequeue: list[str] = []
        self.numbers: dict[str, int] = {}
        self.holds: dict[str, dict] = {}
        self.orders: dict[int, dict] = {}
        self.payments: dict[str, dict] = {}
        self.order_ids = itertools.count(1)
        self.sold_tickets = 0

    # -- the room
    def serving(self) -> int:
        if time.time() < self.open_at:
            return 0
        self._shuffle()
        return min(self.tail, int((time.time() - self.open_at) * self.rate / 60) + 5)

    def _shuffle(self) -> None:
        if self.prequeue:
            random.shuffle(self.prequeue)
            for visitor in self.prequeue:
                self.tail += 1
                self.numbers[visitor] = self.tail
            self.prequeue.clear()

    def available(self) -> int:
        seats = sum(1 for s in self.seats.values() if s[3] == "available")
        return seats + self.standing["capacity"] - self.standing["held"] - self.standing["sold"]

    def expire(self) -> None:
        for hold_id, hold in self.holds.items():
            if hold["status"] == "active" and time.time() > hold["expires_at"]:
                _release(self, hold_id)

    def sold_out(self) -> bool:
        self.expire()
        return self.available() == 0 and not any(
            h["status"] == "active" for h in self.holds.values()
        )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    kassa: FakeKassa

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body=None, *, headers: dict | None = None) -> None:
        html = isinstance(body, bytes)
        data = b"" if body is None else (body if html else json.dumps(body).encode())
        self.send_response(status)
        self.send_header("Content-Type", "text/html" if html else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        raw = self.raw_body
        if self.headers.get("Content-Type", "").startswith("application/json"):
            return json.loads(raw or b"{}")
        return {k: v[0] for k, v in parse_qs(raw.decode()).items()}

    def _device(self) -> tuple[str, dict]:
        cookie = self.headers.get("Cookie", "")
        match = re.search(r"kassa_device=([\w-]+)", cookie)
        if match:
            return match.group(1), {}
        device = uuid.uuid4().hex
        return device, {"Set-Cookie": f"kassa_device={device}; Path=/; HttpOnly"}

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    def do_DELETE(self):
        self._route("DELETE")

    def _route(self, method: str) -> None:
        # Read every body, used or not: keep-alive framing depends on it.
        length = int(self.headers.get("Content-Length") or 0)
        self.raw_body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        k = self.kassa
        with k.lock:
            for pattern, handler in ROUTES:
                m = re.fullmatch(pattern[1], path)
                if m and pattern[0] == method:
                    return handler(self, k, query, *m.groups())
        self._send(404, {"error": {"code": "not_found", "message": "no route", "details": {}}})


def join(h, k, q, slug):
    device, cookie = h._device()
    h._body()
    if device not in k.numbers and device not in k.prequeue:
        if time.time() < k.open_at:
            k.prequeue.append(device)
        else:
            k._shuffle()
            k.tail += 1
            k.numbers[device] = k.tail
    number = k.numbers.get(device)
    position = None if number is None else max(0, number - k.serving())
    h._send(
        201,
        {"token": device, "state": "waiting", "position": position, "eta_seconds": None},
        headers=cookie,
    )


def state(h, k, q, slug):
    room = "sold_out" if k.sold_out() else ("prequeue" if time.time() < k.open_at else "open")
    h._send(
        200,
        {
            "state": room,
            "serving": k.serving(),
            "tail": k.tail + len(k.prequeue),
            "rate_per_minute": k.rate,
        },
        headers={"Cache-Control": "public, max-age=1"},
    )


def status(h, k, q):
    device = h.headers.get("X-Queue-Token", "")
    serving = k.serving()
    number = k.numbers.get(device)
    if number is None:
        return h._send(200, {"state": "waiting", "position": None, "eta_seconds": None})
    if number <= serving:
        return h._send(200, {"state": "admitted", "position": 0, "pass": f"pass-{device}"})
    h._send(200, {"state": "waiting", "position": number - serving, "eta_seconds": 1})


def availability(h, k, q, slug):
    if "section" in q:
        section = int(q["section"][0])
        seats = [[sid, s[1], s[2], 0, 0, 1, s[3]] for sid, s in k.seats.items() if s[0] == section]
        return h._send(200, {"section": section, "seats": seats})
    counts = {1: 0, 2: 0}
    for s in k.seats.values():
        counts[s[0]] += s[3] == "available"
    st = k.standing
    h._send(
        200,
        {
            "sections": [
                {"id": 1, "kind": "seated", "available": counts[1]},
                {"id": 2, "kind": "seated", "available": counts[2]},
                {
                    "id": 3,
                    "kind": "standing",
                    "available": st["capacity"] - st["held"] - st["sold"],
                },
            ]
        },
    )


def _conflict(h):
    h._send(409, {"error": {"code": "seat_unavailable", "message": "gone", "details": {}}})


def hold_create(h, k, q):
    device, _ = h._device()
    body = h._body()
    if h.headers.get("X-Queue-Pass") != f"pass-{device}":
        return h._send(423, {"error": {"code": "pass_required", "message": "", "details": {}}})
    hold_id = uuid.uuid4().hex
    k.expire()
    expires_at = time.time() + HOLD_SECONDS
    if "seats" in body:
        ids = body["seats"]
        if not ids or any(k.seats.get(i, [0, 0, 0, "x"])[3] != "available" for i in ids):
            return _conflict(h)
    elif "standing" in body:
        n = body["standing"]["quantity"]
        st = k.standing
        if st["capacity"] - st["held"] - st["sold"] < n:
            return _conflict(h)
        st["held"] += n
        k.holds[hold_id] = {"seats": [], "standing": n, "status": "active"}
        k.holds[hold_id]["expires_at"] = expires_at
        return h._send(201, {"id": hold_id, "quantity": n, "items": [], "total": "1.00"})
    else:
        n = body["best_available"]["quantity"]
        ids = [sid for sid, s in k.seats.items() if s[3] == "available"][:n]
        if len(ids) < n:
            return _conflict(h)
    for i in ids:
        k.seats[i][3], k.seats[i][4] = "held", hold_id
    k.holds[hold_id] = {"seats": ids, "standing": 0, "status": "active", "expires_at": expires_at}
    h._send(201, {"id": hold_id, "quantity": len(ids), "items": ids, "total": "1.00"})


def _release(k, hold_id):
    hold = k.holds[hold_id]
    if hold["status"] != "active":
        return
    hold["status"] = "released"
    for i in hold["seats"]:
        k.seats[i][3], k.seats[i][4] = "available", None
    k.standing["held"] -= hold["standing"]


def hold_delete(h, k, q, hold_id):
    _release(k, hold_id)
    h._send(204)


def order_create(h, k, q):
    body = h._body()
    hold = k.holds.get(body.get("hold"))
    if not hold or hold["status"] != "active":
        return h._send(410, {"error": {"code": "hold_expired", "message": "", "details": {}}})
    oid = next(k.order_ids)
    k.orders[oid] = {"id": oid, "code": f"C{oid}", "status": "pending_payment"}
    k.orders[oid]["hold"] = body["hold"]
    h._send(201, {**k.orders[oid], "total": "1.00", "currency": "KZT"})


def payment_start(h, k, q, oid):
    pid = uuid.uuid4().hex
    k.payments[pid] = {"order": int(oid)}
    h._send(
        200,
        {
            "payment_id": pid,
            "redirect_url": f"http://{h.headers['Host']}/sandbox-gateway/pay/{pid}/?p=link",
        },
    )


def _succeed_later(k, pid):
    def paid():
        time.sleep(0.2)
        with k.lock:
            order = k.orders[k.payments[pid]["order"]]
            hold = k.holds[order["hold"]]
            if order["status"] != "pending_payment" or hold["status"] != "active":
                return
            for i in hold["seats"]:
                k.seats[i][3] = "sold"
            k.standing["held"] -= hold["standing"]
            k.standing["sold"] += hold["standing"]
            hold["status"] = "converted"
            order["status"] = "paid"
            order["tickets"] = len(hold["seats"]) + hold["standing"]
            k.sold_tickets += order["tickets"]

    threading.Thread(target=paid, daemon=True).start()


def gateway_form(h, k, q, pid):
    h._send(200, b'<form method="post"><input name="csrfmiddlewaretoken" value="tok123"></form>')


def gateway_pay(h, k, q, pid):
    card = h._body().get("card_number")
    payment = k.payments[pid]
    # A declined attempt is spent, as at the real sandbox gateway: posting
    # the same payment again is declined again (the buyer starts a new one).
    if card in DECLINED or payment.get("declined"):
        payment["declined"] = True
        return h._send(422, {"status": "declined", "reason": "card declined"})
    json_client = "application/json" in h.headers.get("Accept", "")
    if card == THREE_DS:
        next_url = f"/sandbox-gateway/3ds/{pid}/"
        if json_client:
            return h._send(200, {"status": "3ds", "redirect_url": next_url})
        return h._send(303, headers={"Location": next_url})
    _succeed_later(k, pid)
    if json_client:
        return h._send(200, {"status": "accepted", "redirect_url": "/orders/x/"})
    h._send(303, headers={"Location": "/orders/x/"})


def gateway_3ds(h, k, q, pid):
    if h.command == "GET":
        return h._send(200, b"<form></form>")
    if h._body().get("code") != "123456":
        return h._send(422, {"status": "declined", "reason": "3ds"})
    _succeed_later(k, pid)
    h._send(303, headers={"Location": "/orders/x/"})


def order_read(h, k, q, oid):
    h._send(200, {"id": int(oid), "status": k.orders[int(oid)]["status"]})


def order_tickets(h, k, q, oid):
    order = k.orders[int(oid)]
    h._send(200, [{"code": f"T{oid}-{n}"} for n in range(order.get("tickets", 0))])


def order_cancel(h, k, q, oid):
    order = k.orders[int(oid)]
    if order["status"] == "pending_payment":
        order["status"] = "cancelled"
        _release(k, order["hold"])
    h._send(200, {"id": int(oid), "status": order["status"]})


ROUTES = [
    (("POST", r"/api/v1/events/([\w-]+)/queue/join/"), join),
    (("GET", r"/api/v1/events/([\w-]+)/queue/state/"), state),
    (("GET", r"/api/v1/queue/status/"), status),
    (("GET", r"/api/v1/events/([\w-]+)/availability/"), availability),
    (("POST", r"/api/v1/holds/"), hold_create),
    (("DELETE", r"/api/v1/holds/(\w+)/"), hold_delete),
    (("POST", r"/api/v1/orders/"), order_create),
    (("POST", r"/api/v1/orders/(\d+)/payments/"), payment_start),
    (("GET", r"/api/v1/orders/(\d+)/"), order_read),
    (("GET", r"/api/v1/orders/(\d+)/tickets/"), order_tickets),
    (("POST", r"/api/v1/orders/(\d+)/cancel/"), order_cancel),
    (("GET", r"/sandbox-gateway/pay/(\w+)/"), gateway_form),
    (("POST", r"/sandbox-gateway/pay/(\w+)/"), gateway_pay),
    (("GET", r"/sandbox-gateway/3ds/(\w+)/"), gateway_3ds),
    (("POST", r"/sandbox-gateway/3ds/(\w+)/"), gateway_3ds),
    (("GET", r"/healthz"), lambda h, k, q: h._send(200, {"status": "ok"})),
]


def serve(kassa: FakeKassa, port: int = 0) -> ThreadingHTTPServer:
    """Start serving in a daemon thread; `server.server_address[1]` is the port."""
    handler = type("BoundHandler", (Handler,), {"kassa": kassa})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="fake kassa for the bench driver's self-test")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--places", type=int, default=200)
    parser.add_argument("--open-in", type=float, default=5)
    parser.add_argument("--rate", type=int, default=600)
    args = parser.parse_args()
    serve(FakeKassa(places=args.places, open_in=args.open_in, rate_per_minute=args.rate), args.port)
    print(f"fake kassa on http://127.0.0.1:{args.port}/ (event {SLUG})")
    threading.Event().wait()
