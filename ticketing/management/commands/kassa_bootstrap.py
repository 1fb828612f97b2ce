"""First-run set-up for `make run`: the staff login and the demo on-sale, once."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from cinema.demo import cinema_demo_load
from events.demo import PRESALE_SLUG, demo_app_partner, demo_load


class Command(BaseCommand):
    help = "Create the staff superuser (once) and load the demo data (idempotent)."

    def handle(self, *args, **options):
        data_dir = settings.DATA_DIR
        data_dir.mkdir(parents=True, exist_ok=True)
        login_file = data_dir / "staff_login.txt"
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            password = secrets.token_urlsafe(12)
            User.objects.create_superuser("admin", "admin@kassa.local", password)
            login_file.write_text(f"login admin / password {password}\n")
            login_file.chmod(0o600)
            self.stdout.write(f"created staff user: {login_file.read_text().strip()}")
        elif not login_file.exists():
            login_file.write_text(
                "login admin / password: set earlier (manage.py changepassword admin)\n"
            )
        event = demo_load(say=self.stdout.write)
        # Only here, not in demo_load: a benchmark's database must not replace
        # the credentials file of the one `make run` serves.
        app_file = demo_app_partner()
        if app_file:
            self.stdout.write(f"demo partner app 'demo-app' (key, on-account secret): {app_file}")
        self.stdout.write(f"demo event: {settings.SITE_URL}{event.get_absolute_url()}")
        self.stdout.write(
            f"presale demo event (partner Visa 4400 43…): {settings.SITE_URL}/e/{PRESALE_SLUG}/"
        )
        cinema_demo_load(say=self.stdout.write)
        self.stdout.write(f"cinema demo: {settings.SITE_URL}/films/")
