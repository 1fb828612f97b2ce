"""The demo on-sale loaded by `make run` (kassa_bootstrap) and `manage.py demo_load`.

Two events: the stadium show (general sale open on the site behind the waiting
room, 6 per buyer; the partner presale is over) and a concert-hall show whose
presale is open now on the site for the partner bank's Visa cards (4 per
buyer, no waiting room; general sale later), so a buyer can see another card
refused with the rule's message.

Idempotent: a second run finds the venues, events and partner by slug and
changes nothing. Dates are relative to the first load so the demo is on sale.
Names are entered as staff would: Russian in `name`, Kazakh and English in
`name_kk` / `name_en`.
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
from queueing.models import WaitingRoom
from queueing.services import room_create

logger = logging.getLogger(__name__)

LAYOUTS = Path(__file__).resolve().parent / "layouts"
LAYOUT = LAYOUTS / "central_stadium.json"
DEMO_SLUG = "backstreet-boys-almaty"
TZ = "Asia/Almaty"
# key, (ru, kk, en) name, price (KZT), colour
TIERS = [
    ("fan", ("Танцпол", "Танцпол", "Standing"), "35000", "#e63946"),
    ("vip", ("VIP", "VIP", "VIP"), "60000", "#6a0dad"),
    ("cat1", ("Категория 1", "1-санат", "Category 1"), "45000", "#f4a261"),
    ("cat2", ("Категория 2", "2-санат", "Category 2"), "30000", "#2a9d8f"),
    ("cat3", ("Категория 3", "3-санат", "Category 3"), "20000", "#457b9d"),
    ("cat4", ("Категория 4", "4-санат", "Category 4"), "12000", "#8d99ae"),
]

# The second event: a concert hall of 1,250 seats with the partner presale open now.
PRESALE_SLUG = "ulytau-alatau-hall"
PRESALE_LAYOUT = LAYOUTS / "alatau_hall.json"
PRESALE_TIERS = [
    ("cat1", ("Категория 1", "1-санат", "Category 1"), "40000", "#f4a261"),
    ("cat2", ("Категория 2", "2-санат", "Category 2"), "30000", "#2a9d8f"),
    ("cat3", ("Категория 3", "3-санат", "Category 3"), "20000", "#457b9d"),
    ("cat4", ("Категория 4", "4-санат", "Category 4"), "12000", "#8d99ae"),
]
# The partner bank's rule, the same shape as the stadium's presale: Visa cards
# whose number starts with 440043 (API.md's partner test cards).
PARTNER_CARD_RULE = {"card_brands": ["visa"], "card_bin_prefixes": ["440043"]}


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
    return spec


def _tiers_create(*, event: Event, tiers: list) -> None:
    PriceTier.objects.bulk_create(
        PriceTier(
            event=event,
            key=key,
            name=ru,
            name_kk=kk,
            name_en=en,
            price=Decimal(price),
            colour=colour,
            sort_order=i,
        )
        for i, (key, (ru, kk, en), price, colour) in enumerate(tiers)
    )


@transaction.atomic
def _event_create(*, slug: str, venue, now: datetime) -> Event:
    starts_at = next_show_time(now)
    event, created = Event.objects.get_or_create(
        slug=slug,
        defaults={
            "venue": venue,
            "title": "Backstreet Boys — DNA World Tour",
            "description": "Backstreet Boys привозят в Алматы мировой тур DNA.",
            "description_kk": "Backstreet Boys DNA әлемдік турын Алматыға алып келеді.",
            "description_en": "The Backstreet Boys bring the DNA World Tour to Almaty.",
            "starts_at": starts_at,
            "doors_at": starts_at.replace(hour=15),
            "time_zone": TZ,
            "currency": "KZT",
            "status": Event.Status.ON_SALE,
        },
    )
    if not created:
        return event
    _tiers_create(event=event, tiers=TIERS)
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
                **PARTNER_CARD_RULE,
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


def presale_show_time(now: datetime) -> datetime:
    """Six weeks after `now`, 19:00 Asia/Almaty: the presale runs until two weeks before."""
    local = (now + timedelta(weeks=6)).astimezone(ZoneInfo(TZ))
    return local.replace(hour=19, minute=0, second=0, microsecond=0)


@transaction.atomic
def _presale_event_create(*, venue, now: datetime) -> Event:
    starts_at = presale_show_time(now)
    event, created = Event.objects.get_or_create(
        slug=PRESALE_SLUG,
        defaults={
            "venue": venue,
            "title": "Ulytau",
            "description": (
                "Фолк-рок группа Ulytau: домбра, скрипка и электрогитара. "
                "Предпродажа для держателей карт Visa банка-партнёра."
            ),
            "description_kk": (
                "Ulytau фолк-рок тобы: домбыра, скрипка және электрогитара. "
                "Серіктес банктің Visa карталарын ұстаушыларға алдын ала сату."
            ),
            "description_en": (
                "Folk-rock band Ulytau: dombra, violin and electric guitar. "
                "Presale for the partner bank's Visa card holders."
            ),
            "starts_at": starts_at,
            "doors_at": starts_at - timedelta(hours=1),
            "time_zone": TZ,
            "currency": "KZT",
            "status": Event.Status.ON_SALE,
        },
    )
    if not created:
        return event
    _tiers_create(event=event, tiers=PRESALE_TIERS)
    # Open on the site right now for partner-bank Visa cards only; everyone
    # buys from the general sale, which opens a week after the first load.
    general_from = now + timedelta(weeks=1)
    SalePhase.objects.bulk_create(
        [
            SalePhase(
                event=event,
                name="Visa presale",
                starts_at=now - timedelta(hours=1),
                ends_at=general_from,
                channels=["web", "app", "partner:*"],
                **PARTNER_CARD_RULE,
                per_buyer_limit=4,
                requires_waiting_room=False,
            ),
            SalePhase(
                event=event,
                name="General sale",
                starts_at=general_from,
                ends_at=starts_at,
                channels=["web", "app", "partner:*"],
                per_buyer_limit=6,
                requires_waiting_room=False,
            ),
        ]
    )
    return event


def presale_demo_load() -> Event:
    """The concert-hall event with its presale open now (idempotent, no waiting room)."""
    venue = venue_create_from_spec(spec=json.loads(PRESALE_LAYOUT.read_text()))
    event = _presale_event_create(venue=venue, now=timezone.now())
    event_inventory_create(event=event)
    _waiting_room_ensure(event=event, mode="off")
    return event


def _waiting_room_ensure(*, event: Event, mode: str = "on") -> None:
    """The stadium sale is guarded by a live waiting room (FIFO: its sale is open);
    the concert's room exists switched off, for staff to turn on if demand calls."""
    if WaitingRoom.objects.filter(event=event).exists():
        return
    general = event.phases.order_by("-starts_at").first()
    room_create(
        event=event,
        mode=mode,
        sale_opens_at=general.starts_at if general else timezone.now(),
        admission_rate_per_minute=600,
        max_active_shoppers=2000,
    )


