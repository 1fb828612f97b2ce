"""Values shared by accounts' tests (fixtures are in conftest.py)."""

from __future__ import annotations

# The buyer's phone the fixtures send codes to unless told otherwise.
PHONE = "+77012345678"
