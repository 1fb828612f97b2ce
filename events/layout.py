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
    # Seat.Kind value; `pair` is the index in the section's seats of the seat
    # this one is sold with (a love seat's other half, wheelchair <-> companion).
    kind: str = "standard"
    pair: int | None = None


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
        elif kind == "seated" and sec.get("layout") == "hall":
            seats, geometry = hall_section(sec, sec_errors)
        else:
            seats, geometry = [], {}
            sec_errors["layout"] = ["must be 'arc', 'grid' or 'hall' (or kind 'standing')"]
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
    best = venue.get("best_point")
    if best is not None:
        bx, by = _point(venue, "best_point", stage_errors)
        errors.update({f"venue.{k}": v for k, v in stage_errors.items() if k == "best_point"})
    if errors:
        raise LayoutSpecInvalid(details=errors)
    # Ranks count from the stage centre, or from `best_point` where the best
    # seats are not the nearest (a cinema's are two thirds of the way back).
    _rank(plans, (bx, by) if best is not None else (sx + sw / 2, sy + sh / 2))
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
        elif sec.get("layout") == "hall":
            pass  # drawn seat by seat: a hall keeps its seats
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
        elif sec.get("layout") == "hall":
            total += len(hall_section(dict(sec), {})[0])
        else:
            step = sec.get("seats_per_row_step", 0)
            total += sum(sec["seats_per_row"] + step * r for r in range(sec["rows"]))
    return total


# --- "layout": "hall" — a cinema hall, drawn row by row ----------------------
#
# One line per row, `<label> [<offset>]: <cells>` (events/layouts/README.md):
# each cell a seat of a kind or `_`, an aisle gap one seat wide; an empty line
# is a cross aisle (one row's depth). Or the seats one by one, as a CSV gives
# them: [row, number, x, y, kind, pair_with]. Both end in the same checks of
# the pairs, so a lone love seat or a wheelchair space without its companion
# seat is refused however the hall was described.

HALL_KINDS = {"S": "standard", "V": "vip", "W": "wheelchair", "C": "companion", "L": "love"}
HALL_KIND_LETTERS = {kind: letter for letter, kind in HALL_KINDS.items()}
HALL_GAP = "_"
# Centimetres: a cinema seat is about 55 cm wide, a row about a metre deep.
HALL_SPACING = (55.0, 100.0)
_ROW_LINE = re.compile(
    r"\s*(?P<label>[^\s:+\-_][^\s:]{0,9})\s*(?P<offset>[+-]\s*\d+(?:\.\d+)?)?\s*:(?P<cells>.*)"
)


def _hall_line_errors(errors: dict, index: int, line: int, label: str, message: str) -> None:
    where = f"line {line} (row {label})" if label else f"line {line}"
    errors.setdefault(f"rows[{index}]", []).append(f"{where}: {message}")


def _hall_rows(sec: dict, errors: dict, dx: float, dy: float) -> list[SeatPlan]:
    rows = sec.get("rows")
    if not isinstance(rows, list) or not all(isinstance(r, str) for r in rows):
        errors.setdefault("rows", []).append("must be a list of row lines")
        return []
    curve = sec.get("curve", 0)
    if isinstance(curve, bool) or not isinstance(curve, int | float):
        errors.setdefault("curve", []).append("must be a number")
        curve = 0
    seats: list[SeatPlan] = []
    labels: set[str] = set()
    depth = 0.0  # rows and cross aisles above this line, in row depths
    row_index = 0
    parsed: list[tuple[int, str, float, str, float]] = []
    for i, raw in enumerate(rows):
        line = raw.split("#", 1)[0].strip()
        if not line:
            if parsed:  # a cross aisle; blank lines before the first row are nothing
                depth += 1
            continue
        match = _ROW_LINE.fullmatch(line)
        if not match:
            _hall_line_errors(
                errors, i, i + 1, "", "write it as 'A: SSSS_SSSS' (a row label, ':', the seats)"
            )
            continue
        label = match["label"]
        if label in labels:
            _hall_line_errors(errors, i, i + 1, label, "this row label is used twice")
        labels.add(label)
        cells = "".join(match["cells"].split())
        bad = sorted({ch for ch in cells if ch not in HALL_KINDS and ch != HALL_GAP})
        if bad:
            _hall_line_errors(errors, i, i + 1, label, f"unknown characters {' '.join(bad)!s}: "
                              "use S V W C L for seats and _ for a gap")  # fmt: skip
            continue
        if not cells.strip(HALL_GAP):
            _hall_line_errors(errors, i, i + 1, label, "the row has no seats")
            continue
        offset = float(match["offset"].replace(" ", "")) if match["offset"] else 0.0
        parsed.append((i, label, offset, cells, depth))
        depth += 1
    if not parsed:
        if not errors:
            errors.setdefault("rows", []).append("no rows: write one line per row, 'A: SSSS'")
        return []
    half = max(len(cells) + offset for _, _, offset, cells, _ in parsed) / 2 or 1
    for i, label, offset, cells, row_depth in parsed:
        number = 0
        at: dict[int, int] = {}  # cell position -> index in seats
        for pos, ch in enumerate(cells):
            if ch == HALL_GAP:
                continue
            number += 1
            u = pos + offset
            # The row's ends bend towards the screen by `curve` (cm) at the widest row.
            bend = curve * ((u + 0.5 - half) / half) ** 2
            at[pos] = len(seats)
            seats.append(
                SeatPlan(row_index, label, number, u * dx, row_depth * dy - bend, 0, HALL_KINDS[ch])
            )
        for message in _hall_pair_cells(cells, at, seats):
            _hall_line_errors(errors, i, i + 1, label, message)
        row_index += 1
    return seats


