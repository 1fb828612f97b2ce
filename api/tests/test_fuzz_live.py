"""Property-based fuzz of the whole API over real HTTP (issue 15): schemathesis
generates valid and invalid requests for every operation in the OpenAPI schema
and sends them to a live server; whatever comes back, never a 5xx.

test_schema.py runs schemathesis in process with the conformance checks; this
run goes through a real socket (headers, bodies and query strings as bytes on
the wire) with only `not_a_server_error`, anonymously and with a partner key,
against real stock (a path's `slug` is the live event's every other example).
Bounded: about a minute on two cores.
"""

from __future__ import annotations

import itertools
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup, ServerError

from api.models import Partner
from api.services import api_key_create
from orders.tests.factories import make_event

pytestmark = pytest.mark.slow

LIVE = hypothesis_settings(
    max_examples=12,
    derandomize=True,  # the same examples on every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


def _fuzz_operation(operation, mode, *, headers: dict, slug: str, alternate) -> int:
    sent = 0

    @LIVE
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        nonlocal sent
        if case.path_parameters and "slug" in case.path_parameters and next(alternate):
            case.path_parameters["slug"] = slug
        if case.headers and "Idempotency-Key" in case.headers:
            case.headers["Idempotency-Key"] = uuid.uuid4().hex  # see test_schema
        case.call_and_validate(headers=headers, checks=[not_a_server_error])
        sent += 1

    try:
        check()
    except Unsatisfiable:
        # Nothing to make invalid in some operations; valid input still ran.
        if mode is not GenerationMode.NEGATIVE:
            raise
    return sent


def _fuzz(live_server, settings, *, only: str = "", key: str | None = None) -> int:
    """Every operation (under `only`), valid and invalid inputs, anonymously
    and with the partner `key`: the number of requests sent."""
    # Every request comes from 127.0.0.1: the per-IP budget would turn the
    # run into a test of the 429 after a few hundred requests.
    settings.API_THROTTLE_ANON = settings.API_THROTTLE_PARTNER = "1000000/min"
    slug = make_event().slug
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if only in op.path]
    alternate = itertools.cycle([True, False])
    sent = 0
    callers = [{}] + ([{"Authorization": f"Api-Key {key}"}] if key else [])
    for headers in callers:
        for operation in operations:
            raw = operation.definition.raw
            modes = [GenerationMode.POSITIVE]
            if raw.get("parameters") or raw.get("requestBody"):
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:
                sent += _fuzz_operation(
                    operation, mode, headers=headers, slug=slug, alternate=alternate
                )
    return sent


def test_no_generated_request_gets_a_5xx_from_a_live_server(live_server, settings):
    partner = Partner.objects.create(slug="fuzz", name="Fuzz")
    _, key = api_key_create(partner=partner, scopes=["catalog", "sell", "checkin"])
    assert _fuzz(live_server, settings, key=key) >= 200  # the run did exercise the API


@pytest.mark.urls("api.tests.urls")
def test_the_live_run_would_catch_a_500(live_server, settings):
    with pytest.raises(FailureGroup) as failure:
        _fuzz(live_server, settings, only="/api/v1/test/")
    assert any(isinstance(exc, ServerError) for exc in failure.value.exceptions)
