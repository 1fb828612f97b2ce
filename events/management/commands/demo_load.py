"""`manage.py demo_load [--places N] [--slug S]`: the demo on-sale, idempotent."""

from __future__ import annotations

import argparse
import time

from django.core.management.base import BaseCommand, CommandError

from events.demo import DEMO_SLUG, PRESALE_SLUG, demo_load


class Command(BaseCommand):
    help = (
        "Load the demo stadium, event, tiers, phases, inventory and partner, and the "
        "open-presale concert (idempotent)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--places", type=int, default=None, help="scale the stadium to about N places"
        )
        parser.add_argument("--slug", default=DEMO_SLUG, help="event slug")
        parser.add_argument(
            "--presale",
            action=argparse.BooleanOptionalAction,
            default=None,
            help=f"also load the open-presale concert ({PRESALE_SLUG}); default: without --places",
        )

    def handle(self, *args, places=None, slug=DEMO_SLUG, presale=None, **options):
        if places is not None and places < 10:
            raise CommandError("--places must be at least 10")
        started = time.monotonic()
        event = demo_load(places=places, slug=slug, presale=presale, say=self.stdout.write)
        seats = event.seats.count()
        standing = sum(a.capacity for a in event.standing_areas.all())
        self.stdout.write(
            f"{event.title} ({event.slug}): {seats} seats + {standing} standing "
            f"in {time.monotonic() - started:.1f} s"
        )