def _hall_pair_cells(cells: str, at: dict[int, int], seats: list[SeatPlan]) -> list[str]:
    """Pair one row's love seats (LL, left to right) and wheelchair spaces
    with the companion seat beside them; the problems, in words."""
    problems = []
    pos = 0
    while pos < len(cells):
        if cells[pos] != "L":
            pos += 1
            continue
        end = pos
        while end < len(cells) and cells[end] == "L":
            end += 1
        for a in range(pos, end - 1, 2):
            seats[at[a]].pair, seats[at[a + 1]].pair = at[a + 1], at[a]
        if (end - pos) % 2:
            problems.append(
                f"a lone love seat (seat {seats[at[end - 1]].number}): love seats come in pairs, LL"
            )
        pos = end
    for pos, ch in enumerate(cells):
        if ch != "W":
            continue
        for near in (pos - 1, pos + 1):
            if 0 <= near < len(cells) and cells[near] == "C" and seats[at[near]].pair is None:
                seats[at[pos]].pair, seats[at[near]].pair = at[near], at[pos]
                break
        else:
            problems.append(
                f"wheelchair space (seat {seats[at[pos]].number}) without a companion seat "
                "C right beside it"
            )
    for pos, ch in enumerate(cells):
        if ch == "C" and seats[at[pos]].pair is None:
            problems.append(
                f"companion seat (seat {seats[at[pos]].number}) without a wheelchair space "
                "W right beside it"
            )
    return problems


