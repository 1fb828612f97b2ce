#!/usr/bin/env python3
"""Buy tickets on a running kassa the way a person without JavaScript does.

    python scripts/smoke_purchase.py http://127.0.0.1:8201   # against a running site
    python scripts/smoke_purchase.py --make-run 8201          # boot `make run`, buy, stop

Only the site's own pages, links and forms, with one cookie-keeping client:
home page -> event page -> waiting room (join, wait for the pass) -> best
available -> checkout contact form -> pay page -> sandbox gateway card form
(4400 4300 0000 0001) -> return page -> the order page with paid tickets and
their QR images. Each wait is bounded; any failure exits 1 naming the step.

`--make-run PORT` starts `make run` with PORT set and SITE_URL unset (the
payment callbacks must find the port by themselves), waits for /readyz,
checks the start-up banner names the port, buys, then stops it with SIGINT
(as Ctrl-C does) and checks that every process it started has exited.
Standard library only: CI runs it right after `make test`.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_EVENT = "backstreet-boys-almaty"
CARD = "4400 4300 0000 0001"


class SmokeFailed(Exception):
    pass


class Page:
    def __init__(self, url: str, status: int, body: str) -> None:
        self.url, self.status, self.body = url, status, body

    def excerpt(self) -> str:
        text = re.sub(r"<script.*?</script>|<style.*?</style>", " ", self.body, flags=re.S)
        text = re.sub(r"<[^>]+>", " ", text)
        return " ".join(text.split())[:600]


class _Html(HTMLParser):
    """Forms (action, fields) and links of a page, as a browser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.links: list[str] = []
        self.images: list[str] = []
        self.refresh: float | None = None
        self._select: str | None = None
        self._first_option = False

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "img" and a.get("src"):
            self.images.append(a["src"])
        elif tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            self.refresh = float((a.get("content") or "5").split(";")[0] or 5)
        elif tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
        elif self.forms and tag == "input" and a.get("name"):
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif self.forms and tag == "select" and a.get("name"):
            self._select = a["name"]
            self._first_option = True
        elif self.forms and tag == "option" and self._select:
            # A select sends its selected option, else its first one.
            if self._first_option or "selected" in a:
                self.forms[-1]["fields"][self._select] = a.get("value", "")
            self._first_option = False

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def parse(page: Page) -> _Html:
    html = _Html()
    html.feed(page.body)
    return html


class Browser:
    """One visitor: a cookie jar, redirects followed, every request time-bounded."""

    def __init__(self, base: str, *, language: str = "en") -> None:
        self.base = base.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.addheaders = [("Accept-Language", language), ("User-Agent", "kassa-smoke")]

    def open(self, url: str, data: dict | None = None) -> Page:
        url = urllib.parse.urljoin(self.base + "/", url)
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, body, timeout=30) as response:
                return Page(response.geturl(), response.status, response.read().decode())
        except urllib.error.HTTPError as exc:
            return Page(exc.geturl(), exc.code, exc.read().decode(errors="replace"))
        except OSError as exc:
            raise SmokeFailed(f"{url}: no answer ({exc})") from exc

    def submit(self, page: Page, *, having: str, to_itself: bool = False, **values: str) -> Page:
        """Send the form of `page` that has the field `having` (and, with
        `to_itself`, no action: it posts to the page), filled with `values`."""
        forms = [
            f
            for f in parse(page).forms
            if having in f["fields"] and not (to_itself and f["action"])
        ]
        if not forms:
            raise SmokeFailed(
                f"{page.url}: no form with a {having!r} field; page: {page.excerpt()}"
            )
        form = forms[0]
        action = urllib.parse.urljoin(page.url, form["action"] or page.url)
        return self.open(action, {**form["fields"], **values})


def expect(page: Page, step: str, *, status: int = 200, path: str | None = None) -> Page:
    where = urllib.parse.urlsplit(page.url).path
    if page.status != status or (path is not None and not re.fullmatch(path, where)):
        raise SmokeFailed(
            f"{step}: expected {status} at {path or 'any path'}, got {page.status} at {page.url}"
            f"\n  page: {page.excerpt()}"
        )
    return page


