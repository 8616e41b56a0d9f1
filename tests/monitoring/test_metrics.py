"""/metrics: hidden without METRICS_TOKEN, token-protected, and counting what happened."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from campaigns.models import Delivery, TriggerMark
from common.metrics import instruments_registry
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-scrape-token"


def samples(text: str) -> dict[tuple, float]:
    """{(name, (label, value), ...): value} of an exposition."""
    return {
        (sample.name, *sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


@pytest.fixture
def scrape(client, db):
    def get() -> dict[tuple, float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return samples(response.content.decode())

    with override_settings(METRICS_TOKEN=TOKEN):
        yield get


@override_settings(METRICS_TOKEN="")
def test_metrics_are_not_found_without_a_token_configured(client, db):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_metrics_refuse_a_missing_or_wrong_token(client, db, header):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'


def test_ingested_and_refused_events_are_counted(scrape, track, ingest_client, client):
    ingested = ("beacon_events_ingested_total", ("app", "shop"))
    invalid = ("beacon_ingest_rejections_total", ("reason", "invalid_event"))
    malformed = ("beacon_ingest_rejections_total", ("reason", "validation"))
    unknown_key = ("beacon_ingest_rejections_total", ("reason", "authentication"))
    before = scrape()

    viewed = {"event_name": "page_viewed", "app_user_id": "ann", "event_id": "e-1"}
    assert track(**viewed).status_code == 200
    assert track(**viewed).json()["duplicate"] is True  # not counted again
    assert track(app_user_id="ann").status_code == 400  # no event name
    batch = {"events": [{"event_name": "a", "app_user_id": "bob"}, {"event_name": ""}]}
    assert ingest_client.post("/api/v1/events/batch", batch, format="json").status_code == 200
    assert ingest_client.post("/api/v1/events/batch", {}, format="json").status_code == 400
    bad_key = client.post(
        "/api/v1/events", {}, content_type="application/json", HTTP_AUTHORIZATION="Bearer nope"
    )
    assert bad_key.status_code == 401

    after = scrape()
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in after}
    assert delta[ingested] == 2
    assert delta[invalid] == 2
    assert delta[malformed] == 1
    assert delta[unknown_key] == 1


def test_queue_gauges_reflect_waiting_marks_and_deliveries(scrape, app):
    now = timezone.now()
    TriggerMark.objects.create(
        app_id=app.pk,
        event_id=1,
        contact_id=1,
        event_type_id=1,
        created_at=now - timedelta(minutes=5),
    )
    campaign, contact = active_campaign(app), subscribe(app, "ann")
    statuses = ["scheduled", "scheduled", "scheduled", "sent", "failed"]
    due = [now - timedelta(minutes=10), now - timedelta(minutes=1), now + timedelta(hours=1)]
    for n, status in enumerate(statuses):
        Delivery.objects.create(
            app=app,
            campaign=campaign,
            contact=contact,
            source=f"t:{n}",
            due_at=due[n] if n < len(due) else now - timedelta(hours=3),
            status=status,
            open_token=f"token-{n}",
            created_at=now - timedelta(hours=4),
        )

    values = scrape()

    assert 290 < values[("beacon_trigger_mark_oldest_age_seconds",)] < 400
    # the sent and failed ones were due earlier, but are not waiting
    assert 590 < values[("beacon_delivery_due_oldest_age_seconds",)] < 700
    by_status = {
        status: values[("beacon_deliveries", ("status", status))]
        for status in Delivery.Status.values
    }
    assert by_status == {
        "scheduled": 3,
        "sending": 0,
        "sent": 1,
        "failed": 1,
        "cancelled": 0,
        "skipped": 0,
    }


def test_queue_gauges_are_zero_when_nothing_waits(scrape):
    values = scrape()
    assert values[("beacon_trigger_mark_oldest_age_seconds",)] == 0
    assert values[("beacon_delivery_due_oldest_age_seconds",)] == 0


def test_a_segment_refresh_is_timed(scrape, app):
    count = ("beacon_segment_refresh_seconds_count", ("kind", "full"))
    before = scrape().get(count, 0)
    segment = segment_create(app=app, name="Subscribed", conditions={"type": "device"})
    segment_refresh(segment=segment)
    assert scrape()[count] == before + 1


COUNT_IN_A_PROCESS = """
from common import metrics
metrics.ingest_rejected(reason="authentication")
metrics.EVENTS_INGESTED.labels(app="shop").inc(3)
"""


def test_counts_of_several_processes_add_up_in_multiprocess_mode(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    for _ in range(2):  # two gunicorn or Celery worker processes
        subprocess.run(
            [sys.executable, "-c", COUNT_IN_A_PROCESS], cwd=ROOT, env=env, check=True, timeout=60
        )
    assert len(list(tmp_path.glob("counter_*.db"))) == 2

    values = samples(generate_latest(instruments_registry(str(tmp_path))).decode())

    assert values[("beacon_ingest_rejections_total", ("reason", "authentication"))] == 2
    assert values[("beacon_events_ingested_total", ("app", "shop"))] == 6
