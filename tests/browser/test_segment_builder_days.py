"""The segment builder on date values: a marketer says "date_delivery is 2026-12-24" as a day (the
day in the app's timezone, no UTC to think about), saves, and gets the contact whose delivery
falls on that day there; reopened, the filter shows the day again. A time stays on offer (in
UTC), a between's two boxes follow the mode, and an array of dates takes times only."""

from __future__ import annotations

import json

import pytest

from contacts.services.apps import app_update
from events.models import EventType
from events.services.event_types import event_type_set_segmentation
from segments.models import Segment
from segments.selectors import segment_member_list
from segments.services import segment_refresh, segment_update
from tests.campaigns.factories import track

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def deliveries(app):
    """A New York shop. late: delivered at 23:30 on the 24th in New York (the 25th in UTC);
    early: at 22:00 on the 23rd in New York (the 24th in UTC); later: on the 28th."""
    app_update(app=app, name=app.name, timezone_name="America/New_York")
    track(app, "late", "purchase_completed", date_delivery="2026-12-24T23:30:00-05:00")
    track(app, "early", "purchase_completed", date_delivery="2026-12-24T03:00:00Z")
    track(app, "later", "purchase_completed", date_delivery="2026-12-28T12:00:00Z")
    track(app, "trip", "trip_booked", date_stops=["2026-12-24T10:00:00Z", "2026-12-26T10:00:00Z"])
    for name in ("purchase_completed", "trip_booked"):
        event_type_set_segmentation(
            event_type=EventType.objects.get(app=app, name=name), enabled=True
        )
    return app


def wait_for_count(page, count: int) -> None:
    page.wait_for_selector(f"#segment-builder-count[data-status=ok][data-count='{count}']")


def wait_for_the_count_of(page, where: list) -> None:
    """Until the form's input holds `where` on its first condition and the count is for it."""
    page.wait_for_function(
        """(where) => {
            const input = document.getElementById("id_conditions").value;
            const box = document.getElementById("segment-builder-count");
            const tree = JSON.parse(input);
            return JSON.stringify(tree.conditions[0].where) === JSON.stringify(where)
                && box.dataset.status === "ok" && box.dataset.counted === input;
        }""",
        arg=where,
    )


def where_of(page) -> list:
    return json.loads(page.input_value("#id_conditions"))["conditions"][0]["where"]


def add_condition(page, kind: str):
    root = page.locator(".sb-root")
    root.locator(":scope > .sb-add .sb-add-condition").select_option(kind)
    return root.locator(f".sb-condition[data-node-type={kind}]").last


