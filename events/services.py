"""Writes of the catalogue: venues from layout specs, event inventory, blocking seats,
the event status, duplicating an event to another date, channel allocations."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from events import stock
from events.exceptions import (
    AllocationInvalid,
    DuplicateInvalid,
    EventCancelledFinal,
    EventWithoutInventory,
    InventoryTierMissing,
)
from events.hooks import EVENT_CHANGED, event_record
from events.layout import layout_plan
from events.models import (
    TRANSLATED_LANGUAGES,
    Allocation,
    Event,
    EventSeat,
    PriceTier,
    SalePhase,
    Seat,
    Section,
    StandingArea,
    Venue,
)
from events.selectors import event_availability_forget
from events.signals import event_duplicated
from ticketing.audit import AuditAction, audit_log


@transaction.atomic
def venue_create_from_spec(*, spec: dict) -> Venue:
    """Create a venue with its sections and seats from a layout spec (README in events/layouts/).

    Idempotent per venue slug: when the venue exists it is returned unchanged.
    The unique slug serialises concurrent calls: the loser's INSERT waits for the
    winner's commit, then get_or_create returns the finished venue. Raises
    LayoutSpecInvalid (400, details per field) before writing anything.
    """
    attrs, plans = layout_plan(spec)
    size = attrs.get("map") or {}
    venue, created = Venue.objects.get_or_create(
        slug=attrs["slug"],
        defaults={
            "name": attrs["name"][:200],
            "city": str(attrs.get("city", ""))[:100],
            "address": str(attrs.get("address", ""))[:300],
            # The same in the other site languages, when the spec has them.
            **{
                f"{field}_{lang}": str(attrs.get(f"{field}_{lang}") or "")[:limit]
                for field, limit in (("name", 200), ("city", 100), ("address", 300))
                for lang in TRANSLATED_LANGUAGES
            },
            "time_zone": attrs.get("time_zone") or "Asia/Almaty",
            "layout_spec": spec,
            "map_width": int(size.get("width", 1000)),
            "map_height": int(size.get("height", 1000)),
        },
    )
    if not created:
        return venue
    sections = Section.objects.bulk_create(
        Section(
            venue=venue,
            code=plan.code,
            name=plan.name,
            name_kk=plan.name_kk,
            name_en=plan.name_en,
            kind=plan.kind,
            capacity=plan.capacity,
            geometry=plan.geometry,
            sort_order=plan.sort_order,
            tier_key=plan.tier_key,
        )
        for plan in plans
    )
    # COPY, not bulk_create: 28,000 rows in well under a second instead of several.
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY events_seat (section_id, row_label, row_index, number, x, y, quality_rank,"
            " kind) FROM STDIN"
        ) as copy,
    ):
        for section, plan in zip(sections, plans, strict=True):
            for seat in plan.seats:
                copy.write_row(
                    (section.pk, seat.row_label, seat.row_index, seat.number, seat.x, seat.y,
                     seat.quality_rank, seat.kind)
                )  # fmt: skip
    _seat_pairs_set(sections, plans)
    return venue


def _seat_pairs_set(sections: list[Section], plans: list) -> None:
    """Point each paired seat at its pair (love seats, wheelchair + companion),
    once COPY has given the seats their ids: one UPDATE for the venue."""
    pairs = [
        (section.pk, seat.row_index, seat.number, other.row_index, other.number)
        for section, plan in zip(sections, plans, strict=True)
        for seat in plan.seats
        if seat.pair is not None
        for other in (plan.seats[seat.pair],)
    ]
    if not pairs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE events_seat s SET pair_id = o.id "
            "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[], %s::int[]) "
            "AS p(section_id, row_index, number, other_row, other_number) "
            "JOIN events_seat o ON o.section_id = p.section_id AND o.row_index = p.other_row "
            "AND o.number = p.other_number "
            "WHERE s.section_id = p.section_id AND s.row_index = p.row_index "
            "AND s.number = p.number",
            [list(column) for column in zip(*pairs, strict=True)],
        )


@transaction.atomic
def event_inventory_create(
    *,
    event: Event,
    tier_by_section: dict[int, PriceTier] | None = None,
    tier_by_kind: dict[str, PriceTier] | None = None,
) -> dict[str, int]:
    """Create the event's stock: one EventSeat per seat, one StandingArea per standing section.

    Tiers come from `tier_by_section` (section id → tier) or else by matching
    Section.tier_key to PriceTier.key; a cinema prices by seat kind instead
    (`tier_by_kind`: Seat.kind → tier, every seat of the venue priced by its
    kind, InventoryTierMissing naming the kinds without one). Idempotent: existing rows are kept as
    they are (never re-tiered or reset); only missing ones are created. Locks
    the event row so concurrent calls serialise. Returns counts of created and
    total rows. Raises InventoryTierMissing (nothing written) when a section
    has no tier.
    """
    Event.objects.select_for_update().filter(pk=event.pk).first()
    if tier_by_kind is not None:
        return _inventory_by_kind(event=event, tier_by_kind=tier_by_kind)
    sections = list(Section.objects.filter(venue_id=event.venue_id))
    tiers_by_key = {t.key: t for t in PriceTier.objects.filter(event=event) if t.key}
    tier_of: dict[int, PriceTier] = {}
    missing = []
    for section in sections:
        tier = (tier_by_section or {}).get(section.pk) or tiers_by_key.get(section.tier_key)
        if tier is None or tier.event_id != event.pk:
            missing.append(section.code)
        else:
            tier_of[section.pk] = tier
    if missing:
        raise InventoryTierMissing(details={"sections": missing})
    standing_ids = {s.pk for s in sections if s.kind == Section.Kind.STANDING}

    # One INSERT … SELECT over the venue's seats; ON CONFLICT keeps re-runs from
    # touching existing stock (the unique (event, seat) constraint decides).
    seated = [(pk, tier.pk) for pk, tier in tier_of.items() if pk not in standing_ids]
    seats_created = 0
    if seated:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO events_eventseat
                       (event_id, seat_id, section_id, tier_id, status, quality_rank)
                SELECT %s, s.id, s.section_id, t.tier_id, 'available', s.quality_rank
                  FROM events_seat s
                  JOIN unnest(%s::bigint[], %s::bigint[]) AS t(section_id, tier_id)
                    ON t.section_id = s.section_id
                 ORDER BY s.id
                ON CONFLICT ON CONSTRAINT eventseat_unique DO NOTHING
                """,
                [event.pk, [pk for pk, _ in seated], [tier for _, tier in seated]],
            )
            seats_created = cursor.rowcount
    seats_total = EventSeat.objects.filter(event=event).count()

    have_areas = set(StandingArea.objects.filter(event=event).values_list("section_id", flat=True))
    new_areas = [
        StandingArea(event=event, section=s, tier=tier_of[s.pk], capacity=s.capacity or 0)
        for s in sections
        if s.kind == Section.Kind.STANDING and s.pk not in have_areas
    ]
    StandingArea.objects.bulk_create(new_areas)
    return {
        "seats_created": seats_created,
        "standing_created": len(new_areas),
        "seats_total": seats_total,
        "standing_total": len(have_areas) + len(new_areas),
    }


