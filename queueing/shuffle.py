"""The verifiable pre-queue shuffle.

Published before the pre-queue opens: commitment = sha256(seed) (hex of the
UTF-8 seed string). At sale opening every pre-queue visitor is known by a
public pseudonym p = sha256(visitor key) (hex), and the numbers base+1,
base+2, ... are given in ascending order of sha256(seed || p) (hex of the
UTF-8 concatenation). Then the seed is revealed together with the list of
(p, number): anyone can recompute the order; nobody (staff included) could
choose it after seeing who joined, and arrival time plays no part.
"""

from __future__ import annotations

import hashlib


def commitment(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def pseudonym(visitor: str) -> str:
    return hashlib.sha256(visitor.encode()).hexdigest()


def order(seed: str, pseudonyms: list[str]) -> list[str]:
    """The pseudonyms in shuffled order (the documented permutation)."""
    return sorted(pseudonyms, key=lambda p: hashlib.sha256((seed + p).encode()).hexdigest())


def verify(export: dict, seed: str) -> tuple[bool, str]:
    """Recompute the order from published data; (ok, explanation)."""
    if commitment(seed) != export.get("commitment"):
        return False, "sha256(seed) does not match the published commitment"
    pairs = export.get("order", [])
    base = int(export.get("base", 0))
    expected = {p: base + i for i, p in enumerate(order(seed, [p for p, _ in pairs]), start=1)}
    wrong = [p for p, n in pairs if expected[p] != n]
    if wrong:
        return False, f"{len(wrong)} of {len(pairs)} numbers differ from the permutation"
    return True, f"{len(pairs)} pre-queue numbers match the permutation"