def wait_for(step: str, deadline: float, poll, *, every: float = 2.0):
    """Call poll() until it returns something, at most until `deadline`."""
    while True:
        result = poll()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise SmokeFailed(f"{step}: still not there after the time allowed")
        time.sleep(every)


def purchase(base: str, *, event: str = DEMO_EVENT, quantity: int = 2, timeout: float = 240):
    """Buy `quantity` best-available tickets for `event`; returns the order page URL."""
    deadline = time.monotonic() + timeout
    started = time.monotonic()
    visitor = Browser(base)

    def say(message: str) -> None:
        print(f"[smoke] {time.monotonic() - started:6.1f} s  {message}", flush=True)

    home = expect(visitor.open("/"), "home page")
    event_url = f"/e/{event}/"
    if event_url not in parse(home).links:
        raise SmokeFailed(f"home page: no link to {event_url}; page: {home.excerpt()}")
    say(f"home page links to {event_url}")
    event_page = expect(visitor.open(event_url), "event page")
    queue_links = [link for link in parse(event_page).links if link.endswith("/queue/")]
    if not queue_links:
        raise SmokeFailed(f"event page: no link to the waiting room; page: {event_page.excerpt()}")
    queue = expect(visitor.open(queue_links[0]), "waiting room page")
    # The join form posts to the page itself (the language switcher has a token too).
    join = visitor.submit(queue, having="csrfmiddlewaretoken", to_itself=True)
    joined = expect(join, "join the waiting room")
    say("joined the waiting room")

    def admitted():
        page = expect(visitor.open(joined.url), "waiting room status")
        if 'data-state="admitted"' in page.body:
            return page
        return None

    turn = wait_for("waiting for the pass", deadline, admitted)
    tickets_link = [link for link in parse(turn).links if link.rstrip("/").endswith(event)]
    if not tickets_link:
        raise SmokeFailed(f"admitted, but no link back to the tickets; page: {turn.excerpt()}")
    say("admitted: the queue page hands out the pass")
    shop = expect(visitor.open(tickets_link[0]), "event page with the pass")
    checkout = expect(
        visitor.submit(shop, having="best_quantity", best_quantity=str(quantity)),
        "hold the best available seats",
        path=r"/checkout/[0-9a-f-]+/",
    )
    say(f"holding {quantity} seats: {checkout.url}")
    pay = expect(
        visitor.submit(
            checkout, having="email", email="smoke@example.kz", name="Smoke Test", phone=""
        ),
        "checkout contact form",
        path=r"/orders/[A-Z0-9]+/pay/",
    )
    say(f"order created, pay page: {pay.url}")
    gateway = expect(
        visitor.submit(pay, having="t"), "pay page", path=r"/sandbox-gateway/pay/[0-9a-f-]+/"
    )
    back = visitor.submit(
        gateway, having="card_number", card_number=CARD, exp_month="12", exp_year="2099",
        cvc="123", holder="SMOKE TEST",
    )  # fmt: skip
    expect(back, "sandbox gateway card form", path=r"/orders/[A-Z0-9]+/(return/)?")
    say(f"card accepted, back on {urllib.parse.urlsplit(back.url).path}")

    def paid():
        page = expect(visitor.open(back.url), "return page")
        if 'data-status="paid"' in page.body:
            return page
        if 'data-state="waiting"' not in page.body:
            raise SmokeFailed(f"the payment did not go through; page: {page.excerpt()}")
        return None  # the return page refreshes itself until the callback lands

    order = wait_for("waiting for the payment callback", deadline, paid)
    codes = re.findall(r'data-ticket="([^"]+)"', order.body)
    if len(codes) != quantity:
        raise SmokeFailed(f"order page: {len(codes)} tickets, expected {quantity}")
    qr_images = [src for src in parse(order).images if "/tickets/" in src]
    if len(qr_images) != quantity:
        raise SmokeFailed(f"order page: {len(qr_images)} QR images, expected {quantity}")
    for src in qr_images:
        image = expect(visitor.open(urllib.parse.urljoin(order.url, src)), "QR image")
        if not image.body.lstrip().startswith("<svg"):
            raise SmokeFailed(f"QR image {src} is not an SVG")
    say(f"paid: {quantity} tickets with QR codes on {urllib.parse.urlsplit(order.url).path}")
    return order.url


