"""Pure geometry of venue layout specs (no database): see events/layouts/README.md.

`layout_plan(spec)` validates a spec and returns every section with its map
polygon and, for seated sections, every seat with x/y and a quality rank.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from events.exceptions import LayoutSpecInvalid

ARC_STEPS = 12
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")  # polygon points per arc edge: smooth enough at map scale


@dataclass
class SeatPlan:
    row_index: int
    row_label: str
    number: int
    x: float
    y: float
    quality_rank: int = 0


@dataclass
class SectionPlan:
    code: str
    name: str
    kind: str
    tier_key: str
    sort_order: int
    capacity: int | None
    geometry: dict[str, Any]
    seats: list[SeatPlan] = field(default_factory=list)
    # The name in the other site languages ("" = show `name`, the Russian one).
    name_kk: str = ""
    name_en: str = ""


def _num(sec: dict, key: str, errors: dict, *, minimum: float | None = None) -> float:
    value = sec.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.setdefault(key, []).append("must be a number")
        return 0
    if minimum is not None and value < minimum:
        errors.setdefault(key, []).append(f"must be at least {minimum}")
    return value


def _point(sec: dict, key: str, errors: dict) -> tuple[float, float]:
    value = sec.get(key)
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        errors.setdefault(key, []).append("must be [x, y]")
        return 0.0, 0.0
    return float(value[0]), float(value[1])


def _row_counts(sec: dict, errors: dict) -> list[int]:
    rows = int(_num(sec, "rows", errors, minimum=1))
    first = int(_num(sec, "seats_per_row", errors, minimum=1))
    step = sec.get("seats_per_row_step", 0)
    if isinstance(step, bool) or not isinstance(step, int):
        errors.setdefault("seats_per_row_step", []).append("must be an integer")
        step = 0
    counts = [first + step * r for r in range(rows)]
    if counts and min(counts) < 1:
        errors.setdefault("seats_per_row_step", []).append("leaves a row without seats")
    return counts


def _arc(sec: dict, errors: dict) -> tuple[list[SeatPlan], dict]:
    cx, cy = _point(sec, "centre", errors)
    r0 = _num(sec, "inner_radius", errors, minimum=0)
    depth = _num(sec, "row_depth", errors, minimum=0.1)
    a0 = math.radians(_num(sec, "start_angle", errors))
    a1 = math.radians(_num(sec, "end_angle", errors))
    if a1 <= a0:
        errors.setdefault("end_angle", []).append("must be greater than start_angle")
    counts = _row_counts(sec, errors)
    if errors:
        return [], {}
    seats = []
    for r, n in enumerate(counts):
        radius = r0 + r * depth
        for s in range(n):
            t = a0 + (a1 - a0) * (s + 0.5) / n
            seats.append(
                SeatPlan(r, str(r + 1), s + 1, cx + radius * math.cos(t), cy + radius * math.sin(t))
            )
    inner, outer = r0 - depth / 2, r0 + (len(counts) - 0.5) * depth
    angles = [a0 + (a1 - a0) * i / ARC_STEPS for i in range(ARC_STEPS + 1)]
    points = [(cx + outer * math.cos(a), cy + outer * math.sin(a)) for a in angles]
    inner = max(inner, 0)
    points += [(cx + inner * math.cos(a), cy + inner * math.sin(a)) for a in reversed(angles)]
    mid, mid_r = (a0 + a1) / 2, (inner + outer) / 2
    label = (cx + mid_r * math.cos(mid), cy + mid_r * math.sin(mid))
    return seats, {"points": points, "label": label}


def _grid(sec: dict, errors: dict) -> tuple[list[SeatPlan], dict]:
    ox, oy = _point(sec, "origin", errors)
    dx, dy = _point(sec, "spacing", errors)
    if not errors and (dx <= 0 or dy <= 0):
        errors.setdefault("spacing", []).append("must be positive")
    rot = math.radians(_num(sec, "rotation", errors)) if "rotation" in sec else 0.0
    counts = _row_counts(sec, errors)
    if errors:
        return [], {}
    cos, sin = math.cos(rot), math.sin(rot)

    def place(u: float, v: float) -> tuple[float, float]:
        return ox + u * cos - v * sin, oy + u * sin + v * cos

    seats = []
    for r, n in enumerate(counts):
        for s in range(n):
            seats.append(SeatPlan(r, str(r + 1), s + 1, *place(s * dx, r * dy)))
    width, height = (max(counts) - 0.5) * dx, (len(counts) - 0.5) * dy
    corners = [(-dx / 2, -dy / 2), (width, -dy / 2), (width, height), (-dx / 2, height)]
    label = place((width - dx / 2) / 2, (height - dy / 2) / 2)
    return seats, {"points": [place(u, v) for u, v in corners], "label": label}


def _standing(sec: dict, errors: dict) -> dict:
    polygon = sec.get("polygon")
    if not isinstance(polygon, list) or len(polygon) < 3:
        errors.setdefault("polygon", []).append("must list at least 3 [x, y] points")
        return {}
    points = [_point({"p": p}, "p", errors) for p in polygon]
    _num(sec, "capacity", errors, minimum=1)
    if errors:
        return {}
    label = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    return {"points": points, "label": label}


def _rounded(geometry: dict) -> dict:
    return {
        "points": [[round(x, 1), round(y, 1)] for x, y in geometry["points"]],
        "label": [round(geometry["label"][0], 1), round(geometry["label"][1], 1)],
    }


def layout_plan(spec: Any) -> tuple[dict, list[SectionPlan]]:
    """Validate `spec` and compute (venue attributes, section plans); raises LayoutSpecInvalid."""
    if not isinstance(spec, dict) or not isinstance(spec.get("venue"), dict):
        raise LayoutSpecInvalid(details={"venue": ["missing"]})
    venue = spec["venue"]
    errors: dict[str, list[str]] = {}
    for key in ("name", "slug"):
        if not isinstance(venue.get(key), str) or not venue[key].strip():
            errors[f"venue.{key}"] = ["required"]
    if isinstance(venue.get("slug"), str) and not SLUG.fullmatch(venue["slug"]):
        errors["venue.slug"] = ["letters, digits, '-' and '_' only (at most 50)"]
    size = venue.get("map") or {"width": 1000, "height": 1000}
    if not isinstance(size, dict):
        size = {}
    for key in ("width", "height"):
        if isinstance(size.get(key), bool) or not isinstance(size.get(key), int) or size[key] < 1:
            errors[f"venue.map.{key}"] = ["must be a positive integer"]
    stage = venue.get("stage") or {}
    stage_errors: dict = {}
    sx, sy, sw, sh = (_num(stage, k, stage_errors) for k in ("x", "y", "w", "h"))
    errors.update({f"venue.stage.{k}": v for k, v in stage_errors.items()})
    sections = spec.get("sections")
    if not isinstance(sections, list) or not sections:
        errors["sections"] = ["must be a non-empty list"]
        sections = []
    plans: list[SectionPlan] = []
    seen: set[str] = set()
    for i, sec in enumerate(sections):
        sec_errors: dict[str, list[str]] = {}
        if not isinstance(sec, dict):
            errors[f"sections[{i}]"] = ["must be an object"]
            continue
        code = sec.get("code")
        if not isinstance(code, str) or not code or len(code) > 20 or code in seen:
            sec_errors["code"] = ["required, unique, at most 20 characters"]
        seen.add(code)
        kind = sec.get("kind", "seated")
        capacity = None
        if kind == "standing":
            seats, geometry = [], _standing(sec, sec_errors)
            capacity = sec.get("capacity")
        elif kind == "seated" and sec.get("layout") == "arc":
            seats, geometry = _arc(sec, sec_errors)
        elif kind == "seated" and sec.get("layout") == "grid":
            seats, geometry = _grid(sec, sec_errors)
        else:
            seats, geometry = [], {}
            sec_errors["layout"] = ["must be 'arc' or 'grid' (or kind 'standing')"]
        tier = sec.get("tier", "")
        if not isinstance(tier, str) or len(tier) > 30:
            sec_errors["tier"] = ["must be a tier key (at most 30 characters)"]
        for key, messages in sec_errors.items():
            errors[f"sections[{i}].{key}"] = messages
        if not sec_errors:
            plans.append(
                SectionPlan(
                    code=code,
                    name=str(sec.get("name") or code)[:100],
                    name_kk=str(sec.get("name_kk") or "")[:100],
                    name_en=str(sec.get("name_en") or "")[:100],
                    kind=kind,
                    tier_key=tier,
                    sort_order=i,
                    capacity=capacity,
                    geometry=_rounded(geometry),
                    seats=seats,
                )
            )
    if errors:
        raise LayoutSpecInvalid(details=errors)
    _rank(plans, (sx + sw / 2, sy + sh / 2))
    return venue, plans


def _rank(plans: list[SectionPlan], stage_centre: tuple[float, float]) -> None:
    """Quality rank 1..N over the venue's seats: nearest the stage centre is 1."""
    sx, sy = stage_centre
    everything = [
        (math.hypot(seat.x - sx, seat.y - sy), plan.sort_order, seat.row_index, seat.number, seat)
        for plan in plans
        for seat in plan.seats
    ]
    everything.sort(key=lambda item: item[:4])
    for rank, item in enumerate(everything, start=1):
        seat = item[4]
        seat.quality_rank = rank
        seat.x, seat.y = round(seat.x, 2), round(seat.y, 2)


