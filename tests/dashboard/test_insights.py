"""Insights (the dashboard's saved charts): their figures against hand-computed answers (bucket
edges on the app's clock, measures, split values, a segment's members), and the services'
checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from contacts.services.apps import app_create
from dashboard.insights import insight_data
from dashboard.models import Insight
from dashboard.services import insight_create, insight_delete, insight_update
from events.models import Event, EventType
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import subscribe, track

# A Saturday, in the past (ingest refuses events from the future).
NOW = datetime(2025, 3, 15, 10, 30, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def chart(app, event_name: str, **fields) -> Insight:
    event_type = EventType.objects.get(app=app, name=event_name)
    return insight_create(app=app, name=f"{event_name} chart", event_type=event_type, **fields)


def data(insight: Insight) -> dict:
    return insight_data(insight=insight, now=NOW)


def values(result: dict) -> dict[str, list]:
    return {series["name"]: series["values"] for series in result["series"]}


@pytest.fixture
def tokyo(db):
    """An app on Tokyo's clock (UTC+9, no daylight saving): its days start at 15:00 UTC."""
    return app_create(name="Tokyo shop", tenant_id="tokyo", timezone_name="Asia/Tokyo")


# Buckets and their edges -------------------------------------------------------------------------
def test_a_daily_count_runs_over_the_last_7_days_of_the_apps_clock(tokyo):
    track(tokyo, "ann", "purchase", at=at("2025-03-08 14:59:59"))  # 8 Mar 23:59:59 in Tokyo
    track(tokyo, "ann", "purchase", at=at("2025-03-08 15:00:00"))  # 9 Mar 00:00 in Tokyo
    track(tokyo, "bob", "purchase", at=at("2025-03-14 14:59:59"))  # 14 Mar, last second
    track(tokyo, "bob", "purchase", at=at("2025-03-14 15:00:00"))  # 15 Mar, first second
    track(tokyo, "bob", "purchase", at=at("2025-03-15 10:29:00"))  # 15 Mar, before now
    track(tokyo, "bob", "purchase", at=at("2025-03-15 10:31:00"))  # after now
    result = data(chart(tokyo, "purchase", period="7d", granularity="day"))
    assert result["labels"] == [f"{day:02d} Mar" for day in range(9, 16)]
    assert values(result) == {"purchase": [1, 0, 0, 0, 0, 1, 2]}
    assert result["total"] == 4 and result["kind"] == "bar"


def test_the_same_events_on_a_utc_clock_fall_on_other_days(app):
    track(app, "ann", "purchase", at=at("2025-03-08 23:59:59"))  # before the window
    track(app, "ann", "purchase", at=at("2025-03-09 00:00:00"))
    track(app, "ann", "purchase", at=at("2025-03-14 23:59:59"))
    track(app, "ann", "purchase", at=at("2025-03-15 00:00:00"))
    result = data(chart(app, "purchase", period="7d", granularity="day"))
    assert values(result)["purchase"] == [1, 0, 0, 0, 0, 1, 1]


def test_an_hourly_count_covers_the_current_hour_and_the_23_before(app):
    track(app, "ann", "purchase", at=at("2025-03-14 10:59:59"))  # before the first hour
    track(app, "ann", "purchase", at=at("2025-03-14 11:00:00"))
    track(app, "ann", "purchase", at=at("2025-03-15 09:59:59"))
    track(app, "ann", "purchase", at=at("2025-03-15 10:00:00"))
    track(app, "ann", "purchase", at=at("2025-03-15 10:15:00"))
    result = data(chart(app, "purchase", period="24h", granularity="hour"))
    assert len(result["labels"]) == 24
    assert result["labels"][0] == "11:00" and result["labels"][-1] == "10:00"
    counts = values(result)["purchase"]
    assert counts[0] == 1 and counts[-2] == 1 and counts[-1] == 2 and result["total"] == 4


def test_weeks_start_on_monday_and_30_days_are_five_of_them(app):
    track(app, "ann", "purchase", at=at("2025-02-09 23:59:59"))  # a Sunday: before
    track(app, "ann", "purchase", at=at("2025-02-10 00:00:00"))  # Monday, first week
    track(app, "ann", "purchase", at=at("2025-03-09 23:59:59"))  # Sunday, fourth week
    track(app, "ann", "purchase", at=at("2025-03-10 00:00:00"))  # Monday, this week
    result = data(chart(app, "purchase", period="30d", granularity="week"))
    assert result["labels"] == ["10 Feb", "17 Feb", "24 Feb", "03 Mar", "10 Mar"]
    assert values(result)["purchase"] == [1, 0, 0, 1, 1]


