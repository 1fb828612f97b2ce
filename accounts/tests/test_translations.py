from __future__ import annotations

import pytest
from django.utils import translation

from accounts import exceptions, services
from accounts.tests.factories import PHONE

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "button"), [("ru", "Получить код"), ("kk", "Код алу"), ("en", "Send code")]
)
def test_sign_in_page_speaks_the_buyers_language(client, language, button):
    response = client.get("/account/signin/", headers={"accept-language": language})
    assert button in response.content.decode()


def test_retry_message_is_translated_with_russian_plurals(send):
    send()
    with translation.override("ru"), pytest.raises(exceptions.TooManyCodes) as info:
        services.code_send(identity_raw=PHONE, ip=None)
    text = str(info.value.message)
    assert text.startswith("Код только что отправлен. Новый можно запросить через ")
    assert "секунд" in text


def test_sms_goes_out_in_the_language_of_the_request(client, post, settings):
    from accounts.sms import FileSmsBackend

    post(client, "/account/signin/", {"identity": PHONE}, headers={"accept-language": "kk"})
    text = FileSmsBackend(settings.SMS_FILE_PATH).messages(PHONE)[-1]["text"]
    assert text.startswith("kassa коды: ")
