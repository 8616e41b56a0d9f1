"""The "Show built-in @ events" toggle in a real browser: on by default in a contact's timeline,
off by default on the dashboard's events chart; each kept in the address. Screenshots are kept in
test-artifacts/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.campaigns.factories import subscribe, track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ann(app):
    """Custom events, and the built-ins Beacon recorded (@APP_OPEN, @OPT_IN): these newest."""
    now = timezone.now()
    for minutes in range(1, 4):
        track(app, "ann", "purchase_completed", at=now - timedelta(minutes=minutes), amount=minutes)
    return subscribe(app, "ann")


def timeline_names(page) -> list[str]:
    return page.locator("#timeline .event-name").all_inner_texts()


def test_the_timeline_shows_built_in_events_until_they_are_hidden(
    page, live_server, app, ann, signed_in, screenshot
):
    signed_in("Marketer", app)
    page.goto(f"{live_server.url}/admin/contacts/contact/{ann.pk}/change/")
    assert page.locator("#timeline-built-in").is_checked()
    assert {"@APP_OPEN", "@OPT_IN"} <= set(timeline_names(page))
    screenshot("timeline-built-in-shown")
    page.uncheck("#timeline-built-in")
    page.click("#timeline .timeline-filter button[type=submit]")
    page.wait_for_url("**builtin=0**")
    assert not page.locator("#timeline-built-in").is_checked()
    assert timeline_names(page) == ["page_viewed"] + ["purchase_completed"] * 3
    screenshot("timeline-built-in-hidden")
    page.reload()  # the address keeps the choice
    assert not page.locator("#timeline-built-in").is_checked()


def test_the_dashboard_chart_counts_built_in_events_only_when_asked(
    page, live_server, app, ann, signed_in
):
    signed_in("Marketer", app)
    assert not page.locator("#events-built-in").is_checked()
    legend = page.locator("#events-per-type tbody").inner_text()
    assert "@" not in legend and "purchase_completed" in legend
    assert page.locator("#figure-events .figure-value").inner_text() == "4"
    page.check("#events-built-in")
    page.click("#events-chart-options button[type=submit]")
    page.wait_for_url("**builtin=1**")
    assert page.locator("#events-built-in").is_checked()
    assert "@OPT_IN" in page.locator("#events-per-type tbody").inner_text()
    assert int(page.locator("#figure-events .figure-value").inner_text()) > 4
