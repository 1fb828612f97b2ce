"""INVARIANTS.md names the test behind each of DESIGN.md's invariants; a
rename or a deleted test must not leave it pointing at nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = re.compile(r"`([\w/]+\.py)(?:::(\w+))?`")


def _tests_in(path: Path) -> set[str]:
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    tree = ast.parse(path.read_text())
    return {n.name for n in tree.body if isinstance(n, functions) and n.name.startswith("test_")}


def test_every_invariant_names_tests_that_exist():
    text = (ROOT / "INVARIANTS.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert len(sections) == 7, "one section per invariant of DESIGN.md"
    missing = []
    for section in sections:
        references = REFERENCE.findall(section)
        assert references, f"no test named for: {section.splitlines()[0]}"
        for file, name in references:
            path = ROOT / file
            if not path.exists():
                missing.append(file)
            elif name and name not in _tests_in(path):
                missing.append(f"{file}::{name}")
            elif not name and not _tests_in(path):
                missing.append(f"{file} (no tests)")
    assert missing == []