def _inventory_by_kind(*, event: Event, tier_by_kind: dict[str, PriceTier]) -> dict[str, int]:
    kinds = set(
        Seat.objects.filter(section__venue_id=event.venue_id)
        .values_list("kind", flat=True)
        .distinct()
    )
    missing = sorted(k for k in kinds if k not in tier_by_kind)
    if missing or any(t.event_id != event.pk for t in tier_by_kind.values()):
        raise InventoryTierMissing(details={"seat_kinds": missing})
    created = events_inventory_create_by_kind(tiers=list(tier_by_kind.values()), keep_existing=True)
    return {
        "seats_created": created,
        "standing_created": 0,
        "seats_total": EventSeat.objects.filter(event=event).count(),
        "standing_total": 0,
    }


_BY_KIND_SQL = """
    INSERT INTO events_eventseat (event_id, seat_id, section_id, tier_id, status, quality_rank)
    SELECT t.event_id, s.id, s.section_id, t.tier_id, 'available', s.quality_rank
      FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bigint[])
           AS t(event_id, venue_id, kind, tier_id)
      JOIN events_section sec ON sec.venue_id = t.venue_id
      JOIN events_seat s ON s.section_id = sec.id AND s.kind = t.kind
     ORDER BY t.event_id, s.id
"""
_BY_KIND_KEEP_SQL = _BY_KIND_SQL + " ON CONFLICT ON CONSTRAINT eventseat_unique DO NOTHING"


