"""The VAPID key pair in the database (campaigns/vapid.py): made once for every host and process,
imported from an older install's var/vapid-keys.json, overridden by the settings, and rotated only
on purpose, which the push config and the provider then follow."""

from __future__ import annotations

import io
import json
import threading

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.db import connection

from campaigns import vapid
from campaigns.models import VapidKeyPair
from campaigns.providers import provider_for
from campaigns.providers.base import Outcome, PushMessage
from campaigns.vapid import (
    CACHE_SECONDS,
    vapid_keys,
    vapid_keys_cache_clear,
    vapid_keys_ensure,
    vapid_keys_rotate,
)
from contacts.models import Device
from tests.campaigns.push_service import b64decode

pytestmark = pytest.mark.usefixtures("fresh_vapid_cache")


def served_key(ingest_client) -> str:
    response = ingest_client.get("/api/v1/push/config")
    assert response.status_code == 200
    return response.json()["vapid_public_key"]


def a_pair() -> dict[str, str]:
    return vapid._generate()


def test_a_pair_is_made_on_first_use_and_kept_after_restarts(db):
    first = vapid_keys()
    for _ in range(3):
        vapid_keys_cache_clear()  # a restart, or another process
        assert vapid_keys() == first
    [stored] = VapidKeyPair.objects.all()
    assert (stored.public_key, stored.private_key, stored.is_active) == (
        first.public_key,
        first.private_key,
        True,
    )
    point = b64decode(first.public_key)
    assert len(point) == 65 and point[0] == 4  # an uncompressed P-256 point
    assert vapid._public_of(first.private_key) == first.public_key


def test_setup_makes_the_pair_once_and_never_rotates_it(db):
    call_command("beacon_setup", stdout=io.StringIO())
    [made] = VapidKeyPair.objects.all()
    call_command("beacon_setup", stdout=io.StringIO())
    assert list(VapidKeyPair.objects.values_list("pk", "public_key")) == [
        (made.pk, made.public_key)
    ]
    assert vapid_keys().public_key == made.public_key


def test_the_push_config_makes_the_pair_when_setup_has_not_run_yet(ingest_client):
    assert not VapidKeyPair.objects.exists()
    key = served_key(ingest_client)
    assert VapidKeyPair.objects.get(is_active=True).public_key == key


def test_keys_in_the_settings_win_over_the_stored_pair(ingest_client, request):
    stored = vapid_keys()  # cached by this process, too
    given = request.getfixturevalue("environment_vapid_keys")
    assert (vapid_keys().public_key, vapid_keys().private_key) == (
        given.public_key,
        given.private_key,
    )
    assert served_key(ingest_client) == given.public_key != stored.public_key
    assert provider_for(0, Device.PushProvider.WEBPUSH).keys.public_key == given.public_key


def test_setup_stores_no_pair_when_the_settings_give_one(db, environment_vapid_keys):
    call_command("beacon_setup", stdout=io.StringIO())
    assert not VapidKeyPair.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_processes_making_the_first_pair_at_once_keep_one(monkeypatch):
    """Both look, find no pair and insert one, each on its own connection: one insert wins."""
    both_looked = threading.Barrier(2, timeout=10)
    generate = vapid._generate

    def generate_once_both_looked() -> dict[str, str]:
        both_looked.wait()
        return generate()

    monkeypatch.setattr(vapid, "_generate", generate_once_both_looked)
    made, errors = [], []

    def ensure() -> None:
        try:
            made.append(vapid_keys_ensure().public_key)
        except Exception as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(made) == 2 and made[0] == made[1]
    assert list(VapidKeyPair.objects.values_list("public_key", flat=True)) == [made[0]]


def test_an_older_installs_keys_file_is_imported_so_browsers_stay_subscribed(
    db, settings, tmp_path, caplog
):
    settings.VAR_DIR = tmp_path
    old = a_pair()
    (tmp_path / "vapid-keys.json").write_text(json.dumps(old))

    call_command("beacon_setup", stdout=io.StringIO())

    pair = VapidKeyPair.objects.get(is_active=True)
    assert (pair.public_key, pair.private_key) == (old["public_key"], old["private_key"])
    assert vapid_keys().public_key == old["public_key"]
    assert "vapid-keys.json" in caplog.text and "no longer read" in caplog.text


def test_the_keys_file_is_not_read_once_a_pair_was_stored(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    stored = vapid_keys_ensure()
    in_file = a_pair()
    (tmp_path / "vapid-keys.json").write_text(json.dumps(in_file))
    VapidKeyPair.objects.update(is_active=False)  # even with no active pair left
    made = vapid_keys_ensure().public_key
    assert made not in (stored.public_key, in_file["public_key"])


def test_a_damaged_keys_file_fails_loudly_instead_of_unsubscribing_everyone(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    mismatched = {"public_key": a_pair()["public_key"], "private_key": a_pair()["private_key"]}
    for content in ["{not json", json.dumps({"public_key": "x"}), json.dumps(mismatched)]:
        (tmp_path / "vapid-keys.json").write_text(content)
        with pytest.raises(ImproperlyConfigured, match="vapid-keys.json"):
            vapid_keys_ensure()
    assert not VapidKeyPair.objects.exists()


def test_a_rotation_changes_the_key_served_and_signed_with_at_once(
    ingest_client, push_service, django_capture_on_commit_callbacks
):
    old = served_key(ingest_client)
    assert provider_for(0, Device.PushProvider.WEBPUSH).keys.public_key == old

    with django_capture_on_commit_callbacks(execute=True):
        rotated = vapid_keys_rotate()

    assert served_key(ingest_client) == rotated.public_key != old
    subscription = push_service.subscription()
    device = Device(platform="web", token=subscription["endpoint"], subscription=subscription)
    outcome = provider_for(0, Device.PushProvider.WEBPUSH).send(device, PushMessage(title="Hi"))
    assert outcome.kind == Outcome.SENT, outcome.error
    [received] = push_service.received(subscription)
    assert received.error == ""  # the service checked the signature against the new key
    assert received.headers["authorization"].endswith(f"k={rotated.public_key}")


def test_a_rotation_retires_the_old_pair_and_forgets_its_private_key(db):
    old = vapid_keys_ensure()
    new = vapid_keys_rotate()
    old.refresh_from_db()
    assert (old.is_active, old.private_key) == (False, "")
    assert VapidKeyPair.objects.get(is_active=True) == new
    assert new.public_key != old.public_key


def test_other_processes_see_a_rotation_within_the_cache_time(db, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(vapid, "monotonic", lambda: clock[0])
    old = vapid_keys().public_key
    # Rotated by another process: no on-commit callback runs in this one.
    new = vapid_keys_rotate().public_key

    clock[0] += CACHE_SECONDS - 1
    assert vapid_keys().public_key == old
    clock[0] += 2
    assert vapid_keys().public_key == new


def test_a_rotation_is_refused_when_the_settings_give_the_keys(db, request):
    stored = vapid_keys_ensure()
    request.getfixturevalue("environment_vapid_keys")
    with pytest.raises(ValidationError, match="environment variables"):
        vapid_keys_rotate()
    assert list(VapidKeyPair.objects.values_list("pk", "is_active")) == [(stored.pk, True)]
