"""docs/partners.md and the OpenAPI schema name the same headers and error
codes (with the same statuses), and the guide's verification code verifies
what kassa signs: the guide cannot drift from the API."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from ticketing.signing import stamped_header

GUIDE = Path(settings.BASE_DIR) / "docs" / "partners.md"


def _section(title: str) -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def _first_column(section: str) -> list[list[str]]:
    """The rows of the section's table whose first cell is a `name`."""
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `") and cells:
            rows.append([cells[0].strip("`"), *cells[1:]])
    return rows


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return Client().get("/api/v1/schema/", {"format": "json"}).json()


def test_every_header_the_guide_names_is_described_in_the_schema_and_back(schema):
    guide = [row[0] for row in _first_column(_section("3. Headers"))]
    described = schema["info"]["x-headers"]
    assert guide and sorted(guide) == sorted(described), "guide and schema headers differ"
    for name in guide:
        assert f"`{name}`" in schema["info"]["description"], name
    # The request headers partners send are real parameters (or the security scheme).
    parameters = {
        p["name"]
        for item in schema["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p["in"] == "header"
    }
    assert {"Idempotency-Key", "X-Queue-Token", "X-Queue-Pass", "Kassa-Signature"} <= parameters
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    throttled = schema["paths"]["/api/v1/holds/"]["post"]["responses"]["429"]
    assert "Retry-After" in throttled["headers"]


def test_every_error_code_the_guide_names_is_in_the_schema_with_its_status_and_back(schema):
    rows = _first_column(_section("5. Errors"))
    guide = {code: int(status) for code, status, *_rest in rows}
    catalog = schema["components"]["schemas"]["Error"]["x-error-codes"]
    assert len(guide) == len(rows), "a code is listed twice"
    missing_in_guide = sorted(set(catalog) - set(guide))
    missing_in_schema = sorted(set(guide) - set(catalog))
    assert (missing_in_guide, missing_in_schema) == ([], [])
    assert {code: catalog[code]["status"] for code in guide} == guide
    for code in guide:
        assert f"`{code}`" in schema["components"]["schemas"]["Error"]["description"]


def test_the_guides_verification_code_accepts_kassas_signature_and_refuses_a_forgery():
    [code] = re.findall(r"```python\n(.*?)```", _section("2. The flow, step by step"), re.S)
    namespace: dict = {}
    exec(compile(code, str(GUIDE), "exec"), namespace)  # noqa: S102 - our own docs
    verify = namespace["kassa_signature_ok"]
    body = b'{"id":"e1","type":"order.paid"}'
    header = stamped_header(secrets=["whsec_new", "whsec_old"], body=body)
    assert verify(header, body, "whsec_old") and verify(header, body, "whsec_new")
    assert not verify(header, body + b" ", "whsec_new")
    assert not verify(header, body, "whsec_other")


def test_the_guide_names_every_webhook_type():
    from partners.models import WebhookEventType

    table = _first_column(_section("2. The flow, step by step"))
    assert set(WebhookEventType.values) <= {row[0] for row in table}