def events_inventory_create_by_kind(*, tiers: list[PriceTier], keep_existing: bool = False) -> int:
    """The stock of seated events priced by seat kind (a cinema's showings, one
    or a whole schedule import): for every tier (saved, its `key` a seat kind)
    one EventSeat per seat of that kind in its event's venue. One INSERT …
    SELECT for all of them, computed inside Postgres (no rows travel). Every
    seat kind of the venues must be priced (the caller checks: a seat without a
    tier is left out). `keep_existing`: rows an event already has stay as they
    are (event_inventory_create's re-run); without it the events must be new,
    which spares the import a conflict check per row. Returns the number of
    rows created. Run it inside the caller's transaction.
    """
    if not tiers:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            _BY_KIND_KEEP_SQL if keep_existing else _BY_KIND_SQL,
            [
                [tier.event_id for tier in tiers],
                [tier.event.venue_id for tier in tiers],
                [tier.key for tier in tiers],
                [tier.pk for tier in tiers],
            ],
        )
        return cursor.rowcount


# Expired holds count as available (DESIGN invariant 2), so blocking takes them too.
# Rows are locked in id order with SKIP LOCKED: a seat that a hold or payment
# transaction is changing right now is not known to be free, so it is left
# alone (and reported as not moved) instead of waiting or risking a deadlock.
_FREE = "(status = 'available' OR (status = 'held' AND held_until < now()))"
_BLOCK_SQL = f"""
    WITH picked AS (
        SELECT id FROM events_eventseat
         WHERE id = ANY(%s) AND {_FREE}
         ORDER BY id
           FOR UPDATE SKIP LOCKED
    )
    UPDATE events_eventseat AS es
       SET status = 'blocked', held_until = NULL, hold_id = NULL
      FROM picked
     WHERE es.id = picked.id
 RETURNING es.id, es.event_id
"""  # noqa: S608 - _FREE is a constant, the ids are a bound parameter
_UNBLOCK_SQL = """
    WITH picked AS (
        SELECT id FROM events_eventseat
         WHERE id = ANY(%s) AND status = 'blocked'
         ORDER BY id
           FOR UPDATE SKIP LOCKED
    )
    UPDATE events_eventseat AS es
       SET status = 'available'
      FROM picked
     WHERE es.id = picked.id
 RETURNING es.id, es.event_id
"""


def _move(*, sql: str, action: AuditAction, event_seat_ids: list[int], actor: Any) -> int:
    ids = sorted({int(i) for i in event_seat_ids})
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids])
        moved = cursor.fetchall()
    by_event: dict[int, list[int]] = {}
    for seat_id, event_id in moved:
        by_event.setdefault(event_id, []).append(seat_id)
    for event_id, seat_ids in by_event.items():
        audit_log(
            action=action,
            object_type="events.event",
            object_id=str(event_id),
            actor_user=actor,
            data={"event_seat_ids": sorted(seat_ids), "requested": len(ids)},
        )
    return len(moved)


@transaction.atomic
def eventseat_block(*, event_seat_ids: list[int], actor: Any = None) -> int:
    """Take seats off sale: available (or expired-hold) → blocked; others are left alone.

    One conditional UPDATE over rows locked in id order with SKIP LOCKED; it
    only touches free rows, so it cannot steal a live hold or a sale. Returns
    how many seats moved; writes one audit entry per event.
    """
    return _move(
        sql=_BLOCK_SQL,
        action=AuditAction.EVENTSEAT_BLOCK,
        event_seat_ids=event_seat_ids,
        actor=actor,
    )