def test_a_marketer_filters_by_a_day_in_the_apps_timezone(
    page, live_server, deliveries, signed_in, screenshot
):
    signed_in("Marketer", deliveries)
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.wait_for_selector(".sb[data-ready=true]")
    page.fill("#id_name", "Delivered on Christmas Eve")
    event = add_condition(page, "event")
    event.locator(".sb-add-filter").click()
    row = event.locator(".sb-filter")
    row.locator(".sb-param").select_option("date_delivery")
    # A new date filter asks for a day, in a date box.
    assert row.locator(".sb-date-mode").input_value() == "day"
    assert row.locator(".sb-date-mode option").all_inner_texts() == ["a day", "a time (UTC)"]
    row.locator("input[type=date]").fill("2026-12-24")
    wait_for_count(page, 1)
    assert where_of(page) == [{"param": "date_delivery", "op": "=", "value": "2026-12-24"}]
    assert page.locator(".sb-sample").inner_text() == "e.g. late"  # not early, on the 24th in UTC
    screenshot("segment-builder-day")

    # As a time, the day becomes its UTC midnight, in a UTC box; and back.
    row.locator(".sb-date-mode").select_option("time")
    assert row.locator("input[type=datetime-local]").input_value() == "2026-12-24T00:00"
    assert row.locator("input[type=date]").count() == 0
    wait_for_the_count_of(
        page, [{"param": "date_delivery", "op": "=", "value": "2026-12-24T00:00:00Z"}]
    )
    assert page.locator("#segment-builder-count").get_attribute("data-count") == "0"
    row.locator(".sb-date-mode").select_option("day")
    wait_for_count(page, 1)
    assert where_of(page) == [{"param": "date_delivery", "op": "=", "value": "2026-12-24"}]

    # Between: two days, both boxes in the mode, both days included.
    row.locator(".sb-op").select_option("between")
    days = row.locator("input[type=date]")
    assert days.count() == 2 and days.nth(0).input_value() == "2026-12-24"
    days.nth(1).fill("2026-12-28")
    wait_for_count(page, 2)  # late and later
    assert where_of(page) == [
        {"param": "date_delivery", "op": "between", "value": ["2026-12-24", "2026-12-28"]}
    ]
    row.locator(".sb-date-mode").select_option("time")
    assert row.locator("input[type=datetime-local]").count() == 2
    between = ["2026-12-24T00:00:00Z", "2026-12-28T00:00:00Z"]
    wait_for_the_count_of(page, [{"param": "date_delivery", "op": "between", "value": between}])
    row.locator(".sb-date-mode").select_option("day")
    row.locator(".sb-op").select_option("=")
    wait_for_count(page, 1)

    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    segment = Segment.objects.get(name="Delivered on Christmas Eve")
    assert segment.conditions["conditions"][0]["where"] == [
        {"param": "date_delivery", "op": "=", "value": "2026-12-24"}
    ]
    segment_refresh(segment=segment)
    assert [m.contact.external_id for m in segment_member_list(segment=segment)] == ["late"]

    # Reopened: the stored day opens in day mode.
    page.wait_for_selector(".sb[data-ready=true]")
    wait_for_count(page, 1)
    row = page.locator(".sb-filter")
    assert row.locator(".sb-date-mode").input_value() == "day"
    assert row.locator("input[type=date]").input_value() == "2026-12-24"
    assert row.locator("input[type=datetime-local]").count() == 0


def test_a_stored_time_opens_as_a_time_and_an_array_of_dates_takes_times_only(
    page, live_server, deliveries, signed_in
):
    signed_in("Marketer", deliveries)
    page.goto(f"{live_server.url}/admin/segments/segment/add/")
    page.wait_for_selector(".sb[data-ready=true]")
    # A contact date field takes a day too.
    contact = add_condition(page, "contact")
    contact.locator(".sb-field").select_option("created_at")
    assert contact.locator(".sb-date-mode").input_value() == "day"
    contact.locator("input[type=date]").fill("2020-01-01")
    contact.locator(".sb-op").select_option(">=")
    wait_for_count(page, 4)  # everyone was created after that day (they were created now)
    tree = json.loads(page.input_value("#id_conditions"))
    assert tree["conditions"][0] == {
        "type": "contact",
        "field": "created_at",
        "op": ">=",
        "value": "2020-01-01",
    }
    # An array of dates holds instants: a time box in UTC, with no day to pick.
    event = add_condition(page, "event")
    event.locator(".sb-event").select_option("trip_booked")
    event.locator(".sb-add-filter").click()
    row = event.locator(".sb-filter")
    row.locator(".sb-param").select_option("date_stops")
    row.locator(".sb-op").select_option("contains")
    assert row.locator(".sb-date-mode").count() == 0
    assert row.locator(".sb-utc").inner_text() == "UTC"
    row.locator("input[type=datetime-local]").fill("2026-12-24T10:00")
    wait_for_count(page, 1)  # trip
    tree = json.loads(page.input_value("#id_conditions"))
    assert tree["conditions"][1]["where"] == [
        {"param": "date_stops", "op": "contains", "value": "2026-12-24T10:00:00Z"}
    ]

    # A stored instant opens in time mode.
    page.fill("#id_name", "Times")
    page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist .success")
    segment = Segment.objects.get(name="Times")
    conditions = {
        "type": "event",
        "event": "purchase_completed",
        "where": [{"param": "date_delivery", "op": "<", "value": "2026-12-25T12:00:00Z"}],
    }
    segment_update(segment=segment, conditions=conditions)
    page.reload()
    page.wait_for_selector(".sb[data-ready=true]")
    wait_for_count(page, 2)  # early and late
    row = page.locator(".sb-filter")
    assert row.locator(".sb-date-mode").input_value() == "time"
    assert row.locator("input[type=datetime-local]").input_value() == "2026-12-25T12:00"
