"""The sales app's one table: the per-minute rollup of request outcomes.

The site records it as it runs (sales.rollup, from RequestRollupMiddleware),
in Postgres, so the post-sale report still has the errors of a sale whose
Redis was lost, and Prometheus (in-process, reset at every start) is not the
only record. It also carries the console's and the report's permissions.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RequestMinute(models.Model):
    """How many requests of one kind ended one way in one minute (UTC).

    A kind is (view, method, status class, cause, event): `view` is the URL
    pattern's name as in the Prometheus metrics; `cause` the API error code of
    a 4xx/5xx answer, or the exception class of a crash; `event` the slug in
    the URL, when it has one. Every part is bounded, so a minute holds at most
    a few hundred rows whatever the traffic.
    """

    minute = models.DateTimeField()
    view = models.CharField(max_length=120)
    method = models.CharField(max_length=8)
    status = models.CharField(max_length=3)  # "2xx", "4xx", "5xx"...
    cause = models.CharField(max_length=100, blank=True)
    event = models.CharField(max_length=50, blank=True)
    n = models.BigIntegerField(default=0)
    duration_ms = models.BigIntegerField(default=0)  # the sum, for a mean latency

    class Meta:
        constraints = [
            # The flush's upsert target (INSERT ... ON CONFLICT ON CONSTRAINT).
            models.UniqueConstraint(
                fields=["minute", "view", "method", "status", "cause", "event"],
                name="requestminute_key",
            ),
        ]
        indexes = [
            # The console's and the report's scans: minute BETWEEN the sale's bounds.
            models.Index(fields=["minute"], name="requestminute_minute_idx"),
        ]
        permissions = [
            ("view_sale_console", _("Can view the live on-sale console")),
            ("view_sale_report", _("Can view and download the post-sale report")),
        ]

    def __str__(self) -> str:
        return f"{self.minute:%H:%M} {self.view} {self.status} {self.cause}: {self.n}"
