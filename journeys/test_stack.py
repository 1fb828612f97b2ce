"""The stack the journeys walk through is the one `make run` starts: on the
port it was given, with its files in its own data directory."""

from __future__ import annotations

import re

import pytest

from journeys.stack import DEVELOPER_FILES

pytestmark = pytest.mark.journey


def test_make_run_prints_urls_on_its_own_port(stack):
    log = stack.log_text()
    assert f"site      {stack.url}/" in log
    # kassa_bootstrap names the demo event by SITE_URL, which must follow PORT.
    demo_lines = re.findall(r"demo event: (\S+)", log)
    assert demo_lines, "kassa_bootstrap printed no demo event URL"
    assert all(url.startswith(stack.url + "/") for url in demo_lines), demo_lines


def test_make_run_keeps_its_files_in_kassa_data_dir(stack):
    """A stack started with KASSA_DATA_DIR writes the staff login and the demo
    partner key there, never over a developer's .data/ files."""
    assert stack.developer_files_written == [], (
        f"kassa_bootstrap wrote {stack.developer_files_written} under .data/ "
        f"instead of KASSA_DATA_DIR ({stack.data_dir}); the journey fixture put them back"
    )
    for name in DEVELOPER_FILES:
        assert (stack.data_dir / name).exists(), f"{name} is missing from KASSA_DATA_DIR"