@transaction.atomic
def eventseat_unblock(*, event_seat_ids: list[int], actor: Any = None) -> int:
    """Put blocked seats back on sale (blocked → available). Returns how many moved."""
    return _move(
        sql=_UNBLOCK_SQL,
        action=AuditAction.EVENTSEAT_UNBLOCK,
        event_seat_ids=event_seat_ids,
        actor=actor,
    )


def event_has_inventory(*, event: Event) -> bool:
    """Has the event any stock at all (seats, or standing places)?"""
    return (
        EventSeat.objects.filter(event_id=event.pk).exists()
        or StandingArea.objects.filter(event_id=event.pk, capacity__gt=0).exists()
    )


def event_check_status(*, event: Event, status: str) -> None:
    """Raise EventWithoutInventory when `status` is on sale and the event has
    no stock, EventCancelledFinal for a move to or from `cancelled` (that is
    payments' event_cancel, which refunds): the rules the admin form and
    event_status_set both apply. `event` carries the stored status."""
    if status != event.status and Event.Status.CANCELLED in (status, event.status):
        raise EventCancelledFinal()
    if status == Event.Status.ON_SALE and not event_has_inventory(event=event):
        raise EventWithoutInventory()


@transaction.atomic
def event_status_set(*, event: Event, status: str, actor: Any = None) -> Event:
    """Move an event to `status` (audited). Refuses on sale without inventory.

    Locks the event row: a status change and an inventory build of the same
    event queue behind each other (event_inventory_create takes the same lock).
    """
    locked = Event.objects.select_for_update().get(pk=event.pk)
    if status not in Event.Status.values:
        raise ValueError(f"unknown event status {status!r}")
    event_check_status(event=locked, status=status)
    old = locked.status
    if old != status:
        locked.status = status
        locked.save(update_fields=["status"])
        audit_log(
            action=AuditAction.EVENT_STATUS_CHANGED,
            obj=locked,
            actor_user=actor,
            data={"old": old, "new": status},
        )
        event_record(
            kind=EVENT_CHANGED, event=locked, details={"status": {"old": old, "new": status}}
        )
    return locked


# What partners are told about when staff change it (`event.changed`): what
# a buyer's ticket means (when, where). Titles and texts are not news.
EVENT_CHANGE_FIELDS = ("starts_at", "doors_at", "venue")


def _change_value(event: Event, field: str) -> Any:
    if field == "venue":
        return event.venue_id
    value = getattr(event, field)
    return value.isoformat() if value is not None else None


@transaction.atomic
def event_update(*, event: Event, actor: Any = None, **changes: Any) -> Event:
    """Change an event's start, doors time or venue (`starts_at`, `doors_at`,
    `venue`), audited as `event.changed` with old and new values, and told to
    partners (events.hooks, in this transaction: `event.changed`). Returns the
    event as saved; fields that do not change are not written or reported.

    Locks the event row (like event_status_set), so two staff saving at once
    report each change once, against the value the other one saved.
    """
    unknown = set(changes) - set(EVENT_CHANGE_FIELDS)
    if unknown:
        raise ValueError(f"event_update cannot change {sorted(unknown)}")
    locked = Event.objects.select_for_update().get(pk=event.pk)
    diff: dict[str, dict[str, Any]] = {}
    for field, value in changes.items():
        old = _change_value(locked, field)
        setattr(locked, field, value)
        new = _change_value(locked, field)
        if old != new:
            diff[field] = {"old": old, "new": new}
    if diff:
        locked.save(update_fields=list(diff))
        audit_log(action=AuditAction.EVENT_CHANGED, obj=locked, actor_user=actor, data=diff)
        event_record(kind=EVENT_CHANGED, event=locked, details=diff)
    return locked


