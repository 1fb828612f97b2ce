"""The demo on-sale loaded by `make run` (kassa_bootstrap) and `manage.py demo_load`.

Idempotent: a second run finds the venue, event and partner by slug and
changes nothing. Dates are relative to the first load so the demo is on sale.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from api.models import Partner
from api.services import api_key_create
from events.layout import spec_places, spec_scaled
from events.models import Event, PriceTier, SalePhase
from events.services import event_inventory_create, venue_create_from_spec

logger = logging.getLogger(__name__)

LAYOUT = Path(__file__).resolve().parent / "layouts" / "central_stadium.json"
DEMO_SLUG = "backstreet-boys-almaty"
TZ = "Asia/Almaty"
# key, name, price (KZT), colour
TIERS = [
    ("fan", "Fan zone (standing)", "35000", "#e63946"),
    ("vip", "VIP", "60000", "#6a0dad"),
    ("cat1", "Category 1", "45000", "#f4a261"),
    ("cat2", "Category 2", "30000", "#2a9d8f"),
    ("cat3", "Category 3", "20000", "#457b9d"),
    ("cat4", "Category 4", "12000", "#8d99ae"),
]


def next_show_time(now: datetime) -> datetime:
    """The next 19 September, 20:00 Asia/Almaty, strictly in the future."""
    tz = ZoneInfo(TZ)
    local = now.astimezone(tz)
    show = datetime(local.year, 9, 19, 20, 0, tzinfo=tz)
    return show if show > now else datetime(local.year + 1, 9, 19, 20, 0, tzinfo=tz)


def demo_spec(places: int | None = None) -> dict:
    spec = json.loads(LAYOUT.read_text())
    if places and places != spec_places(spec):
        spec = spec_scaled(spec, places=places)
        spec["venue"] = {**spec["venue"], "slug": f"central-stadium-{places}"}
    spec["venue"]["name"] = "Central Stadium"  # also when scaled
    spec["venue"]["address"] = "29/3 Satpaev St"
    return spec


@transaction.atomic
def _event_create(*, slug: str, venue, now: datetime) -> Event:
    starts_at = next_show_time(now)
    event, created = Event.objects.get_or_create(
        slug=slug,
        defaults={
            "venue": venue,
            "title": "Backstreet Boys — DNA World Tour",
            "description": "The Backstreet Boys bring the DNA World Tour to Almaty.",
            "starts_at": starts_at,
            "doors_at": starts_at.replace(hour=15),
            "time_zone": TZ,
            "currency": "KZT",
            "status": Event.Status.ON_SALE,
        },
    )
    if not created:
        return event
    PriceTier.objects.bulk_create(
        PriceTier(
            event=event, key=key, name=name, price=Decimal(price), colour=colour, sort_order=i
        )
        for i, (key, name, price, colour) in enumerate(TIERS)
    )
    # The reference story as of "now": the partner presale ran yesterday, the
    # general sale opened an hour ago, so the site itself is selling.
    presale_end = now - timedelta(hours=1)
    SalePhase.objects.bulk_create(
        [
            SalePhase(
                event=event,
                name="Halyk presale",
                starts_at=presale_end - timedelta(days=1),
                ends_at=presale_end,
                channels=["partner:halyk"],
                card_brands=["visa"],
                card_bin_prefixes=["440043"],
                per_buyer_limit=4,
                requires_waiting_room=True,
            ),
            SalePhase(
                event=event,
                name="General sale",
                starts_at=presale_end,
                ends_at=starts_at,
                channels=["web", "app", "partner:*"],
                per_buyer_limit=6,
                requires_waiting_room=True,
            ),
        ]
    )
    return event


def _waiting_room_ensure(*, event: Event) -> None:
    """The demo sale is guarded by a live waiting room (FIFO: its sale is open)."""
    from queueing.models import WaitingRoom
    from queueing.services import room_create

    if WaitingRoom.objects.filter(event=event).exists():
        return
    general = event.phases.order_by("-starts_at").first()
    room_create(
        event=event,
        sale_opens_at=general.starts_at if general else timezone.now(),
        admission_rate_per_minute=600,
        max_active_shoppers=2000,
    )


def demo_partner_key() -> Path | None:
    """Create partner `halyk` with a catalog+sell key once; the raw key goes to a file."""
    partner, _ = Partner.objects.get_or_create(slug="halyk", defaults={"name": "Halyk Bank"})
    if partner.keys.filter(revoked_at__isnull=True).exists():
        return None
    _, raw = api_key_create(partner=partner, scopes=["catalog", "sell"], name="demo")
    path = Path(settings.BASE_DIR) / ".data" / "demo_partner_key.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw + "\n")
    path.chmod(0o600)
    return path


def demo_load(
    *, places: int | None = None, slug: str = DEMO_SLUG, say: Callable[[str], object] | None = None
) -> Event:
    """Load the demo venue, event, tiers, phases, inventory and partner (idempotent).

    `places` scales the stadium (about that many seats + standing places) under
    its own venue slug, for quick tests and benchmarks. `say` receives
    human-readable progress lines (where the partner key was written).
    """
    venue = venue_create_from_spec(spec=demo_spec(places))
    event = _event_create(slug=slug, venue=venue, now=timezone.now())
    event_inventory_create(event=event)
    _waiting_room_ensure(event=event)
    key_path = demo_partner_key()
    if key_path:
        logger.info("demo partner API key written to %s", key_path)
        if say:
            say(f"demo partner 'halyk' API key (scopes catalog, sell) written to {key_path}")
    return event
