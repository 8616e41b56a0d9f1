"""Two copies of the same request at once (a client's network retry racing the original)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from contacts.services.apps import app_create
from events.models import Event
from events.services.ingest import events_ingest


def run_together(app, payloads_per_thread):
    barrier = threading.Barrier(len(payloads_per_thread))
    results, errors = [None] * len(payloads_per_thread), []

    def worker(position, payloads):
        try:
            barrier.wait()
            results[position] = events_ingest(app=app, payloads=payloads)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(i, p)) for i, p in enumerate(payloads_per_thread)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_same_event_sent_twice_at_once_is_stored_once():
    app = app_create(name="Race", tenant_id="race")
    payload = {"event_name": "purchase", "app_user_id": "new-user", "event_id": "order-9"}
    for _ in range(5):
        results = run_together(app, [[payload], [payload], [payload]])
        flags = sorted(r[0].duplicate for r in results)
        assert len({r[0].fingerprint for r in results}) == 1
        assert len({r[0].contact_id for r in results}) == 1
    assert flags == [True, True, True]  # the later rounds only find the stored copy
    assert Event.objects.filter(event_type__name="purchase").count() == 1
    assert app.contacts.count() == 1


@pytest.mark.django_db(transaction=True)
def test_batches_creating_the_same_contacts_at_once_both_land():
    app = app_create(name="Race", tenant_id="race2")
    first = [{"event_name": "a", "app_user_id": f"u{i}"} for i in range(50)]
    second = [{"event_name": "b", "app_user_id": f"u{i}"} for i in range(50)]
    results = run_together(app, [first, second])
    assert all(r.errors is None and not r.duplicate for batch in results for r in batch)
    assert app.contacts.count() == 50
    assert Event.objects.filter(event_type__name__in=["a", "b"]).count() == 100


@pytest.mark.django_db(transaction=True)
def test_batches_registering_the_same_new_devices_at_once_both_land():
    app = app_create(name="Race", tenant_id="race3")
    device = {"platform": "android", "push_permission_granted": True}
    for round_ in range(3):
        batches = [
            [
                {"event_name": name, "app_user_id": f"u{i}", "device_token": f"t{round_}-{i}"}
                | device
                for i in range(50)
            ]
            for name in ("a", "b")
        ]
        results = run_together(app, batches)
        assert all(r.errors is None for batch in results for r in batch)
    assert app.devices.count() == 150
    assert Event.objects.filter(event_type__name__in=["a", "b"]).count() == 300


@pytest.mark.django_db(transaction=True)
def test_batches_meeting_the_same_new_devices_wait_for_each_other_instead_of_retrying(
    monkeypatch,
):
    """Four batches at once, each registering the same 50 new devices of known contacts: on
    PostgreSQL each waits for the token locks of the one creating them, then finds the devices
    (no unique violation, no retry). SQLite runs one write transaction at a time anyway."""
    from events.services import ingest as ingest_module

    app = app_create(name="Race", tenant_id="race4")
    events_ingest(
        app=app, payloads=[{"event_name": "x", "app_user_id": f"u{i}"} for i in range(50)]
    )
    retries = []
    real_sleep = ingest_module.time.sleep
    monkeypatch.setattr(
        ingest_module.time, "sleep", lambda seconds: retries.append(seconds) or real_sleep(seconds)
    )
    for round_ in range(3):
        batches = [
            [
                {
                    "event_name": name,
                    "app_user_id": f"u{i}",
                    "device_token": f"t{round_}-{i}",
                    "platform": "android",
                    "push_permission_granted": True,
                }
                for i in range(50)
            ]
            for name in ("a", "b", "c", "d")
        ]
        results = run_together(app, batches)
        assert all(r.errors is None for batch in results for r in batch)
    assert retries == []
    assert app.devices.count() == 150
    assert Event.objects.filter(event_type__name__in=["a", "b", "c", "d"]).count() == 600
