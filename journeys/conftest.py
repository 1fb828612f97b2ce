"""Fixtures of the journey suite: one real stack per session, a fresh browser
context per journey."""

from __future__ import annotations

import pytest

from journeys.journey import DESKTOP, PHONE, Journey
from journeys.stack import Stack, stack_start, stack_stop


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Journeys run last in a whole-suite run: the stack they share boots for
    them and is stopped at the end of the session, right after them."""
    journeys = [item for item in items if item.get_closest_marker("journey")]
    if journeys and len(journeys) < len(items):
        others = [item for item in items if not item.get_closest_marker("journey")]
        items[:] = others + journeys


def pytest_configure(config):
    config.addinivalue_line("markers", "browser_locale(locale): the journey's browser language")


@pytest.fixture(scope="session")
def stack(tmp_path_factory, request) -> Stack:
    """`make run`'s stack on its own port, database, Redis db and data dir."""
    running = stack_start(tmp_path_factory.mktemp("kassa-data"))
    request.config.stash[BOOT_KEY] = running.boot_seconds
    yield running
    problems = stack_stop(running)
    assert not problems, "; ".join(problems) + f" (log: {running.log_path})"


BOOT_KEY = pytest.StashKey[float]()


def pytest_terminal_summary(terminalreporter, config):
    seconds = config.stash.get(BOOT_KEY, None)
    if seconds is not None:
        terminalreporter.write_line(f"journeys: the stack booted in {seconds:.1f} s")


@pytest.fixture
def unique_email(request) -> str:
    """Limits count the e-mail: every journey buys as a new person."""
    import secrets

    return f"{request.node.name.replace('_', '-')[:30]}-{secrets.token_hex(3)}@example.com"


def _journey(browser, stack, request, device: dict):
    # A journey may ask for another browser language: @pytest.mark.browser_locale("en-US").
    marker = request.node.get_closest_marker("browser_locale")
    locale = marker.args[0] if marker else "ru-RU"
    context = browser.new_context(
        **device, locale=locale, timezone_id="Asia/Almaty", base_url=stack.url
    )
    journey = Journey(
        name=request.node.name.removeprefix("test_"), stack=stack, page=context.new_page()
    )
    yield journey
    context.close()
    # A journey stopped by a hard failure still tells what else it saw on the way.
    if journey.problems:
        (journey.folder / "problems.txt").write_text("\n".join(journey.problems) + "\n")
        print(f"{journey.name}: problems seen on the way:\n  " + "\n  ".join(journey.problems))


@pytest.fixture
def desktop(browser, stack, request):
    """A person at a 1280x900 desktop browser, first visit (Russian browser)."""
    yield from _journey(browser, stack, request, DESKTOP)


@pytest.fixture
def phone(browser, stack, request):
    """A person on a 390x844 touch phone, first visit (Russian browser)."""
    yield from _journey(browser, stack, request, PHONE)
