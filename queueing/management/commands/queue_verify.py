"""Re-check a room's pre-queue shuffle from its published data only."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from queueing import shuffle
from queueing.models import WaitingRoom


class Command(BaseCommand):
    help = "Recompute a waiting room's shuffle from the published seed and list; report match."

    def add_arguments(self, parser):
        parser.add_argument("event_slug")
        parser.add_argument("--export", help="also write the public export (JSON) to this path")

    def handle(self, *args, event_slug: str, export: str | None = None, **options):
        room = WaitingRoom.objects.filter(event__slug=event_slug).first()
        if room is None:
            raise CommandError(f"no waiting room for event {event_slug!r}")
        if not room.seed_revealed_at:
            raise CommandError("the seed is not revealed yet (the sale has not opened)")
        data = {**room.shuffle_export, "seed": room.seed}
        if export:
            with open(export, "w") as fh:
                json.dump(data, fh)
        ok, why = shuffle.verify(room.shuffle_export, room.seed)
        if not ok:
            raise CommandError(f"MISMATCH: {why}")
        self.stdout.write(f"match: {why} (commitment {room.seed_hash})")
