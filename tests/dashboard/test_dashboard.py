"""The dashboard (the admin's index): its figures, read by a fixed number of indexed queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.services.triggers import trigger_marks_process
from contacts.models import App, Contact
from dashboard.selectors import dashboard_get
from events.selectors import top_series
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe, track

# The dashboard's "now", a little in the past: ingest refuses events from the future.
NOW = timezone.now().replace(minute=30, second=0, microsecond=0) - timedelta(hours=2)


def figures(*apps: App) -> dict:
    return dashboard_get(apps=App.objects.filter(pk__in=[a.pk for a in apps]), now=NOW)


def series(dashboard: dict) -> dict[str, list[int]]:
    return {s["name"]: s["counts"] for s in dashboard["events"]["chart"]["series"]}


def test_events_are_counted_per_hour_and_type_over_the_last_24_hours(app, other_app):
    track(app, "ann", "purchase_completed", at=NOW - timedelta(minutes=10))
    track(app, "ann", "purchase_completed", at=NOW - timedelta(minutes=20))
    track(app, "bob", "purchase_completed", at=NOW - timedelta(hours=5))
    track(app, "ann", "cart_viewed", at=NOW - timedelta(hours=23))
    track(app, "ann", "cart_viewed", at=NOW - timedelta(hours=30))  # too old
    track(app, "ann", "cart_viewed", at=NOW + timedelta(hours=1))  # after the dashboard's now
    track(other_app, "eve", "purchase_completed", at=NOW)  # another app
    dashboard = figures(app)
    chart = dashboard["events"]["chart"]
    assert len(chart["labels"]) == 24 and chart["labels"][-1] == NOW.strftime("%H:00")
    purchases = series(dashboard)["purchase_completed"]
    assert purchases[-1] == 2 and purchases[-6] == 1 and sum(purchases) == 3
    assert sum(series(dashboard)["cart_viewed"]) == 1
    per_type = dict(dashboard["events"]["per_type"])
    assert per_type["purchase_completed"] == 3
    assert dashboard["events"]["total"] == sum(per_type.values())
    assert figures(app, other_app)["events"]["per_type"][0] == ("purchase_completed", 4)


def test_past_the_top_event_types_the_rest_are_summed_as_other():
    counts = {f"event_{n}": [n, 1] for n in range(7)}
    series = top_series(counts, top=5)
    assert list(series) == ["event_6", "event_5", "event_4", "event_3", "event_2", "other"]
    assert series["other"] == [0 + 1, 1 + 1]
    assert list(top_series({"a": [1, 2]}, top=5)) == ["a"]


def test_new_contacts_in_a_day_and_a_week_and_reachable_devices(app, other_app):
    subscribe(app, "new")
    subscribe(app, "this-week")
    subscribe(app, "old")
    subscribe(app, "denied", granted=False)
    subscribe(other_app, "theirs")
    Contact.objects.filter(external_id="this-week").update(created_at=NOW - timedelta(days=3))
    Contact.objects.filter(external_id="old").update(created_at=NOW - timedelta(days=9))
    dashboard = figures(app)
    assert dashboard["contacts_new"] == {"day": 2, "week": 3}
    assert dashboard["devices_reachable"] == 3


def test_the_largest_segments_and_the_recent_campaigns_with_open_rates(app, other_app):
    campaign = active_campaign(app, name="After purchase")
    for user in ("ann", "bob", "cy"):
        subscribe(app, user)
        track(app, user, "purchase_completed")
    trigger_marks_process()
    Delivery.objects.update(status=Delivery.Status.SENT, sent_at=NOW)
    Delivery.objects.filter(contact__external_id="ann").update(opened_at=NOW)
    for name, conditions in [("Everyone", {"type": "device"}), ("Nobody", {"type": "device"})]:
        segment_refresh(segment=segment_create(app=app, name=name, conditions=conditions))
    segment_create(app=other_app, name="Theirs", conditions={"type": "device"})
    dashboard = figures(app)
    assert [(s.name, s.member_count) for s in dashboard["segments"]][0] == ("Everyone", 3)
    assert {s.name for s in dashboard["segments"]} == {"Everyone", "Nobody"}
    [(listed, stats)] = dashboard["campaigns"]
    assert listed == campaign
    assert (stats["sent"], stats["opened"], stats["open_percent"]) == (3, 1, 33.3)


def test_the_dashboard_reads_with_a_fixed_number_of_queries(
    role_client, app, django_assert_max_num_queries
):
    client = role_client("Marketer", app)
    for n in range(3):
        active_campaign(app, name=f"Campaign {n}")
        track(app, f"user{n}", "purchase_completed")
    # session, user, apps, event types, events, contacts, devices, segments, campaigns and one
    # stats query per listed campaign (at most 5), the app list's permissions
    with django_assert_max_num_queries(20):
        response = client.get("/admin/")
    assert response.status_code == 200


def test_a_marketer_lands_on_the_dashboard_with_its_chart(role_client, app):
    track(app, "ann", "purchase_completed", at=timezone.now())
    page = role_client("Marketer", app).get("/admin/").content.decode()
    assert '<canvas id="events-chart"' in page
    assert 'id="events-chart-data"' in page and "purchase_completed" in page
    assert "dashboard/vendor/chart.umd.min.js" in page
    assert "Push-reachable devices" in page and "Largest segments" in page


@pytest.mark.parametrize("role", ["Marketer", "Admin"])
def test_the_dashboard_shows_nothing_of_another_app(role_client, two_apps, role):
    app, _ = two_apps
    page = role_client(role, app).get("/admin/").content.decode()
    assert "mine-campaign" in page and "mine-segment" in page and "mine_ev" in page
    assert "theirs" not in page