def spec_scaled(spec: dict, *, places: int) -> dict:
    """A copy of `spec` shrunk (or grown) to about `places` places, same shape.

    Rows and seats per row each scale by sqrt(factor); standing capacity by factor.
    """
    total = spec_places(spec)
    factor = places / total
    side = math.sqrt(factor)
    scaled = {**spec, "sections": []}
    for sec in spec["sections"]:
        sec = dict(sec)
        if sec.get("kind") == "standing":
            sec["capacity"] = max(1, round(sec["capacity"] * factor))
        else:
            rows, step = sec["rows"], sec.get("seats_per_row_step", 0)
            target = sum(sec["seats_per_row"] + step * r for r in range(rows)) * factor
            sec["rows"] = max(1, round(rows * side))
            sec["seats_per_row_step"] = round(step * side)
            growth = sec["seats_per_row_step"] * sec["rows"] * (sec["rows"] - 1) / 2
            sec["seats_per_row"] = max(1, round((target - growth) / sec["rows"]))
            if sec.get("layout") == "arc":
                # Keep the bowl's outer edge where it was.
                sec["row_depth"] = sec["row_depth"] * rows / sec["rows"]
        scaled["sections"].append(sec)
    return scaled


def spec_places(spec: dict) -> int:
    """Places a spec describes: seats plus standing capacity."""
    total = 0
    for sec in spec["sections"]:
        if sec.get("kind") == "standing":
            total += sec["capacity"]
        else:
            step = sec.get("seats_per_row_step", 0)
            total += sum(sec["seats_per_row"] + step * r for r in range(sec["rows"]))
    return total
