"""Retention: events past EVENT_RETENTION_DAYS are purged; per-contact statistics stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import ContactEventStats, Event
from events.services.ingest import events_ingest
from events.services.retention import events_purge_expired
from events.tasks import events_purge_expired_task


@pytest.fixture
def history(app, settings):
    """Events 100, 89 and 1 day(s) old for one contact, with a 90-day retention."""
    settings.EVENT_RETENTION_DAYS = 90
    now = timezone.now()
    payloads = [
        {
            "event_name": "purchase_completed",
            "app_user_id": "u1",
            "event_time": (now - timedelta(days=days)).isoformat(),
            "params": {"order_id": f"o-{days}"},
        }
        for days in (100, 89, 1)
    ]
    results = events_ingest(app=app, payloads=payloads)
    assert all(result.errors is None for result in results)
    return now


def stats_snapshot() -> dict:
    return {
        (s.contact_id, s.event_type.name): (s.count, s.first_at, s.last_at)
        for s in ContactEventStats.objects.select_related("event_type")
    }


def kept_orders() -> list[str]:
    events = Event.objects.filter(event_type__name="purchase_completed")
    return sorted(event.params["order_id"] for event in events)


def test_events_past_retention_are_deleted_and_newer_ones_kept(history):
    assert Event.objects.count() == 6  # each purchase opens a session: @APP_OPEN
    assert events_purge_expired() == 2
    assert kept_orders() == ["o-1", "o-89"]
    assert Event.objects.count() == 4


def test_the_purge_keeps_each_contacts_counts_and_first_and_last_times(history):
    before = stats_snapshot()
    count, first_at, last_at = before[next(k for k in before if k[1] == "purchase_completed")]
    assert count == 3 and history - first_at > timedelta(days=99)
    events_purge_expired()
    assert stats_snapshot() == before


def test_the_retention_period_is_read_from_settings(history, settings):
    settings.EVENT_RETENTION_DAYS = 30
    assert events_purge_expired() == 4
    assert kept_orders() == ["o-1"]


def test_the_purge_deletes_in_chunks(history, monkeypatch):
    monkeypatch.setattr("events.services.retention.PURGE_CHUNK", 1)
    assert events_purge_expired(now=history + timedelta(days=10)) == 4
    assert kept_orders() == ["o-1"]


def test_the_periodic_task_purges_when_run_eagerly(history):
    before = stats_snapshot()
    assert events_purge_expired_task.delay().get() == 2
    assert kept_orders() == ["o-1", "o-89"]
    assert stats_snapshot() == before


def test_a_second_purge_finds_nothing_left(history):
    events_purge_expired()
    assert events_purge_expired() == 0
