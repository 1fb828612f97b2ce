#!/usr/bin/env python3
"""A partner app selling through kassa's API, end to end (docs/partners.md).

    python examples/partner_client.py                       # against `make run` on :8000
    python examples/partner_client.py --site http://127.0.0.1:8202
    python examples/partner_client.py --make-run 8202       # boot `make run`, sell, stop

It plays a bank's app that charges its own customer ("on account"):
registers a webhook endpoint served by a tiny HTTP receiver in this process,
joins the waiting room for its customer (`buyer_ref`), polls until admitted
and takes the queue pass, holds the best two seats with the pass
(`X-Queue-Pass`), makes the order, starts an on-account payment, confirms it
signed with its on-account secret (`Kassa-Signature`), waits for the
`order.paid` webhook and verifies its signature, then fetches the tickets and
disables its endpoint. Each step prints what it sent and got; any failure
exits 1 naming the step.

The key and the secrets come from `<data dir>/demo-partner.json`, which
`make run` writes for its demo partner `demo-app` (events/demo.py;
`KASSA_DATA_DIR`, default `.data/`, or `--credentials`). The receiver listens
on 127.0.0.1, which kassa refuses as a webhook address unless the partner is
named in WEBHOOK_LOOPBACK_PARTNERS: `make run` names `demo-app` (only it, and
only loopback). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_EVENT = "backstreet-boys-almaty"


class StepFailed(Exception):
    pass


# --- signatures: what a partner writes, with nothing but the standard library ---


def kassa_signature(body: bytes, secret: str, *, now: int | None = None) -> str:
    """`Kassa-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""
    ts = int(time.time()) if now is None else now
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={ts},v1={mac}"


def kassa_signature_ok(header: str, body: bytes, secret: str, tolerance: int = 300) -> bool:
    """Verify a webhook's Kassa-Signature on the raw body (any `v1=` may match:
    two while kassa rotates the endpoint's secret); refuse a `t` too old."""
    parts = [p.strip().partition("=") for p in header.split(",")]
    ts = next((int(v) for k, _, v in parts if k == "t" and v.isdigit()), None)
    macs = [v for k, _, v in parts if k == "v1"]
    if ts is None or not macs or abs(time.time() - ts) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, mac) for mac in macs)


# --- the webhook receiver --------------------------------------------------------


class Receiver:
    """A partner's webhook endpoint: records each POST (raw body and headers),
    answers 200, and dedupes on Kassa-Event-Id as a partner must."""

    def __init__(self) -> None:
        self.events: list[tuple[dict, bytes, dict]] = []
        self.seen: set[str] = set()
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                with receiver.arrived:
                    event_id = headers.get("kassa-event-id", "")
                    if event_id not in receiver.seen:
                        receiver.seen.add(event_id)
                        receiver.events.append((json.loads(raw or b"{}"), raw, headers))
                    receiver.arrived.notify_all()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kassa/webhooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, event_type: str, order_id: int, timeout: float) -> tuple[dict, bytes, dict]:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for body, raw, headers in self.events:
                    order = body.get("data", {}).get("order", {})
                    if body.get("type") == event_type and order.get("id") == order_id:
                        return body, raw, headers
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StepFailed(f"no {event_type} webhook for order {order_id} in {timeout} s")
                self.arrived.wait(left)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the API ------------------------------------------------------------------


class Api:
    def __init__(self, site: str, key: str) -> None:
        self.base = site.rstrip("/") + "/api/v1/"
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        *,
        headers: dict | None = None,
        raw: bytes | None = None,
        expect: tuple[int, ...] = (200, 201),
    ) -> tuple[int, dict]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        url = self.base + path  # http(s) only: --site is checked in main
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Api-Key {self.key}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our site)
                status, text = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
        answer = json.loads(text) if text else {}
        if status not in expect:
            error = answer.get("error", answer)
            raise StepFailed(f"{method} {path} answered {status}: {error}")
        return status, answer


def say(step: str, message: str) -> None:
    print(f"[partner] {step}: {message}", flush=True)


def sell(site: str, creds: dict, *, event: str = DEMO_EVENT, timeout: float = 240) -> dict:
    """The whole flow for one new customer; returns the tickets."""
    api = Api(site, creds["api_key"])
    buyer_ref = "customer-" + uuid.uuid4().hex[:12]  # the partner's own customer id
    receiver = Receiver()
    endpoint_id = None
    try:
        _, endpoint = api.call(
            "POST",
            "webhooks/endpoints/",
            {"url": receiver.url, "events": ["order.paid", "queue.admitted"]},
        )
        endpoint_id, whsec = endpoint["id"], endpoint["secret"]
        say("webhooks", f"endpoint {endpoint_id} at {receiver.url} (secret shown once)")

        _, joined = api.call("POST", f"events/{event}/queue/join/", {"buyer_ref": buyer_ref})
        say("join", f"{buyer_ref}: state {joined['state']}, position {joined.get('position')}")
        queue_pass = wait_for_pass(api, joined["token"], timeout)
        say("pass", "admitted; the pass goes into X-Queue-Pass")

        _, hold = api.call(
            "POST",
            "holds/",
            {"event": event, "best_available": {"quantity": 2}, "buyer_ref": buyer_ref},
            headers={"X-Queue-Pass": queue_pass, "Idempotency-Key": str(uuid.uuid4())},
        )
        say("hold", f"{hold['id']}: {hold['total']} {hold['currency']} until {hold['expires_at']}")

        _, order = api.call(
            "POST",
            "orders/",
            {"hold": hold["id"], "buyer_ref": buyer_ref, "email": "buyer@example.kz", "name": "D"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        say("order", f"{order['id']} ({order['code']}): {order['status']}")

        _, payment = api.call(
            "POST",
            f"orders/{order['id']}/payments/",
            {"provider": "on_account"},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        reference = "bank-tx-" + uuid.uuid4().hex[:10]  # the bank's own transaction id
        raw = json.dumps(
            {"amount": order["total"], "currency": order["currency"], "reference": reference}
        ).encode()
        _, confirmed = api.call(
            "POST",
            f"orders/{order['id']}/payments/{payment['payment_id']}/confirm/",
            raw=raw,
            headers={"Kassa-Signature": kassa_signature(raw, creds["on_account_secret"])},
        )
        say("pay", f"confirmed on account ({reference}): {confirmed}")
        if confirmed.get("order_status") != "paid":
            raise StepFailed(f"the confirmed order is not paid: {confirmed}")

        body, raw_hook, headers = receiver.wait("order.paid", order["id"], timeout=60)
        if not kassa_signature_ok(headers.get("kassa-signature", ""), raw_hook, whsec):
            raise StepFailed(f"the order.paid webhook's signature does not verify: {headers}")
        say("webhook", f"order.paid {body['id']} received, signature verified")

        _, tickets = api.call("GET", f"orders/{order['id']}/tickets/")
        items = tickets if isinstance(tickets, list) else tickets.get("tickets", tickets)
        say("tickets", json.dumps(items, ensure_ascii=False)[:400])
        if not items:
            raise StepFailed("a paid order without tickets")
        return {"order": order, "tickets": items}
    finally:
        if endpoint_id is not None:
            # An endpoint on a port nobody listens on any more would be retried for a day.
            api.call("DELETE", f"webhooks/endpoints/{endpoint_id}/", expect=(200, 204, 404))
        receiver.close()


def wait_for_pass(api: Api, token: str, timeout: float) -> str:
    """Poll the visitor's own status (X-Queue-Token) until it carries a pass.
    A real app polls the public state (cacheable) and this only when its
    number comes up, or waits for the `queue.admitted` webhook."""
    deadline = time.monotonic() + timeout
    delay = 1.0
    while time.monotonic() < deadline:
        _, status = api.call("GET", "queue/status/", headers={"X-Queue-Token": token})
        if status.get("pass"):
            return status["pass"]
        if status["state"] in ("closed", "sold_out", "expired"):
            raise StepFailed(f"the waiting room says {status['state']}")
        token = status.get("token", token)
        time.sleep(delay)
        delay = min(delay * 1.5, 5)
    raise StepFailed(f"not admitted within {timeout} s")


def credentials(path: Path | None) -> dict:
    data_dir = Path(os.environ.get("KASSA_DATA_DIR", ROOT / ".data"))
    path = path or data_dir / "demo-partner.json"
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise StepFailed(f"{path}: {exc.strerror}; `make run` writes it for its demo") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", help="kassa's URL (default: the one in the credentials file)")
    parser.add_argument("--make-run", type=int, metavar="PORT", help="boot `make run` on PORT")
    parser.add_argument("--credentials", type=Path, help="default: <data dir>/demo-partner.json")
    parser.add_argument("--event", default=DEMO_EVENT)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--log", type=Path, default=ROOT / ".artifacts" / "partner-example.log")
    args = parser.parse_args(argv)
    try:
        if args.make_run is not None:
            sys.path.insert(0, str(ROOT / "scripts"))
            from smoke_purchase import SmokeFailed, with_make_run

            def work(base: str) -> None:
                sell(base, credentials(args.credentials), event=args.event, timeout=args.timeout)

            try:
                with_make_run(
                    args.make_run, event=args.event, boot_timeout=600, timeout=args.timeout,
                    log_path=args.log, work=work,
                )  # fmt: skip
            except SmokeFailed as exc:
                raise StepFailed(str(exc)) from None
        else:
            creds = credentials(args.credentials)
            site = args.site or creds["site_url"]
            if not site.startswith(("http://", "https://")):
                raise StepFailed(f"--site must be an http(s) URL, not {site!r}")
            sell(site, creds, event=args.event, timeout=args.timeout)
    except StepFailed as exc:
        print(f"[partner] FAILED: {exc}", file=sys.stderr, flush=True)
        if args.make_run is not None and args.log.exists():
            tail = args.log.read_text(errors="replace").splitlines()[-40:]
            print("[partner] last lines of make run:\n  " + "\n  ".join(tail), file=sys.stderr)
        return 1
    print("[partner] OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
