from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CinemaConfig(AppConfig):
    name = "cinema"
    verbose_name = _("Cinema")

    def ready(self) -> None:
        from cinema.receivers import showing_follows_its_event
        from events.hooks import event_recorded

        event_recorded.connect(showing_follows_its_event, dispatch_uid="cinema.showing_follows")
        # The event page of a showing shows its film (events may not import cinema).
        from cinema.views import event_film_panel
        from events import views as event_views

        if event_film_panel not in event_views.event_page_panels:
            event_views.event_page_panels.append(event_film_panel)