def _hall_csv_seats(sec: dict, errors: dict) -> list[SeatPlan]:
    """[row, number, x, y, kind, pair_with] per seat, as hall_csv_rows reads a CSV."""
    raw = sec.get("seats")
    if not isinstance(raw, list) or not raw:
        errors.setdefault("seats", []).append("must be a non-empty list of seats")
        return []
    seats: list[SeatPlan] = []
    where: dict[tuple[str, int], int] = {}  # (row, number) -> index in seats
    wanted: dict[int, tuple[int, int | None]] = {}  # seat index -> (item index, pair number)
    row_order: dict[str, int] = {}

    def fail(i: int, message: str) -> None:
        line = raw[i][6] if isinstance(raw[i], list) and len(raw[i]) > 6 else i + 1
        errors.setdefault(f"seats[{i}]", []).append(f"line {line}: {message}")

    for i, item in enumerate(raw):
        if not isinstance(item, list) or len(item) < 6:
            fail(i, "expected row, number, x, y, kind, pair_with")
            continue
        row, number, x, y, kind, pair = item[:6]
        kind = HALL_KINDS.get(str(kind).strip().upper(), str(kind).strip().lower())
        problems = []
        if not isinstance(row, str) or not row.strip() or len(row.strip()) > 10:
            problems.append("the row label must be 1 to 10 characters")
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            problems.append("the seat number must be a whole number from 1")
        for name, value in (("x", x), ("y", y)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                problems.append(f"{name} must be a number")
        if kind not in HALL_KIND_LETTERS:
            problems.append("kind must be one of S V W C L (or standard, vip, wheelchair, "
                            "companion, love)")  # fmt: skip
        if pair not in (None, "") and (isinstance(pair, bool) or not isinstance(pair, int)):
            problems.append("pair_with must be a seat number of the same row, or empty")
        if problems:
            for message in problems:
                fail(i, message)
            continue
        row = row.strip()
        if (row, number) in where:
            fail(i, f"row {row} seat {number} is listed twice")
            continue
        row_order.setdefault(row, len(row_order))
        where[(row, number)] = len(seats)
        wanted[len(seats)] = (i, pair if pair not in (None, "") else None)
        seats.append(SeatPlan(row_order[row], row, number, float(x), float(y), 0, kind))
    partners = {"love": "love", "wheelchair": "companion", "companion": "wheelchair"}
    for index, (i, pair) in wanted.items():
        seat = seats[index]
        if pair is None:
            if seat.kind in partners:
                fail(i, f"a {seat.kind} seat needs pair_with (love seats come in pairs, a "
                        "wheelchair space with its companion seat)")  # fmt: skip
            continue
        other = where.get((seat.row_label, pair))
        if other is None or other == index:
            fail(i, f"pair_with {pair}: no such other seat in row {seat.row_label}")
        elif partners.get(seat.kind) != seats[other].kind:
            fail(i, f"a {seat.kind} seat cannot be paired with a {seats[other].kind} seat")
        elif wanted[other][1] != seat.number:
            fail(i, f"seat {pair} must name seat {seat.number} as its pair_with too")
        elif abs(pair - seat.number) != 1:
            fail(i, "paired seats must be next to each other (numbers n and n+1)")
        else:
            seat.pair = other
    seats.sort(key=lambda s: (s.row_index, s.number))
    # Re-point the pairs after sorting (they were indexes before it).
    order = {id(s): k for k, s in enumerate(seats)}
    by_old = {where[(s.row_label, s.number)]: s for s in seats}
    for seat in seats:
        if seat.pair is not None:
            seat.pair = order[id(by_old[seat.pair])]
    return seats


def hall_section(sec: dict, errors: dict) -> tuple[list[SeatPlan], dict]:
    """A cinema hall's seats from `rows` (one line per row) or `seats` (a CSV's)."""
    ox, oy = _point(sec, "origin", errors) if "origin" in sec else (0.0, 0.0)
    dx, dy = _point(sec, "spacing", errors) if "spacing" in sec else HALL_SPACING
    if dx <= 0 or dy <= 0:
        errors.setdefault("spacing", []).append("must be positive")
    if ("rows" in sec) == ("seats" in sec):
        errors.setdefault("rows", []).append("give either rows (one line per row) or seats")
    if errors:
        return [], {}
    seats = _hall_rows(sec, errors, dx, dy) if "rows" in sec else _hall_csv_seats(sec, errors)
    if errors or not seats:
        return [], {}
    for seat in seats:
        seat.x, seat.y = seat.x + ox, seat.y + oy
    left, right = min(s.x for s in seats) - dx / 2, max(s.x for s in seats) + dx / 2
    top, bottom = min(s.y for s in seats) - dy / 2, max(s.y for s in seats) + dy / 2
    points = [(left, top), (right, top), (right, bottom), (left, bottom)]
    return seats, {"points": points, "label": ((left + right) / 2, (top + bottom) / 2)}


def hall_csv_rows(text: str) -> list[list]:
    """A hall's seats from CSV text (header row,number,x,y,kind,pair_with) as the
    `seats` of a hall section; raises LayoutSpecInvalid naming the bad lines."""
    import csv
    import io

    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    lines = [(n, row) for n, row in enumerate(reader, start=1) if any(c.strip() for c in row)]
    header = [c.strip().lower() for c in lines[0][1]] if lines else []
    columns = ["row", "number", "x", "y", "kind", "pair_with"]
    if header[:6] != columns:
        raise LayoutSpecInvalid(details={"csv": [f"line 1 must be the header {','.join(columns)}"]})
    errors: dict[str, list[str]] = {}
    seats: list[list] = []
    for n, cells in lines[1:]:
        cells = [c.strip() for c in cells] + [""] * 6
        row, number, x, y, kind, pair = cells[:6]
        try:
            seats.append([row, int(number), float(x), float(y), kind,
                          int(pair) if pair else None, n])  # fmt: skip
        except ValueError:
            errors[f"line {n}"] = [
                f"line {n}: number and pair_with must be whole numbers, x and y numbers"
            ]
    if errors:
        raise LayoutSpecInvalid(details=errors)
    return seats


# A cinema hall's drawing: a margin round the seats, the screen above row 1.
HALL_MARGIN = 100.0
HALL_SCREEN_GAP = 400.0  # from the screen to row 1: four metres
HALL_SCREEN_DEPTH = 30.0


def hall_spec(
    *,
    name: str,
    slug: str,
    rows: list[str] | None = None,
    seats: list[list] | None = None,
    curve: float = 0,
    tier: str = "standard",
    time_zone: str = "Asia/Almaty",
    city: str = "",
    address: str = "",
) -> dict:
    """The whole venue spec of a cinema hall: one `hall` section (from `rows` or
    CSV `seats`), the screen across the top, the map fitted round it, and the
    best point two thirds of the way back in the middle. Raises
    LayoutSpecInvalid (per line) when the seats do not make a hall."""
    section: dict[str, Any] = {"code": "H", "name": name, "layout": "hall", "tier": tier}
    if rows is not None:
        section.update(rows=rows, curve=curve)
    else:
        section["seats"] = seats
    errors: dict[str, list[str]] = {}
    plan = hall_section(dict(section), errors)[0]
    if errors:
        raise LayoutSpecInvalid(details={f"sections[0].{k}": v for k, v in errors.items()})
    left, right = min(s.x for s in plan), max(s.x for s in plan)
    top, bottom = min(s.y for s in plan), max(s.y for s in plan)
    dx, dy = HALL_SPACING
    shift_x = HALL_MARGIN + dx / 2 - left
    shift_y = HALL_MARGIN + HALL_SCREEN_DEPTH + HALL_SCREEN_GAP - top
    section["origin"] = [round(shift_x, 2), round(shift_y, 2)]
    width = right - left + dx + 2 * HALL_MARGIN
    height = bottom - top + dy + HALL_SCREEN_DEPTH + HALL_SCREEN_GAP + 2 * HALL_MARGIN
    return {
        "venue": {
            "name": name, "slug": slug, "time_zone": time_zone, "city": city,
            "address": address,
            "map": {"width": math.ceil(width), "height": math.ceil(height)},
            "stage": {"x": HALL_MARGIN, "y": HALL_MARGIN, "w": round(right - left + dx, 2),
                      "h": HALL_SCREEN_DEPTH},
            "best_point": [round((left + right) / 2 + shift_x, 2),
                           round(top + (bottom - top) * 2 / 3 + shift_y, 2)],
        },
        "sections": [section],
    }  # fmt: skip


def hall_drawing(spec: dict) -> dict:
    """What the staff preview draws of a valid hall spec: the screen, each seat
    (x, y, kind, row, number), each love seat pair as one sofa, the row labels,
    the view box and the count of each kind. Pure: nothing is saved."""
    venue, plans = layout_plan(spec)
    seats = [seat for plan in plans for seat in plan.seats]
    dx = HALL_SPACING[0]
    stage = venue.get("stage") or {}
    sofas, drawn = [], []
    for plan in plans:
        for i, seat in enumerate(plan.seats):
            r = dx * 0.42
            drawn.append({"x": seat.x, "y": seat.y, "kind": seat.kind, "row": seat.row_label,
                          "number": seat.number, "left": round(seat.x - r, 2),
                          "top": round(seat.y - r, 2), "side": round(2 * r, 2)})  # fmt: skip
            if seat.kind == "love" and seat.pair is not None and seat.pair > i:
                other = plan.seats[seat.pair]
                sofas.append(_sofa(seat, other, dx))
    rows: dict[str, SeatPlan] = {}
    for seat in seats:
        if seat.row_label not in rows or seat.x < rows[seat.row_label].x:
            rows[seat.row_label] = seat
    labels = [{"row": r, "x": s.x - dx, "y": s.y} for r, s in rows.items()]
    counts: dict[str, int] = {}
    for seat in seats:
        counts[seat.kind] = counts.get(seat.kind, 0) + 1
    size = venue.get("map") or {"width": 1000, "height": 1000}
    return {
        "seats": drawn, "sofas": sofas, "labels": labels, "stage": stage,
        "radius": round(dx * 0.42, 2), "view_box": f"0 0 {size['width']} {size['height']}",
        "counts": counts, "total": len(seats),
    }  # fmt: skip


def _sofa(a: SeatPlan, b: SeatPlan, pitch: float) -> dict:
    """One rounded rectangle round both halves of a love seat, turned with the row."""
    angle = math.degrees(math.atan2(b.y - a.y, b.x - a.x))
    length = math.hypot(b.x - a.x, b.y - a.y) + pitch * 0.84
    cx, cy = (a.x + b.x) / 2, (a.y + b.y) / 2
    return {"x": round(cx - length / 2, 2), "y": round(cy - pitch * 0.42, 2),
            "w": round(length, 2), "h": round(pitch * 0.84, 2), "cx": round(cx, 2),
            "cy": round(cy, 2), "angle": round(angle, 2)}  # fmt: skip