@transaction.atomic
def event_duplicate(
    *,
    event: Event,
    starts_at: datetime,
    slug: str,
    copy_blocked: bool = False,
    actor: Any = None,
) -> Event:
    """Copy an event to another date: its tiers, its sale phases (shifted by the
    same offset as the start), its stock (the venue's seats and standing areas,
    built by event_inventory_create with each section on its copied tier), the
    blocked seats if asked, and, through the `event_duplicated` signal, what the
    layers above keep of it (the waiting room). The copy is a draft: staff look
    it over and put it on sale. Nothing is sold, held or counted in the copy.

    One transaction: a bad slug or a receiver that fails leaves nothing. Raises
    DuplicateInvalid (400, details per field).
    """
    slug = (slug or "").strip()
    if not slug or Event.objects.filter(slug=slug).exists():
        raise DuplicateInvalid(
            _("The address (slug) “%(slug)s” is empty or taken by another event.") % {"slug": slug},
            details={"slug": ["taken"]},
        )
    offset = starts_at - event.starts_at
    copy = Event.objects.create(
        venue_id=event.venue_id,
        title=event.title,
        slug=slug,
        description=event.description,
        description_kk=event.description_kk,
        description_en=event.description_en,
        poster=event.poster.name if event.poster else "",
        starts_at=starts_at,
        doors_at=event.doors_at + offset if event.doors_at else None,
        time_zone=event.time_zone,
        currency=event.currency,
        status=Event.Status.DRAFT,
    )
    tiers = list(PriceTier.objects.filter(event=event).order_by("pk"))
    copies = PriceTier.objects.bulk_create(
        PriceTier(
            event=copy,
            name=t.name,
            name_kk=t.name_kk,
            name_en=t.name_en,
            price=t.price,
            colour=t.colour,
            sort_order=t.sort_order,
            key=t.key,
        )
        for t in tiers
    )
    tier_map = {old.pk: new for old, new in zip(tiers, copies, strict=True)}
    SalePhase.objects.bulk_create(
        SalePhase(
            event=copy,
            name=p.name,
            starts_at=p.starts_at + offset,
            ends_at=p.ends_at + offset,
            channels=list(p.channels),
            card_brands=list(p.card_brands),
            card_bin_prefixes=list(p.card_bin_prefixes),
            access_codes=list(p.access_codes),
            per_buyer_limit=p.per_buyer_limit,
            requires_waiting_room=p.requires_waiting_room,
        )
        for p in SalePhase.objects.filter(event=event).order_by("starts_at", "pk")
    )
    # The stock as the inventory build makes it (each section on the copy of
    # a tier it has at the source), then every seat on the copy of its own
    # source tier in one UPDATE: a section may mix tiers (a front-row VIP).
    seated = EventSeat.objects.filter(event=event).values_list("section_id", "tier_id")
    standing = StandingArea.objects.filter(event=event).values_list("section_id", "tier_id")
    tier_by_section = {
        section_id: tier_map[tier_id] for section_id, tier_id in {*seated.distinct(), *standing}
    }
    counts = {}
    if tier_by_section:
        counts = event_inventory_create(event=copy, tier_by_section=tier_by_section)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE events_eventseat AS c SET tier_id = m.new_tier
                  FROM events_eventseat AS s
                  JOIN unnest(%s::bigint[], %s::bigint[]) AS m(old_tier, new_tier)
                    ON m.old_tier = s.tier_id
                 WHERE s.event_id = %s AND c.event_id = %s AND c.seat_id = s.seat_id
                   AND c.tier_id <> m.new_tier
                """,
                [list(tier_map), [t.pk for t in tier_map.values()], event.pk, copy.pk],
            )
    blocked = 0
    if copy_blocked:
        source_blocked = EventSeat.objects.filter(
            event=event, status=EventSeat.Status.BLOCKED
        ).values("seat_id")
        ids = list(
            EventSeat.objects.filter(event=copy, seat_id__in=source_blocked).values_list(
                "pk", flat=True
            )
        )
        blocked = eventseat_block(event_seat_ids=ids, actor=actor) if ids else 0
    audit_log(
        action=AuditAction.EVENT_DUPLICATED,
        obj=copy,
        actor_user=actor,
        data={
            "source": event.pk,
            "starts_at": starts_at.isoformat(),
            "offset_seconds": int(offset.total_seconds()),
            "tiers": len(copies),
            "seats": counts.get("seats_total", 0),
            "standing": counts.get("standing_total", 0),
            "blocked": blocked,
        },
    )
    event_duplicated.send(sender=Event, source=event, copy=copy, offset=offset, actor=actor)
    return copy


# --- channel allocations -------------------------------------------------------

# The channels an allocation may be for (SalePhase.channels' vocabulary).
_CHANNEL_RE = re.compile(r"^(web|app|partner:\*|partner:[a-z0-9][a-z0-9_-]*)$")


def allocation_check(
    *,
    event: Event,
    section: Section | None,
    quantity: int | None,
    channel: str = "",
    phase: SalePhase | None = None,
    tier: PriceTier | None = None,
    release_at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, list[str]]:
    """What is wrong with this allocation request, per field (empty: nothing).

    The admin form shows these; allocation_create raises them. The free-seat
    count is a read without locks: allocation_create re-checks by row count.
    """
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    channel = (channel or "").strip()
    if bool(channel) == (phase is not None):
        add("channel", _("Give either a channel or a sale phase, not both."))
    elif channel and not _CHANNEL_RE.match(channel):
        add("channel", _("A channel is “web”, “app”, “partner:*” or “partner:<slug>”."))
    if phase is not None and phase.event_id != event.pk:
        add("phase", _("This sale phase belongs to another event."))
    if tier is not None and tier.event_id != event.pk:
        add("tier", _("This price tier belongs to another event."))
    if release_at is not None and release_at <= now:
        add("release_at", _("The release time must be in the future."))
    if quantity is None or quantity < 1:
        add("quantity", _("Allocate at least one seat."))
    if section is None:
        add("section", _("Choose a section."))
    elif section.venue_id != event.venue_id:
        add("section", _("This section is not at the event's venue."))
    elif section.kind == Section.Kind.STANDING:
        area = StandingArea.objects.filter(event=event, section=section).first()
        if area is None:
            add("section", _("This standing area is not on sale at this event."))
        elif tier is not None and tier.pk != area.tier_id:
            add("tier", _("A standing area has one price tier: leave it empty."))
        elif quantity and quantity > area.available:
            add(
                "quantity",
                _("Only %(free)d free places not allocated yet in this area.")
                % {"free": area.available},
            )
    elif quantity and "tier" not in errors:
        free = stock.seats_allocatable(
            event_id=event.pk, section_id=section.pk, tier_id=tier.pk if tier else None
        )
        if quantity > free:
            add(
                "quantity",
                _("Only %(free)d free seats not allocated yet in this section.") % {"free": free},
            )
    return errors


def allocation_create(
    *,
    event: Event,
    name: str,
    section: Section,
    quantity: int,
    channel: str = "",
    phase: SalePhase | None = None,
    tier: PriceTier | None = None,
    release_at: datetime | None = None,
    actor: Any = None,
) -> Allocation:
    """Reserve `quantity` of the section's best free seats (of `tier`, if given),
    or `quantity` places of its standing area, for one channel or one sale
    phase, until release_at or a release by hand.

    One transaction: the Allocation row, then one conditional UPDATE: seated,
    tagging exactly `quantity` free, unallocated seats (events/stock.py,
    seats_allocate: SKIP LOCKED, so it never waits for, nor takes, a seat a
    hold is taking); standing, under the area's row lock, moving them from
    the general sale's free places to the area's `reserved`. Short (buyers
    took stock meanwhile) → AllocationInvalid and nothing is written. Audited.
    """
    channel = (channel or "").strip()
    errors = allocation_check(
        event=event,
        section=section,
        quantity=quantity,
        channel=channel,
        phase=phase,
        tier=tier,
        release_at=release_at,
    )
    if errors:
        raise AllocationInvalid(details=errors)
    with transaction.atomic():
        allocation = Allocation.objects.create(
            event=event,
            name=name.strip()[:100] or channel or phase.name,
            channel=channel,
            phase=phase,
            section=section,
            tier=tier,
            quantity=quantity,
            release_at=release_at,
        )
        if section.kind == Section.Kind.STANDING:
            area = stock.standing_lock(event_id=event.pk, section_id=section.pk)
            if not stock.standing_reserve(area_id=area.pk, quantity=quantity):
                area.refresh_from_db(fields=["held", "sold", "capacity", "reserved"])
                raise AllocationInvalid(
                    details={
                        "quantity": [
                            _("Only %(free)d free places not allocated yet in this area.")
                            % {"free": area.available}
                        ]
                    }
                )
            tagged = quantity
        else:
            tagged = stock.seats_allocate(
                allocation_id=allocation.pk,
                event_id=event.pk,
                section_id=section.pk,
                tier_id=tier.pk if tier else None,
                quantity=quantity,
            )
        if tagged != quantity:
            raise AllocationInvalid(
                details={
                    "quantity": [
                        _("Only %(free)d free seats not allocated yet in this section.")
                        % {"free": tagged}
                    ]
                }
            )
        audit_log(
            action=AuditAction.ALLOCATION_CREATED,
            obj=allocation,
            actor_user=actor,
            data={
                "event": event.pk,
                "channel": channel,
                "phase": phase.pk if phase else None,
                "section": section.pk,
                "tier": tier.pk if tier else None,
                "quantity": quantity,
                "release_at": release_at.isoformat() if release_at else None,
            },
        )
        _forget_availability_on_commit(event.pk)
    return allocation


def allocation_release(
    *, allocation: Allocation, actor: Any = None, actor_name: str = "", now: datetime | None = None
) -> bool:
    """Give what is left of the allocation to the general sale, at once.

    One conditional UPDATE of the allocation row (released_at, only if not
    yet set): idempotent, and the staff button racing the beat task releases
    and audits once. Seated, no seat row moves: USABLE treats a released
    allocation's seats as general stock, and seats it sold or holds stay
    counted as the allocation's. Standing, under the area's row lock, the
    places it had left leave the area's `reserved` in the same transaction
    (its held places go to the general sale when they come back). True if
    this call released it.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if allocation.section.kind == Section.Kind.STANDING:
            # Lock order: the area's row, then the allocation's (as holds take them).
            stock.standing_lock(event_id=allocation.event_id, section_id=allocation.section_id)
            left = stock.standing_release(allocation_id=allocation.pk, now=now)
            if left is None:
                return False
        else:
            released = Allocation.objects.filter(pk=allocation.pk, released_at__isnull=True).update(
                released_at=now
            )
            if not released:
                return False
            left = EventSeat.objects.filter(
                allocation_id=allocation.pk, status=EventSeat.Status.AVAILABLE
            ).count()
        audit_log(
            action=AuditAction.ALLOCATION_RELEASED,
            obj=allocation,
            actor_user=actor,
            actor=actor_name,
            data={
                "event": allocation.event_id,
                "left_to_general": left,
                "release_at": allocation.release_at.isoformat() if allocation.release_at else None,
            },
        )
        _forget_availability_on_commit(allocation.event_id)
    allocation.released_at = now
    return True


def allocations_release_due(
    *,
    now: datetime | None = None,
    area: StandingArea | None = None,
    actor_name: str = "system:beat",
) -> int:
    """Release every allocation whose release_at has come (the beat task), or
    only those of one standing area (a standing hold, under that area's row
    lock, before it counts the free places).

    Buyers do not wait for the task: a seated take treats an allocation past
    release_at as released already (USABLE), a standing take releases its
    area's first; this stamps released_at and audits. Each release is its
    own short transaction (a savepoint inside a hold's). Returns how many it
    released.
    """
    now = now or timezone.now()
    due = Allocation.objects.filter(released_at__isnull=True, release_at__lte=now)
    if area is not None:
        due = due.filter(event_id=area.event_id, section_id=area.section_id)
    return sum(
        allocation_release(allocation=allocation, actor_name=actor_name, now=now)
        for allocation in due.select_related("section").order_by("release_at", "pk")
    )


def _forget_availability_on_commit(event_id: int) -> None:
    # The buyers' counts (cached ~1 s) change now, not a second later.
    transaction.on_commit(lambda: event_availability_forget(event_id=event_id))
