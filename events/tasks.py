from __future__ import annotations

from celery import shared_task

from events.services import allocations_release_due


@shared_task(name="events.allocations_release_due", ignore_result=True)
def release_due_allocations() -> int:
    """Stamp and audit the allocations whose release time has come (beat,
    every ALLOCATION_RELEASE_SECONDS). Buyers never wait for it: a take
    treats an allocation past its release_at as released already."""
    return allocations_release_due()
