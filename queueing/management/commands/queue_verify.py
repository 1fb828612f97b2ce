"""Re-check a room's pre-queue shuffle from its published data only."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from queueing import shuffle
from queueing.models import WaitingRoom


class Command(BaseCommand):
    help = (
        "Recompute a waiting room's pre-queue order from the published seed and "
        "(sha256(visitor), number) list, and report match or mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("event_slug", nargs="?")
        parser.add_argument(
            "--file", help="verify a downloaded export (GET .../queue/shuffle/) instead"
        )
        parser.add_argument("--export", help="write the room's public export (JSON) here")

    def handle(self, *args, event_slug=None, file=None, export=None, **options):
        if file:
            with open(file) as fh:
                data = json.load(fh)
        else:
            room = WaitingRoom.objects.filter(event__slug=event_slug).first()
            if room is None:
                raise CommandError(f"no waiting room for event {event_slug!r}")
            if not room.seed_revealed_at:
                raise CommandError("the seed is not revealed yet (the sale has not opened)")
            data = {**room.shuffle_export, "seed": room.seed}
        if export:
            with open(export, "w") as fh:
                json.dump(data, fh)
        if not data.get("seed"):
            raise CommandError("the export has no seed yet (the sale has not opened)")
        ok, why = shuffle.verify(data, data["seed"])
        if not ok:
            raise CommandError(f"MISMATCH: {why}")
        self.stdout.write(f"match: {why} (commitment {data['commitment']})")