# --- `make run` around it -----------------------------------------------------


def _process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, start time) of every process, from /proc (Linux)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z":  # a zombie has exited already
            table[int(entry)] = (int(fields[1]), fields[19])
    return table


def descendants(root: int) -> dict[int, str]:
    """Every live process under `root` (pid -> start time), whatever its session."""
    table = _process_table()
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in table.items():
            if ppid == parent and pid not in found:
                found[pid] = started
                frontier.append(pid)
    return found


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return "?"


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own site
            return response.status == 200
    except OSError:
        return False


def with_make_run(
    port: int,
    *,
    event: str,
    boot_timeout: float,
    timeout: float,
    log_path: Path,
    work: Callable[[str], object] | None = None,
) -> None:
    """Boot `make run` on `port`, run `work(base URL)` (default: the purchase
    through the pages), Ctrl-C it and check every process it started stopped.
    examples/partner_client.py --make-run passes its own work."""
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "MAKEFLAGS", "MFLAGS")}
    env["PORT"] = str(port)
    base = f"http://127.0.0.1:{port}"
    if _ready(f"{base}/readyz"):
        raise SmokeFailed(f"something already answers on port {port}; choose another SMOKE_PORT")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("w")
    print(f"[smoke] make run with PORT={port}, SITE_URL unset; its output: {log_path}", flush=True)
    # Its own process group, so the SIGINT below reaches make and the launcher
    # together, as Ctrl-C in a terminal does.
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    children: dict[int, str] = {}
    try:
        deadline = time.monotonic() + boot_timeout
        while not _ready(f"{base}/readyz"):
            if make.poll() is not None:
                raise SmokeFailed(f"make run exited with {make.returncode} before it was ready")
            if time.monotonic() > deadline:
                raise SmokeFailed(f"{base}/readyz did not answer within {boot_timeout:.0f} s")
            time.sleep(1)
        banner = f"site      {base}/"
        wait_for(
            "the start-up banner naming the port",
            time.monotonic() + 30,
            lambda: True if banner in log_path.read_text(errors="replace") else None,
            every=0.5,
        )
        print(f"[smoke] ready; the banner says {banner.split()[-1]}", flush=True)
        if work is None:
            purchase(base, event=event, timeout=timeout)
        else:
            work(base)
        children = descendants(make.pid)
    finally:
        children = children or descendants(make.pid)
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGINT)
        try:
            make.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
        log.close()
    table = _process_table()
    left = [pid for pid, started in children.items() if table.get(pid, (0, ""))[1] == started]
    if left:
        names = "; ".join(f"{pid} {_command(pid)}" for pid in left)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        raise SmokeFailed(f"after Ctrl-C these processes of make run were still running: {names}")
    print(f"[smoke] Ctrl-C stopped make run and all {len(children)} of its processes", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", nargs="?", help="a running site, e.g. http://127.0.0.1:8201")
    parser.add_argument("--make-run", type=int, metavar="PORT", help="boot `make run` on PORT")
    parser.add_argument("--event", default=DEMO_EVENT, help="event slug (default: the demo)")
    parser.add_argument("--timeout", type=float, default=240, help="seconds for the purchase")
    parser.add_argument("--boot-timeout", type=float, default=600, help="seconds to get ready")
    parser.add_argument("--log", type=Path, default=ROOT / ".artifacts" / "smoke-run.log")
    args = parser.parse_args(argv)
    if (args.base_url is None) == (args.make_run is None):
        parser.error("give either a site URL or --make-run PORT")
    try:
        if args.make_run is not None:
            with_make_run(
                args.make_run, event=args.event, boot_timeout=args.boot_timeout,
                timeout=args.timeout, log_path=args.log,
            )  # fmt: skip
        else:
            purchase(args.base_url, event=args.event, timeout=args.timeout)
    except SmokeFailed as exc:
        print(f"[smoke] FAILED: {exc}", file=sys.stderr, flush=True)
        if args.make_run is not None and args.log.exists():
            tail = args.log.read_text(errors="replace").splitlines()[-40:]
            print("[smoke] last lines of make run:\n  " + "\n  ".join(tail), file=sys.stderr)
        return 1
    print("[smoke] OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
