"""Security headers: check --deploy clean, CSP with nonces, frame-ancestors, HSTS, cookies."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from events.models import Section
from orders.models import Hold
from orders.tests.factories import make_event, seat_ids

ROOT = Path(__file__).resolve().parents[2]
# Script types a browser does not run: data blocks need no nonce.
DATA_BLOCKS = {"application/json", "application/ld+json"}


@pytest.fixture
def event(db):
    return make_event()


def production_env(**extra: str) -> dict[str, str]:
    """The environment of a production process: DEBUG off, a real key, HTTPS."""
    # Not the test run's own switches: the browser fixture sets
    # DJANGO_ALLOW_ASYNC_UNSAFE for the session, which no deployment does.
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HSTS_", "FRAME_")) and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "ticketing.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_COOKIES": "true",
            **extra,
        }
    )
    return environ


def deploy_check(environ: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('check', deploy=True, fail_level='WARNING')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, cwd=ROOT, capture_output=True, text=True
    )


def settings_of(environ: dict[str, str], *names: str) -> dict:
    """The values the real settings module derives from this environment."""
    code = (
        "import json; from django.conf import settings\n"
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_settings_pass_the_deploy_checks():
    out = deploy_check(production_env())
    assert out.returncode == 0, out.stderr
    assert "no issues" in out.stdout and "0 silenced" not in out.stdout


def test_deploy_checks_fail_without_https_settings():
    """The check above can fail: plain-HTTP settings leave HSTS and cookies warned about."""
    out = deploy_check(production_env(SECURE_COOKIES="false"))
    assert out.returncode != 0
    for code in ("security.W004", "security.W012", "security.W016"):
        assert code in out.stderr


SECURE_NAMES = (
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "LANGUAGE_COOKIE_SECURE",
)


@pytest.mark.parametrize("secure", [True, False])
def test_hsts_and_secure_cookies_only_with_secure_cookies(secure, db, settings):
    derived = settings_of(production_env(SECURE_COOKIES=str(secure).lower()), *SECURE_NAMES)
    for name, value in derived.items():
        setattr(settings, name, value)
    client = Client()
    response = client.get("/account/signin/", secure=True)
    assert response.status_code == 200
    assert ("Strict-Transport-Security" in response) is secure
    if secure:
        assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert bool(response.cookies["csrftoken"]["secure"]) is secure
    signed_in = Client()
    user = get_user_model().objects.create_user("buyer", password="x")
    signed_in.force_login(user)  # sets the session cookie through the settings
    session = signed_in.cookies[settings.SESSION_COOKIE_NAME]
    assert bool(session["secure"]) is secure
    language = client.post("/i18n/setlang/", {"language": "en", "next": "/"}, secure=True)
    assert bool(language.cookies[settings.LANGUAGE_COOKIE_NAME]["secure"]) is secure


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    parts = (item.strip().split() for item in header.split(";") if item.strip())
    return {p[0]: p[1:] for p in parts}


def nonce_of(response) -> str | None:
    found = [s for s in policy(response)["script-src"] if s.startswith("'nonce-")]
    return found[0][len("'nonce-") : -1] if found else None


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.handlers: list[str] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.handlers += [f"<{tag} {name}=...>" for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            self.scripts.append(dict(attrs))


def assert_csp_clean(response) -> None:
    """No inline handlers; every script is same-origin or carries this response's nonce."""
    found = _Scripts()
    found.feed(response.content.decode())
    assert not found.handlers, found.handlers
    nonce = nonce_of(response)
    for script in found.scripts:
        if script.get("type") in DATA_BLOCKS:
            continue
        if script.get("src"):
            assert re.match(r"^/(?!/)", script["src"]), script
        else:
            assert nonce and script.get("nonce") == nonce, (script, nonce)


def test_the_policy_allows_scripts_from_self_and_the_nonce_only(client, event):
    response = client.get("/")
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no inline script on this page, no nonce
    assert "'unsafe-inline'" not in csp["script-src"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"


def test_buyer_pages_have_no_inline_handlers_and_only_nonced_inline_scripts(client, event):
    seated = Section.objects.get(venue=event.venue, code="A")
    floor = Section.objects.get(venue=event.venue, code="F")
    pages = ["/", f"/e/{event.slug}/", f"/e/{event.slug}/s/{seated.pk}/",
             f"/e/{event.slug}/s/{floor.pk}/", "/account/signin/"]  # fmt: skip
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert_csp_clean(response)
        assert 'src="/static/js/kassa.js"' in response.content.decode()
    client.post(f"/e/{event.slug}/hold/", {"seats": [str(i) for i in seat_ids(event)[:2]]})
    checkout = client.get(f"/checkout/{Hold.objects.get().pk}/")
    assert checkout.status_code == 200
    # The countdown is an inline script: it runs because it carries the header's nonce.
    nonce = nonce_of(checkout)
    assert nonce and f'<script nonce="{nonce}">' in checkout.content.decode()
    assert_csp_clean(checkout)
    # A fresh nonce per response.
    assert nonce_of(client.get(f"/checkout/{Hold.objects.get().pk}/")) != nonce


def test_admin_and_api_answer_with_the_policy(client, db):
    staff = get_user_model().objects.create_superuser("staff", password="x")
    client.force_login(staff)
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert policy(admin)["script-src"] == ["'self'"]
    assert_csp_clean(admin)
    api = client.get("/api/v1/events/")
    assert api.status_code == 200
    assert policy(api)["default-src"] == ["'self'"]
    assert api["X-Content-Type-Options"] == "nosniff"


def test_api_docs_load_their_scripts_from_this_site(client, db):
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    assert_csp_clean(response)
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.content.decode()


PARTNERS = ["https://app.partner.kz", "https://webview.bank.kz"]


def test_frame_ancestors_name_the_partners_when_set(client, db, settings):
    derived = settings_of(
        production_env(FRAME_ANCESTORS=",".join(PARTNERS)), "CONTENT_SECURITY_POLICY"
    )
    assert derived["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["frame-ancestors"] == PARTNERS
    directives = {**settings.CONTENT_SECURITY_POLICY["DIRECTIVES"], "frame-ancestors": PARTNERS}
    with override_settings(
        FRAME_ANCESTORS=PARTNERS, CONTENT_SECURITY_POLICY={"DIRECTIVES": directives}
    ):
        page = client.get("/account/signin/")
        assert policy(page)["frame-ancestors"] == PARTNERS
        # X-Frame-Options cannot name origins: sent, it would refuse the partners.
        assert "X-Frame-Options" not in page
        admin = client.get("/admin/login/")
        assert policy(admin)["frame-ancestors"] == ["'none'"]
        assert admin["X-Frame-Options"] == "DENY"


def test_without_frame_ancestors_nobody_may_frame_the_site(client, db):
    derived = settings_of(production_env(), "CONTENT_SECURITY_POLICY", "FRAME_ANCESTORS")
    assert derived["FRAME_ANCESTORS"] == []
    assert derived["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]["frame-ancestors"] == ["'none'"]
    page = client.get("/account/signin/")
    assert policy(page)["frame-ancestors"] == ["'none'"]
    assert page["X-Frame-Options"] == "DENY"
