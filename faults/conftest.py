"""Fixtures of the fault suite: one stack of its own, and the table it prints."""

from __future__ import annotations

import json

import pytest

from faults.stack import ARTIFACTS, FaultStack, stack_start, stack_stop

COLUMNS = [
    ("fault", 28), ("requests", 8), ("5xx", 4), ("5xx_outside", 11), ("accepted", 8),
    ("paid", 5), ("refunded", 8), ("lost", 4), ("oversold", 8), ("over_limit", 10),
    ("revived", 7), ("fault_s", 7), ("recovery_s", 10),
]  # fmt: skip
TABLE_KEY = pytest.StashKey[list]()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """In a whole-suite run the faults go after the unit tests and before the
    journeys (whose stack lives until the session ends): they boot their own
    stack and stop it when they are done."""
    faults = [item for item in items if item.get_closest_marker("faults")]
    if not faults or len(faults) == len(items):
        return
    journeys = [item for item in items if item.get_closest_marker("journey")]
    others = [item for item in items if item not in faults and item not in journeys]
    items[:] = others + faults + journeys


@pytest.fixture(scope="module")
def fault_stack() -> FaultStack:
    running = stack_start()
    yield running
    problems = stack_stop(running)
    assert not problems, "; ".join(problems) + f" (log: {running.log_path})"


@pytest.fixture(scope="module")
def fault_table(request) -> list[dict]:
    rows: list[dict] = []
    request.config.stash[TABLE_KEY] = rows
    yield rows
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "table.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
    (ARTIFACTS / "table.txt").write_text("\n".join(table_lines(rows)) + "\n")


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return "-" if value is None else str(value)


def table_lines(rows: list[dict]) -> list[str]:
    lines = [" ".join(name.ljust(width) for name, width in COLUMNS)]
    for row in rows:
        lines.append(" ".join(_cell(row.get(name)).ljust(width) for name, width in COLUMNS))
    return lines


def pytest_terminal_summary(terminalreporter, config):
    rows = config.stash.get(TABLE_KEY, None)
    if rows:
        terminalreporter.write_sep("-", "faults: what happened to the money")
        for line in table_lines(rows):
            terminalreporter.write_line(line)