def demo_partner_key() -> Path | None:
    """Create partner `halyk` with a catalog+sell key once; the raw key goes to a file."""
    partner, _ = Partner.objects.get_or_create(
        slug="halyk",
        defaults={
            "name": "Halyk Bank",
            # Its app opens kassa's pages in a webview and takes buyers back here.
            "webview_enabled": True,
            "webview_return_link": "halykapp://kassa/orders/{code}",
        },
    )
    if partner.keys.filter(revoked_at__isnull=True).exists():
        return None
    _, raw = api_key_create(partner=partner, scopes=["catalog", "sell"], name="demo")
    path = Path(settings.DATA_DIR) / "demo_partner_key.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw + "\n")
    path.chmod(0o600)
    return path


DEMO_APP_SLUG = "demo-app"
DEMO_APP_FILE = "demo-partner.json"


def demo_app_partner() -> Path | None:
    """Create partner `demo-app` (an app that charges its own customers: a
    catalog+sell key and on-account payment) for examples/partner_client.py
    (called by kassa_bootstrap, i.e. `make run`, not by demo_load);
    its key and on-account secret go to `<data dir>/demo-partner.json`
    (mode 600, never committed). Both secrets are shown once, so while the
    file is there nothing changes; if it is gone, a new key and a new
    on-account secret are made (the old key revoked). `make run` lets this
    partner's webhooks reach localhost (WEBHOOK_LOOPBACK_PARTNERS)."""
    from api.services import api_key_revoke
    from payments.services import partner_on_account_enable

    path = Path(settings.DATA_DIR) / DEMO_APP_FILE
    partner, _ = Partner.objects.get_or_create(
        slug=DEMO_APP_SLUG, defaults={"name": "Demo partner app"}
    )
    live_keys = list(partner.keys.filter(revoked_at__isnull=True))
    if path.exists() and live_keys and partner.on_account:
        return None
    for key in live_keys:
        api_key_revoke(key=key)
    _, raw = api_key_create(partner=partner, scopes=["catalog", "sell"], name="demo-app")
    secret = partner_on_account_enable(partner=partner)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "partner": DEMO_APP_SLUG,
                "api_key": raw,
                "on_account_secret": secret,
                "event": DEMO_SLUG,
                "site_url": settings.SITE_URL,
            },
            indent=2,
        )
        + "\n"
    )
    path.chmod(0o600)
    return path


def demo_load(
    *,
    places: int | None = None,
    slug: str = DEMO_SLUG,
    presale: bool | None = None,
    say: Callable[[str], object] | None = None,
) -> Event:
    """Load the demo venue, event, tiers, phases, inventory and partner (idempotent).

    `places` scales the stadium (about that many seats + standing places) under
    its own venue slug, for quick tests and benchmarks. `say` receives
    human-readable progress lines (where the partner key was written).
    `presale` also loads the concert-hall event (PRESALE_SLUG) with its open
    presale; by default only with the full-size stadium, so that a scaled load
    (benchmarks, which drive the biggest event) stays the stadium alone.
    """
    venue = venue_create_from_spec(spec=demo_spec(places))
    event = _event_create(slug=slug, venue=venue, now=timezone.now())
    event_inventory_create(event=event)
    _waiting_room_ensure(event=event)
    if presale is None:
        presale = places is None
    if presale:
        presale_demo_load()
    key_path = demo_partner_key()
    if key_path:
        logger.info("demo partner API key written to %s", key_path)
        if say:
            say(f"demo partner 'halyk' API key (scopes catalog, sell) written to {key_path}")
    return event
