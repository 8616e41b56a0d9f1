"""The data layer (common/db) runs the same statements on SQLite and PostgreSQL: ingest, with the
in-transaction subscribers of events/hooks.py, issues the same number on both, a fixed number
whatever the batch size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import TriggeringEventType
from events.models import EventType

# The key, SAVEPOINT (the test's transaction; BEGIN in production), the stored fingerprints, the
# schema, the contacts, the stats and param stats upserts, the contacts' seen times, the events,
# the subscribers' marks (campaigns' trigger marks, segments' evaluation marks), RELEASE SAVEPOINT
# (COMMIT).
STATEMENTS = 12


def batch(start: int, size: int) -> list[dict]:
    return [
        {"event_name": f"e{i % 3}", "app_user_id": f"u{i % 5}", "params": {"n": start + i}}
        for i in range(size)
    ]


@pytest.fixture
def known(app, ingest_client):
    """Contacts and event types already stored (the steady state), one type a trigger."""
    response = ingest_client.post("/api/v1/events/batch", {"events": batch(0, 20)}, format="json")
    assert response.status_code == 200, response.json()
    TriggeringEventType.objects.create(event_type=EventType.objects.get(app=app, name="e1"))


def statements(post, path: str, payload: dict) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = post(path, payload, format="json")
    assert response.status_code == 200, response.json()
    return [query["sql"] for query in captured.captured_queries]


def test_a_tracked_event_issues_the_same_statements_on_every_database(known, ingest_client):
    sql = statements(ingest_client.post, "/api/v1/events", batch(100, 2)[1])
    assert len(sql) == STATEMENTS, sql
    assert sum(s.startswith("INSERT INTO events_triggermark") for s in sql) == 1
    assert sum(s.startswith("INSERT INTO segments_evaluationmark") for s in sql) == 1


def test_a_batch_issues_as_many_statements_as_one_event(known, ingest_client):
    sql = statements(ingest_client.post, "/api/v1/events/batch", {"events": batch(200, 20)})
    assert len(sql) == STATEMENTS, sql
    assert sum(s.startswith("INSERT INTO events_triggermark") for s in sql) == 1
    assert sum(s.startswith("INSERT INTO segments_evaluationmark") for s in sql) == 1
