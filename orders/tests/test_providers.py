"""Payment providers come from settings.PAYMENT_PROVIDERS, never from an import
side effect: a real acquirer is one more entry there."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments.exceptions import UnknownProvider
from payments.providers import PaymentProvider, provider_get


class AcmeAcquirer(PaymentProvider):
    name = "acme"


def test_a_provider_named_in_the_settings_is_found(settings):
    settings.PAYMENT_PROVIDERS = {
        **settings.PAYMENT_PROVIDERS,
        "acme": "orders.tests.test_providers.AcmeAcquirer",
    }
    assert isinstance(provider_get("acme"), AcmeAcquirer)
    assert provider_get("acme") is provider_get("acme")  # built once per process
    assert provider_get("sandbox").name == "sandbox"


def test_an_unknown_provider_is_the_error_code_not_a_crash(settings):
    with pytest.raises(UnknownProvider):
        provider_get("paypal")


def test_a_provider_under_another_name_is_a_configuration_error(settings):
    settings.PAYMENT_PROVIDERS = {"other": "orders.tests.test_providers.AcmeAcquirer"}
    with pytest.raises(ImproperlyConfigured):
        provider_get("other")