def test_a_date_range_runs_from_the_first_midnight_to_the_end_of_the_last_day(tokyo):
    track(tokyo, "ann", "purchase", at=at("2025-02-28 14:59:59"))  # 28 Feb in Tokyo
    track(tokyo, "ann", "purchase", at=at("2025-02-28 15:00:00"))  # 1 Mar 00:00 in Tokyo
    track(tokyo, "ann", "purchase", at=at("2025-03-02 14:59:59"))  # 2 Mar 23:59:59
    track(tokyo, "ann", "purchase", at=at("2025-03-02 15:00:00"))  # 3 Mar: after
    insight = chart(
        tokyo,
        "purchase",
        period="range",
        date_from=date(2025, 3, 1),
        date_to=date(2025, 3, 2),
        granularity="day",
    )
    result = data(insight)
    assert result["labels"] == ["01 Mar", "02 Mar"]
    assert values(result)["purchase"] == [1, 1]


def test_an_hour_of_a_half_hour_time_zone_starts_at_half_past_utc(db):
    india = app_create(name="India", tenant_id="india", timezone_name="Asia/Kolkata")
    track(india, "ann", "purchase", at=at("2025-03-15 09:29:59"))  # 14:59:59 in India
    track(india, "ann", "purchase", at=at("2025-03-15 09:30:00"))  # 15:00 in India
    result = data(chart(india, "purchase", period="24h", granularity="hour"))
    assert result["labels"][-1] == "16:00"  # now: 16:00 in India
    assert values(result)["purchase"][-3:] == [1, 1, 0]


# Measures ----------------------------------------------------------------------------------------
@pytest.fixture
def orders(app):
    """Orders over two days; one amount a string, one missing: neither is a number."""
    for amount, day in [(10, 13), (30, 13), (5, 13), (20, 14)]:
        track(app, "ann", "order", at=at(f"2025-03-{day} 12:00:00"), amount=amount)
    track(app, "ann", "order", at=at("2025-03-13 13:00:00"))  # no amount
    track(app, "bob", "order", at=at("2025-03-13 14:00:00"), amount=999)
    Event.objects.filter(params__amount=999).update(params={"amount": "7"})  # stored as text
    return app


@pytest.mark.parametrize(
    ("measure", "last_three", "total"),
    [
        ("count", [0, 5, 1], 6),  # every order, with or without an amount
        ("sum", [0, 45, 20], 65),
        ("avg", [None, 15, 20], 16.25),  # 65 / 4: an average of the events, not of the days
        ("min", [None, 5, 20], 5),
        ("max", [None, 30, 20], 30),
    ],
)
def test_measures_read_only_the_number_values_of_the_param(orders, measure, last_three, total):
    param = "" if measure == "count" else "amount"
    result = data(chart(orders, "order", measure=measure, param=param, period="7d"))
    assert values(result)[next(iter(values(result)))][-4:-1] == last_three
    assert result["total"] == total
    assert result["kind"] == ("bar" if measure in ("count", "sum") else "line")


@pytest.mark.parametrize(
    ("measure", "expected_bucket", "expected_total"),
    [("count", 0, 0), ("sum", 0, 0), ("avg", None, None), ("max", None, None)],
)
def test_no_events_gives_zeros_and_no_average(app, measure, expected_bucket, expected_total):
    track(app, "ann", "order", at=at("2025-01-01 12:00:00"), amount=3)  # long before
    param = "" if measure == "count" else "amount"
    result = data(chart(app, "order", measure=measure, param=param, period="30d"))
    [series] = result["series"]
    assert series["values"] == [expected_bucket] * 30
    assert result["total"] == expected_total


# Split and segment -------------------------------------------------------------------------------
@pytest.fixture
def categories(app):
    events = [
        ("shoes", 10, 13),
        ("shoes", 10, 13),
        ("shoes", 10, 14),
        ("hats", 50, 13),
        ("hats", 50, 14),
        ("bags", 500, 14),
        ("socks", 1, 14),
    ]
    for n, (category, amount, day) in enumerate(events):  # a minute apart: not duplicates
        moment = at(f"2025-03-{day} 12:{n:02d}:00")
        track(app, "ann", "order", at=moment, category=category, amount=amount)
    track(app, "ann", "order", at=at("2025-03-14 13:00:00"), amount=2)  # no category
    track(app, "ann", "order", at=at("2025-03-14 13:30:00"), category="gloves", amount=3)
    Event.objects.filter(params__category="gloves").update(params={"category": 5, "amount": 3})
    return app


def test_a_split_keeps_the_top_values_by_events_and_adds_up_the_rest_as_other(categories):
    result = data(chart(categories, "order", split_param="category", top_n=2, period="7d"))
    series = values(result)
    assert list(series) == ["shoes", "hats", "other"]
    assert [column[-3:-1] for column in series.values()] == [[2, 1], [1, 1], [0, 4]]
    assert result["total"] == 9


def test_a_split_sum_ranks_values_by_their_sum(categories):
    insight = chart(
        categories, "order", measure="sum", param="amount", split_param="category", top_n=2
    )
    series = values(data(insight))
    assert list(series) == ["bags", "hats", "other"]
    assert sum(series["bags"]) == 500 and sum(series["hats"]) == 100
    assert sum(series["other"]) == 30 + 1 + 2 + 3


