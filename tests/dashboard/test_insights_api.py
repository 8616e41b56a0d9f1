"""The insights API (the dashboard's saved charts): managing them, a chart's figures against
events stored by the tracking service (counts per day, a sum, a split, another range and
granularity, the app's clock), every error, keys and tenancy."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from contacts.models import ApiKey
from contacts.services.apps import api_key_create, app_create
from dashboard.insights import insight_data
from dashboard.models import Insight
from events.models import EventType
from events.services.ingest import events_ingest
from segments.services import segment_create

RANGE = {"period": "range", "date_from": "2025-03-10", "date_to": "2025-03-12"}


def ingest(app, name: str, *events: tuple[str, str, dict]) -> None:
    """Each (user, event time, params) stored as the tracking API stores it."""
    payloads = [
        {"event_name": name, "app_user_id": user, "event_time": moment, "params": params}
        for user, moment, params in events
    ]
    results = events_ingest(app=app, payloads=payloads)
    assert not [result.errors for result in results if result.errors]


def admin_client_of(app) -> APIClient:
    _, raw_key = api_key_create(app=app, name="admin key", scope=ApiKey.Scope.ADMIN)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def order(app) -> EventType:
    """Orders on 10 Mar (2), 11 Mar (none) and 12 Mar (3) 2025, UTC, and one on each side."""
    ingest(
        app,
        "order",
        ("ann", "2025-03-09T23:59:59Z", {"category": "shoes", "amount": 1000}),  # before
        ("ann", "2025-03-10T00:00:00Z", {"category": "shoes", "amount": 10}),
        ("bob", "2025-03-10T18:00:00Z", {"category": "hats", "amount": 25}),
        ("ann", "2025-03-12T08:00:00Z", {"category": "shoes", "amount": 5}),
        ("cid", "2025-03-12T12:00:00Z", {"category": "shoes", "amount": 7.5}),
        ("bob", "2025-03-12T23:59:59Z", {"category": "bags", "amount": 100}),
        ("bob", "2025-03-13T00:00:00Z", {"category": "shoes", "amount": 1000}),  # after
    )
    return EventType.objects.get(app=app, name="order")


def create(client, event_type: EventType, **fields) -> dict:
    body = {"name": "Orders", "event_type": event_type.pk, **fields}
    response = client.post("/api/v1/insights", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def data(client, insight_id: int, **query) -> dict:
    response = client.get(f"/api/v1/insights/{insight_id}/data", query)
    assert response.status_code == 200, response.json()
    return response.json()


def refused(response, field: str, reason: str = "") -> list[str]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation" and field in body["detail"], body
    assert reason in " ".join(body["detail"][field]), body
    return body["detail"][field]


# Managing insights -------------------------------------------------------------------------------
def test_an_insight_is_created_listed_read_changed_and_deleted(admin_client, app, order):
    first = create(admin_client, order)
    assert first["event_type"] == order.pk
    assert {k: first[k] for k in ("measure", "param", "period", "granularity", "top_n")} == {
        "measure": "count",
        "param": "",
        "period": "30d",
        "granularity": "day",
        "top_n": 5,
    }
    assert (first["position"], first["on_dashboard"], first["segment"]) == (0, True, None)
    segment = segment_create(app=app, name="Everyone", conditions={"type": "device"})
    second = create(
        admin_client, order, name="Amounts", measure="sum", param="amount", segment=segment.pk
    )
    assert (second["position"], second["segment"]) == (1, segment.pk)

    listing = admin_client.get("/api/v1/insights").json()
    assert listing["count"] == 2
    assert [item["name"] for item in listing["results"]] == ["Orders", "Amounts"]
    assert admin_client.get(f"/api/v1/insights/{second['id']}").json() == second

    changed = admin_client.patch(
        f"/api/v1/insights/{second['id']}",
        {"position": 0, "split_param": "category", "top_n": 2, **RANGE},
        format="json",
    )
    assert changed.status_code == 200, changed.json()
    stored = Insight.objects.get(pk=second["id"])
    assert (stored.position, stored.split_param, stored.top_n) == (0, "category", 2)
    assert (stored.period, stored.date_from, stored.date_to) == (
        "range",
        date(2025, 3, 10),
        date(2025, 3, 12),
    )
    assert (stored.measure, stored.param, stored.name) == ("sum", "amount", "Amounts")
    assert changed.json()["date_from"] == "2025-03-10"

    assert admin_client.delete(f"/api/v1/insights/{first['id']}").status_code == 204
    assert admin_client.get(f"/api/v1/insights/{first['id']}").status_code == 404
    assert list(Insight.objects.values_list("name", flat=True)) == ["Amounts"]


def test_the_listing_is_paginated_in_dashboard_order(admin_client, order):
    for name, position in [("C", 5), ("A", 1), ("B", 1)]:
        create(admin_client, order, name=name, position=position)
    page = admin_client.get("/api/v1/insights", {"page_size": 2}).json()
    assert page["count"] == 3 and page["next"] is not None
    assert [item["name"] for item in page["results"]] == ["A", "B"]
    last = admin_client.get("/api/v1/insights", {"page_size": 2, "page": 2}).json()
    assert [item["name"] for item in last["results"]] == ["C"]


# A chart's figures -------------------------------------------------------------------------------
def test_the_data_counts_the_events_of_each_day(admin_client, app, order):
    insight = create(admin_client, order, **RANGE)
    figures = data(admin_client, insight["id"])
    assert figures == {
        "labels": ["10 Mar", "11 Mar", "12 Mar"],
        "buckets": [
            "2025-03-10T00:00:00",
            "2025-03-11T00:00:00",
            "2025-03-12T00:00:00",
        ],
        "series": [{"name": "order", "values": [2, 0, 3]}],
        "total": 5,
        "kind": "bar",
        "timezone": "UTC",
    }
    # What the dashboard draws for it.
    saved = Insight.objects.get(pk=insight["id"])
    assert insight_data(insight=saved, now=datetime.now(UTC)) == figures


def test_the_data_sums_a_number_param(admin_client, order):
    insight = create(admin_client, order, measure="sum", param="amount", **RANGE)
    figures = data(admin_client, insight["id"])
    assert figures["series"] == [{"name": "Sum of amount", "values": [35, 0, 112.5]}]
    assert figures["total"] == 147.5


@pytest.mark.parametrize(
    ("measure", "expected"),
    [
        # shoes: 3 events; the rest (hats, bags) is "other"
        ("count", {"shoes": [1, 0, 2], "other": [1, 0, 1]}),
        # bags: the largest sum (100); shoes 22.5 and hats 25 are "other"
        ("sum", {"bags": [0, 0, 100], "other": [35, 0, 12.5]}),
    ],
)
def test_a_split_gives_the_top_values_and_other(admin_client, order, measure, expected):
    param = "amount" if measure == "sum" else ""
    insight = create(
        admin_client,
        order,
        measure=measure,
        param=param,
        split_param="category",
        top_n=1,
        **RANGE,
    )
    figures = data(admin_client, insight["id"])
    assert {series["name"]: series["values"] for series in figures["series"]} == expected
    assert [series["name"] for series in figures["series"]] == list(expected)


def test_from_and_to_chart_another_range_at_any_granularity(admin_client, order):
    insight = create(admin_client, order)  # the last 30 days: no order of 2025 in them
    assert data(admin_client, insight["id"])["total"] == 0
    by_day = data(admin_client, insight["id"], **{"from": "2025-03-10", "to": "2025-03-12"})
    assert by_day["series"][0]["values"] == [2, 0, 3] and by_day["total"] == 5
    by_week = data(
        admin_client,
        insight["id"],
        **{"from": "2025-03-09", "to": "2025-03-12", "granularity": "week"},
    )
    # 10 Mar 2025 is a Monday: the week before holds the order of the 9th.
    assert by_week["buckets"] == ["2025-03-03T00:00:00", "2025-03-10T00:00:00"]
    assert by_week["series"][0]["values"] == [1, 5] and by_week["total"] == 6
    stored = Insight.objects.get(pk=insight["id"])
    assert (stored.period, stored.granularity, stored.date_from) == ("30d", "day", None)


def test_the_buckets_follow_the_apps_clock(db):
    tokyo = app_create(name="Tokyo shop", tenant_id="tokyo", timezone_name="Asia/Tokyo")
    ingest(
        tokyo,
        "order",
        ("ann", "2025-03-10T14:59:59Z", {}),  # 10 Mar, 23:59:59 in Tokyo
        ("ann", "2025-03-10T15:00:00Z", {}),  # 11 Mar, 00:00 in Tokyo
        ("ann", "2025-03-11T15:00:00Z", {}),  # 12 Mar: after the range
    )
    client = admin_client_of(tokyo)
    order = EventType.objects.get(app=tokyo, name="order")
    insight = create(client, order, period="range", date_from="2025-03-10", date_to="2025-03-11")
    figures = data(client, insight["id"])
    assert figures["buckets"] == ["2025-03-10T00:00:00", "2025-03-11T00:00:00"]
    assert figures["series"][0]["values"] == [1, 1] and figures["timezone"] == "Asia/Tokyo"


def test_a_rolling_period_runs_up_to_now(admin_client, app):
    ingest(
        app,
        "order",
        ("ann", "2025-03-08T23:59:59Z", {}),  # before the last 7 days
        ("ann", "2025-03-09T00:00:00Z", {}),
        ("ann", "2025-03-15T10:29:00Z", {}),
    )
    order = EventType.objects.get(app=app, name="order")
    insight = create(admin_client, order, period="7d")
    with time_machine.travel(datetime(2025, 3, 15, 10, 30, tzinfo=UTC), tick=False):
        figures = data(admin_client, insight["id"])
    assert figures["labels"][0] == "09 Mar" and figures["labels"][-1] == "15 Mar"
    assert figures["series"][0]["values"] == [1, 0, 0, 0, 0, 0, 1]


@pytest.mark.parametrize("timezone_name", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])
@pytest.mark.parametrize("granularity", ["hour", "day", "week"])
@pytest.mark.parametrize(("first", "last"), [("0001-01-02", "0001-01-02"), ("9999-12-24",) * 2])
def test_the_first_and_last_days_allowed_chart_in_every_timezone(
    db, timezone_name, granularity, first, last
):
    """Far east and west of UTC (+14 and -11; the other way round in year 1, on Local Mean
    Time): a day's edges in UTC, and a week's bucket around the range, are still datetimes."""
    far = app_create(name="Far", tenant_id="far", timezone_name=timezone_name)
    ingest(far, "order", ("ann", "2025-03-10T12:00:00Z", {}))
    client = admin_client_of(far)
    order = EventType.objects.get(app=far, name="order")
    insight = create(client, order, period="range", date_from=first, date_to=last)
    assert data(client, insight["id"], granularity=granularity)["total"] == 0
    query = {"from": first, "to": last, "granularity": granularity}
    assert data(client, insight["id"], **query)["total"] == 0


# Errors ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"name": None}, "name", "may not be null"),
        ({"name": "  "}, "name", "may not be blank"),
        ({"event_type": None}, "event_type", "may not be null"),
        ({"event_type": "1"}, "event_type", "must be an integer"),
        ({"event_type": 0}, "event_type", "greater than or equal to 1"),
        ({"measure": "median"}, "measure", "not a valid choice"),
        ({"measure": "sum"}, "param", "is required to compute the sum"),
        ({"measure": "avg", "param": "category"}, "param", "not a number attribute of order"),
        ({"param": "amount"}, "param", "only for sum, average, min and max"),
        ({"split_param": "amount"}, "split_param", "not a string attribute of order"),
        ({"top_n": 11}, "top_n", "less than or equal to 10"),
        ({"position": -1}, "position", "greater than or equal to 0"),
        ({"period": "range"}, "date_from", "is required for a from – to range"),
        ({"period": "range"}, "date_to", "is required for a from – to range"),
        ({"date_from": "2025-03-10"}, "date_from", "only for a from – to range"),
        ({**RANGE, "date_to": "2025-03-01"}, "date_to", "is before the start date"),
        ({**RANGE, "date_to": "2025-03-99"}, "date_to", "wrong format"),
        ({**RANGE, "date_from": "0001-01-01"}, "date_from", "between 0001-01-02 and 9999-12-24"),
        ({**RANGE, "date_to": "9999-12-31"}, "date_to", "between 0001-01-02 and 9999-12-24"),
        (
            {**RANGE, "date_to": "2025-05-01", "granularity": "hour"},
            "granularity",
            "more than 800 points",
        ),
        ({"on_dashboard": "yes"}, "on_dashboard", "must be true or false"),
    ],
)
def test_a_wrong_insight_is_refused_naming_the_field(admin_client, order, fields, field, reason):
    body = {"name": "Orders", "event_type": order.pk, **fields}
    refused(admin_client.post("/api/v1/insights", body, format="json"), field, reason)
    assert not Insight.objects.exists()


def test_another_apps_event_type_or_segment_is_refused(admin_client, order, other_app):
    ingest(other_app, "order", ("eve", "2025-03-10T12:00:00Z", {}))
    theirs = EventType.objects.get(app=other_app, name="order")
    body = {"name": "Orders", "event_type": theirs.pk}
    response = admin_client.post("/api/v1/insights", body, format="json")
    assert refused(response, "event_type") == ["is not an event type of this app"]
    segment = segment_create(app=other_app, name="Theirs", conditions={"type": "device"})
    body = {"name": "Orders", "event_type": order.pk, "segment": segment.pk}
    response = admin_client.post("/api/v1/insights", body, format="json")
    assert refused(response, "segment") == ["is not a segment of this app"]


def test_a_change_is_checked_against_the_whole_chart(admin_client, order):
    insight = create(admin_client, order, measure="sum", param="amount")
    url = f"/api/v1/insights/{insight['id']}"
    refused(admin_client.patch(url, {"measure": "count"}, format="json"), "param", "only for")
    refused(admin_client.patch(url, {"name": ""}, format="json"), "name", "may not be blank")
    assert Insight.objects.get().measure == "sum"
    response = admin_client.patch(url, {"measure": "count", "param": ""}, format="json")
    assert response.status_code == 200 and response.json()["measure"] == "count"


@pytest.mark.parametrize(
    ("query", "field", "reason"),
    [
        ({"from": "2025-03-10"}, "to", "is required for a from – to range"),
        ({"to": "2025-03-10"}, "from", "is required for a from – to range"),
        ({"from": "2025-03-10", "to": "2025-03-09"}, "to", "is before the start date"),
        ({"from": "10/03/2025", "to": "2025-03-12"}, "from", "wrong format"),
        ({"from": "0001-01-01", "to": "2025-03-12"}, "from", "between 0001-01-02"),
        ({"from": "2025-01-01", "to": "2025-03-12", "granularity": "hour"}, "granularity", "800"),
        ({"granularity": "minute"}, "granularity", "not a valid choice"),
        ({"from": ""}, "from", "wrong format"),
        ({"to": ""}, "to", "wrong format"),
        ({"granularity": ""}, "granularity", "not a valid choice"),
    ],
)
def test_a_wrong_range_for_the_data_is_refused_naming_the_parameter(
    admin_client, order, query, field, reason
):
    insight = create(admin_client, order)
    response = admin_client.get(f"/api/v1/insights/{insight['id']}/data", query)
    refused(response, field, reason)


def test_another_apps_insight_is_not_found(admin_client, other_admin_client, order):
    insight = create(admin_client, order)
    url = f"/api/v1/insights/{insight['id']}"
    assert other_admin_client.get("/api/v1/insights").json()["count"] == 0
    for response in [
        other_admin_client.get(url),
        other_admin_client.get(f"{url}/data"),
        other_admin_client.patch(url, {"name": "Mine now"}, format="json"),
        other_admin_client.delete(url),
    ]:
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "detail": "no such insight"}
    assert Insight.objects.get().name == "Orders"


def test_ingest_keys_and_requests_without_a_key_are_refused(admin_client, ingest_client, order):
    insight = create(admin_client, order)
    url = f"/api/v1/insights/{insight['id']}"
    body = {"name": "Theirs", "event_type": order.pk}
    calls = [
        lambda client: client.get("/api/v1/insights"),
        lambda client: client.post("/api/v1/insights", body, format="json"),
        lambda client: client.get(url),
        lambda client: client.patch(url, {"name": "Theirs"}, format="json"),
        lambda client: client.delete(url),
        lambda client: client.get(f"{url}/data"),
    ]
    for call in calls:
        forbidden = call(ingest_client)
        assert forbidden.status_code == 403 and forbidden.json()["error"] == "permission"
        assert call(APIClient()).status_code == 401
    assert list(Insight.objects.values_list("name", flat=True)) == ["Orders"]
