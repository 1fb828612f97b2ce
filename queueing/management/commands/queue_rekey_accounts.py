"""Hand the waiting-room places of phone accounts from `user:<id>` to their
phone's key, once, after deploying the phone-based buyer identity."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.models import Profile
from accounts.selectors import phone_key, phone_sha256_of
from queueing.services import queue_handover


class Command(BaseCommand):
    help = (
        "Move the live waiting-room places and passes of accounts that sign in with a "
        "phone from user:<id> to phone:<digest> (their buyer key since issue 19). Run once "
        "after that deploy if a waiting room is live; idempotent."
    )

    def handle(self, *args, **options):
        moved = 0
        profiles = Profile.objects.filter(phone__isnull=False).values_list("user_id", "phone")
        for user_id, phone in profiles.iterator():
            key = phone_key(phone_sha256=phone_sha256_of(phone))
            moved += bool(queue_handover(from_visitor=f"user:{user_id}", to_visitor=key))
        self.stdout.write(f"{moved} accounts had places handed over")