def test_a_split_average_of_other_is_over_its_events_not_its_values(categories):
    insight = chart(
        categories, "order", measure="avg", param="amount", split_param="category", top_n=1
    )
    series = values(data(insight))
    assert list(series) == ["shoes", "other"]
    # 14 Mar: hats 50, bags 500, socks 1, no category 2, a number category 3
    assert series["other"][-2] == pytest.approx((50 + 500 + 1 + 2 + 3) / 5)
    assert series["other"][-3] == 50  # 13 Mar: hats alone


def test_a_segment_keeps_only_its_members_events(app):
    subscribe(app, "ann")  # the only contact with a device
    track(app, "ann", "order", at=at("2025-03-14 12:00:00"))
    track(app, "ann", "order", at=at("2025-03-14 13:00:00"))
    track(app, "bob", "order", at=at("2025-03-14 12:00:00"))
    segment = segment_create(app=app, name="With a device", conditions={"type": "device"})
    segment_refresh(segment=segment)
    assert data(chart(app, "order", period="7d"))["total"] == 3
    assert data(chart(app, "order", period="7d", segment=segment))["total"] == 2


def test_another_apps_events_of_the_same_name_are_not_counted(app, other_app):
    track(app, "ann", "order", at=at("2025-03-14 12:00:00"))
    track(other_app, "ann", "order", at=at("2025-03-14 12:00:00"))
    assert data(chart(app, "order", period="7d"))["total"] == 1


# Services ----------------------------------------------------------------------------------------
@pytest.fixture
def typed(app):
    track(app, "ann", "order", at=NOW - timedelta(hours=1), amount=5, category="shoes")
    return EventType.objects.get(app=app, name="order")


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"name": " "}, "name", "may not be blank"),
        ({"measure": "median"}, "measure", "must be one of"),
        ({"measure": "sum"}, "param", "is required"),
        ({"measure": "sum", "param": "category"}, "param", "not a number attribute of order"),
        ({"measure": "avg", "param": "nope"}, "param", "not a number attribute"),
        ({"param": "amount"}, "param", "only for sum, average, min and max"),
        ({"split_param": "amount"}, "split_param", "not a string attribute of order"),
        ({"top_n": 0}, "top_n", "from 1 to 10"),
        ({"top_n": 11}, "top_n", "from 1 to 10"),
        ({"period": "1y"}, "period", "must be one of"),
        ({"granularity": "minute"}, "granularity", "must be one of"),
        ({"period": "range"}, "date_from", "is required for a from – to range"),
        ({"date_from": date(2025, 1, 1)}, "date_from", "only for a from – to range"),
        (
            {"period": "range", "date_from": date(2025, 2, 1), "date_to": date(2025, 1, 1)},
            "date_to",
            "before the start date",
        ),
        (
            {"period": "range", "date_from": date(2024, 1, 1), "date_to": date(2025, 1, 1)},
            "granularity",
            "more than 800 points",
        ),
    ],
)
def test_a_wrong_chart_is_refused_naming_the_field(app, typed, fields, field, reason):
    base = {"name": "Orders", "event_type": typed}
    if fields.get("period") == "range" and "granularity" not in fields:
        base["granularity"] = "hour"
    errors = errors_of(lambda: insight_create(app=app, **{**base, **fields}))
    assert field in errors and reason in " ".join(errors[field]), errors


def test_another_apps_event_type_or_segment_is_refused(app, other_app, typed):
    track(other_app, "eve", "order", at=NOW - timedelta(hours=1))
    theirs = EventType.objects.get(app=other_app, name="order")
    errors = errors_of(lambda: insight_create(app=app, name="x", event_type=theirs))
    assert errors == {"event_type": ["is not an event type of this app"]}
    segment = segment_create(app=other_app, name="Theirs", conditions={"type": "device"})
    errors = errors_of(lambda: insight_create(app=app, name="x", event_type=typed, segment=segment))
    assert errors == {"segment": ["is not a segment of this app"]}


def test_new_charts_go_last_and_can_be_moved_changed_and_deleted(app, typed):
    first = insight_create(app=app, name="First", event_type=typed)
    second = insight_create(app=app, name="Second", event_type=typed)
    assert (first.position, second.position) == (0, 1)
    changed = insight_update(insight=second, position=0, measure="max", param="amount")
    assert (changed.position, changed.measure, changed.param) == (0, "max", "amount")
    errors = errors_of(lambda: insight_update(insight=second, measure="count"))
    assert "param" in errors  # the stored param stays: the whole chart is checked
    assert errors_of(lambda: insight_update(insight=second, app=None)) == {
        "app": ["cannot be changed"]
    }
    insight_delete(insight=first)
    assert list(Insight.objects.values_list("name", flat=True)) == ["Second"]
