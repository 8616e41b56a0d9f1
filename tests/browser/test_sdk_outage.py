"""The browser SDK on a customer's page, while Beacon's database is down: Beacon answers 503 with
Retry-After, the browser lets the SDK read that header across origins, and the SDK waits that
long, retries the same event and gets it stored once."""

from __future__ import annotations

import time

import pytest
from django.db import OperationalError

from events.api import views as event_views
from events.models import Event
from tests.browser.test_sdk import CUSTOMER_PAGE, customer_site  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)
RETRY_AFTER = 3  # seconds; the SDK's own first backoff is 0.5-1.5 s


def test_a_503_is_retried_after_its_retry_after_and_stored_once(
    page,
    live_server,
    customer_site,  # noqa: F811 - the fixture imported above
    ingest_key,
    monkeypatch,
    console_errors,
):
    monkeypatch.setattr("config.api.Unavailable.wait", RETRY_AFTER)
    ingest = event_views.events_ingest
    answered = []

    def database_down_once(**kwargs):
        if not answered:
            answered.append(time.monotonic())
            raise OperationalError("server closed the connection unexpectedly")
        answered.append(time.monotonic())
        return ingest(**kwargs)

    monkeypatch.setattr(event_views, "events_ingest", database_down_once)
    html = CUSTOMER_PAGE % {"key": ingest_key, "beacon": live_server.url}
    page.goto(customer_site("/shop/", html))
    page.wait_for_function(
        "() => window.results.some((r) => r.command === 'track')", timeout=20_000
    )

    [track] = page.evaluate("() => window.results.filter((r) => r.command === 'track')")
    assert track["ok"] and track["status"] == 200 and track["attempts"] == 2
    assert answered[1] - answered[0] >= RETRY_AFTER - 0.2, answered
    assert Event.objects.filter(event_type__name="product_viewed").count() == 1
    console_errors.take("503")
