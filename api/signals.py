"""Keep the per-process API key cache (api.authentication) honest: a save or
delete of a key or a partner drops it in this process at once; other
processes see the change within API_KEY_CACHE_SECONDS."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from api.authentication import api_key_cache_forget
from api.models import ApiKey, Partner


def _forget(sender, **kwargs) -> None:
    api_key_cache_forget()


def connect() -> None:
    for model in (ApiKey, Partner):
        uid = f"api_key_cache_{model.__name__}"
        post_save.connect(_forget, sender=model, dispatch_uid=uid)
        post_delete.connect(_forget, sender=model, dispatch_uid=uid)
