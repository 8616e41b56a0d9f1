"""The VAPID key pair's admin page: read-only, the private key never shown, and a rotation behind
a confirmation page that only Admins (and superusers) reach, refused for keys from the settings."""

from __future__ import annotations

import pytest

from campaigns.models import VapidKeyPair
from campaigns.vapid import vapid_keys, vapid_keys_ensure

pytestmark = pytest.mark.usefixtures("fresh_vapid_cache")

LIST = "/admin/campaigns/vapidkeypair/"
ROTATE = "/admin/campaigns/vapidkeypair/rotate/"
WARNING = "Every existing browser subscription stops working."


@pytest.fixture(params=["Admin", "superuser"])
def admin_browser(request, app):
    if request.param == "superuser":
        return request.getfixturevalue("staff_client")
    return request.getfixturevalue("role_client")("Admin", app)


def test_an_admin_rotates_the_keys_after_a_confirmation_page(admin_browser):
    old = vapid_keys_ensure()
    assert f'href="{ROTATE}"' in admin_browser.get(LIST).text

    confirmation = admin_browser.get(ROTATE)
    assert confirmation.status_code == 200
    assert WARNING in confirmation.text
    assert VapidKeyPair.objects.get(is_active=True) == old  # looking changes nothing

    response = admin_browser.post(ROTATE, follow=True)
    new = VapidKeyPair.objects.get(is_active=True)
    assert new.public_key != old.public_key
    assert vapid_keys().public_key == new.public_key
    assert f"New VAPID public key: {new.public_key}" in response.text


def test_a_marketer_neither_sees_nor_rotates_the_keys(role_client, app):
    old = vapid_keys_ensure()
    marketer = role_client("Marketer", app)
    assert LIST not in marketer.get("/admin/").text
    assert marketer.get(LIST).status_code == 403
    assert marketer.get(ROTATE).status_code == 403
    assert marketer.post(ROTATE).status_code == 403
    assert list(VapidKeyPair.objects.values_list("pk", "is_active")) == [(old.pk, True)]


def test_keys_from_the_settings_are_not_rotated_here(admin_browser, environment_vapid_keys):
    page = admin_browser.get(LIST).text
    assert "VAPID_PRIVATE_KEY" in page and f'href="{ROTATE}"' not in page
    assert WARNING not in admin_browser.get(ROTATE).text

    response = admin_browser.post(ROTATE, follow=True)

    assert "rotate them there" in response.text
    assert not VapidKeyPair.objects.exists()
    assert vapid_keys().public_key == environment_vapid_keys.public_key


def test_the_private_key_never_appears_in_the_admin(admin_browser):
    old = vapid_keys_ensure()
    pages = [LIST, f"{LIST}{old.pk}/change/", f"{LIST}{old.pk}/history/", ROTATE]
    texts = [admin_browser.get(url).text for url in pages]
    texts.append(admin_browser.post(ROTATE, follow=True).text)
    new = VapidKeyPair.objects.get(is_active=True)
    texts += [admin_browser.get(url).text for url in (LIST, f"{LIST}{new.pk}/change/")]

    assert all(old.public_key in text for text in texts[:2])
    for text in texts:
        assert old.private_key not in text and new.private_key not in text
