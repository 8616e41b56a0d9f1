"""Edge cases of docs/segments.md, each answered by the SQL engine and by the reference evaluator
(the `members` fixture runs every test with both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import Contact, Device
from contacts.services.apps import app_update
from events.models import Event, EventType
from events.services.event_types import event_attribute_declare
from segments.models import Segment, SegmentMembership
from tests.segments.helpers import NOW, event

DAY = timedelta(days=1)
US = timedelta(microseconds=1)


def did(name: str, **extra) -> dict:
    return {"type": "event", "event": name, **extra}


def did_not(name: str, **extra) -> dict:
    return {"type": "event", "event": name, "performed": False, **extra}


def last(amount: int, unit: str) -> dict:
    return {"type": "last", "amount": amount, "unit": unit}


def use_timezone(app, timezone_name: str) -> None:
    app_update(app=app, name=app.name, timezone_name=timezone_name)


def add_contact(app, name: str, **fields) -> Contact:
    return Contact.objects.create(app=app, external_id=name, **fields)


# Period boundaries -----------------------------------------------------------------------------


def test_an_event_exactly_at_the_start_of_the_last_7_days_counts(send, members):
    send(event("view", "ann", NOW - 7 * DAY), event("view", "bob", NOW - 7 * DAY - US))
    assert members(did("view", period=last(7, "day"))) == {"ann"}


def test_the_last_7_days_include_now_and_not_a_microsecond_later(send, members):
    send(event("view", "ann", NOW), event("view", "bob", NOW + US))
    assert members(did("view", period=last(7, "day"))) == {"ann"}


def test_between_includes_its_from_and_excludes_its_to(send, members):
    start, end = datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 8, tzinfo=UTC)
    send(
        event("view", "ann", start),
        event("view", "bob", end),
        event("view", "cat", end - US),
        event("view", "dan", start - US),
    )
    # The same instants written with an offset.
    period = {
        "type": "between",
        "from": "2026-06-01T02:00:00+02:00",
        "to": "2026-06-07T19:00-05:00",
    }
    assert members(did("view", period=period)) == {"ann", "cat"}


def test_older_than_excludes_its_exact_boundary(send, members):
    send(event("view", "ann", NOW - 30 * DAY), event("view", "bob", NOW - 30 * DAY - US))
    period = {"type": "older_than", "amount": 30, "unit": "day"}
    assert members(did("view", period=period)) == {"bob"}


def test_a_month_back_from_march_31_is_february_28(send, members):
    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    february_28 = datetime(2026, 2, 28, 12, 0, tzinfo=UTC)
    send(event("view", "ann", february_28), event("view", "bob", february_28 - US))
    assert members(did("view", period=last(1, "month")), now=now) == {"ann"}


def test_a_calendar_period_may_be_written_as_a_bare_string(send, members):
    send(event("view", "ann", NOW - DAY), event("view", "bob", NOW))
    assert members(did("view", period="yesterday")) == {"ann"}
    assert members({"type": "last_event", "event": "view", "period": "today"}) == {"bob"}
    assert members(did("view", period="lifetime")) == {"ann", "bob"}


def test_this_month_and_last_month_are_calendar_months(send, members):
    now = datetime(2026, 3, 1, 0, 15, tzinfo=UTC)
    send(
        event("view", "ann", datetime(2026, 3, 1, tzinfo=UTC)),
        event("view", "bob", datetime(2026, 2, 1, tzinfo=UTC)),
        event("view", "cat", datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)),
        event("view", "dan", datetime(2026, 1, 31, 23, 59, tzinfo=UTC)),
    )
    assert members(did("view", period={"type": "this_month"}), now=now) == {"ann"}
    assert members(did("view", period={"type": "last_month"}), now=now) == {"bob", "cat"}


def test_a_month_step_is_taken_on_the_apps_calendar(send, members, segmentable_app):
    """Reading of "a month step is a calendar month" with "calendar periods use the app's
    timezone": 00:30 on April 1 in Warsaw, a month back, is 00:30 on March 1 in Warsaw."""
    use_timezone(segmentable_app, "Europe/Warsaw")
    now = datetime(2026, 3, 31, 22, 30, tzinfo=UTC)
    march_1 = datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    send(event("view", "ann", march_1), event("view", "bob", march_1 - US))
    assert members(did("view", period=last(1, "month")), now=now) == {"ann"}


def test_a_day_step_is_24_hours_even_across_a_clock_change(send, members, segmentable_app):
    """Reading of "now − N units": days are exact durations (only months are calendar
    steps), so 7 days before 12:30 summer time is 11:30 winter time in Warsaw."""
    use_timezone(segmentable_app, "Europe/Warsaw")
    now = datetime(2026, 3, 30, 10, 30, tzinfo=UTC)
    send(
        event("view", "ann", now - 7 * DAY),
        event("view", "bob", now - 7 * DAY - US),
    )
    assert members(did("view", period=last(7, "day")), now=now) == {"ann"}


# Timezones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timezone_name", "today", "yesterday"),
    [("UTC", {"late"}, {"early"}), ("Europe/Warsaw", {"early"}, set())],
)
def test_an_event_at_23_30_utc_is_today_in_utc_but_tomorrow_in_warsaw(
    send, members, segmentable_app, timezone_name, today, yesterday
):
    use_timezone(segmentable_app, timezone_name)
    send(
        event("view", "late", datetime(2026, 6, 15, 23, 30, tzinfo=UTC)),
        event("view", "early", datetime(2026, 6, 14, 23, 30, tzinfo=UTC)),
    )
    assert members(did("view", period={"type": "today"})) == today
    assert members(did("view", period={"type": "yesterday"})) == yesterday


def test_yesterday_in_warsaw_lasts_25_hours_when_summer_time_ends(send, members, segmentable_app):
    use_timezone(segmentable_app, "Europe/Warsaw")
    now = datetime(2026, 10, 26, 10, 0, tzinfo=UTC)  # Monday; Sunday Oct 25 had 25 hours
    send(
        event("view", "first", datetime(2026, 10, 24, 22, 0, tzinfo=UTC)),  # 00:00 CEST
        event("view", "last", datetime(2026, 10, 25, 22, 59, tzinfo=UTC)),  # 23:59 CET
        event("view", "before", datetime(2026, 10, 24, 21, 59, tzinfo=UTC)),
        event("view", "after", datetime(2026, 10, 25, 23, 0, tzinfo=UTC)),  # Monday 00:00 CET
    )
    assert members(did("view", period={"type": "yesterday"}), now=now) == {"first", "last"}
    assert members(did("view", period={"type": "today"}), now=now) == {"after"}


def test_weeks_start_on_monday_in_the_apps_timezone(send, members, segmentable_app):
    # 04:30 UTC on Monday Nov 2 is still Sunday Nov 1 in New York.
    now = datetime(2026, 11, 2, 4, 30, tzinfo=UTC)
    send(
        event("view", "ann", datetime(2026, 10, 26, 12, 0, tzinfo=UTC)),
        event("view", "bob", datetime(2026, 11, 2, 1, 0, tzinfo=UTC)),
    )
    assert members(did("view", period={"type": "this_week"}), now=now) == {"bob"}
    assert members(did("view", period={"type": "last_week"}), now=now) == {"ann"}
    use_timezone(segmentable_app, "America/New_York")
    assert members(did("view", period={"type": "this_week"}), now=now) == {"ann", "bob"}
    assert members(did("view", period={"type": "last_week"}), now=now) == set()


# Streaks ---------------------------------------------------------------------------------------


def noon(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


def streak(periods: int, unit: str = "day", **extra) -> dict:
    return {"type": "streak", "event": "view", "periods": periods, "unit": unit, **extra}


def test_a_4_day_streak_may_span_a_month_end(send, members):
    now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    send(
        *(
            event("view", "ann", day)
            for day in (noon(2026, 1, 30), noon(2026, 1, 31), noon(2026, 2, 1), noon(2026, 2, 2))
        )
    )
    assert members(streak(4), now=now) == {"ann"}
    assert members(streak(5), now=now) == set()


def test_a_streak_that_misses_one_day_is_broken(send, members):
    now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    send(
        *(
            event("view", "ann", day)
            for day in (noon(2026, 1, 30), noon(2026, 1, 31), noon(2026, 2, 2))
        )
    )
    assert members(streak(1), now=now) == {"ann"}
    assert members(streak(2), now=now) == set()


def test_today_does_not_count_towards_a_streak(send, members):
    now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    send(
        event("view", "ann", datetime(2026, 2, 3, 1, 0, tzinfo=UTC)),
        event("view", "ann", noon(2026, 2, 2)),
    )
    assert members(streak(1), now=now) == {"ann"}
    assert members(streak(2), now=now) == set()


def test_month_and_week_streaks_count_complete_calendar_periods(send, members):
    now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)  # a Tuesday
    send(
        event("view", "ann", datetime(2025, 11, 30, 23, 59, tzinfo=UTC)),
        event("view", "ann", datetime(2025, 12, 1, 0, 0, tzinfo=UTC)),
        event("view", "ann", datetime(2026, 1, 31, 23, 59, tzinfo=UTC)),
        # weeks: Mon Jan 26 and Sun Jan 25, but nothing in the week of Jan 12
        event("view", "bob", datetime(2026, 1, 26, 0, 0, tzinfo=UTC)),
        event("view", "bob", datetime(2026, 1, 25, 23, 59, tzinfo=UTC)),
        event("view", "bob", datetime(2026, 1, 11, 12, 0, tzinfo=UTC)),
    )
    assert members(streak(3, "month"), now=now) == {"ann"}
    assert members(streak(4, "month"), now=now) == set()
    assert members(streak(2, "week"), now=now) == {"bob"}
    assert members(streak(3, "week"), now=now) == set()


def test_a_streak_counts_only_events_matching_its_filters(send, members):
    now = datetime(2026, 2, 3, 10, 0, tzinfo=UTC)
    send(
        event("view", "ann", noon(2026, 2, 1), category="x"),
        event("view", "ann", noon(2026, 2, 2), category="x"),
        event("view", "bob", noon(2026, 2, 1), category="x"),
        event("view", "bob", noon(2026, 2, 2), category="y"),
    )
    where = [{"param": "category", "op": "=", "value": "x"}]
    assert members(streak(2, where=where), now=now) == {"ann"}


# Contacts without events, not, duplicates, retention -------------------------------------------


def test_contacts_with_no_events_have_a_count_of_zero(send, members, segmentable_app):
    add_contact(segmentable_app, "zoe")
    send(*(event("purchase", "ann", NOW - i * DAY) for i in range(3)))
    assert members(did_not("purchase")) == {"zoe"}
    assert members(did("purchase", count={"op": "<", "value": 3})) == {"zoe"}
    assert members(did("purchase", count={"op": ">=", "value": 1})) == {"ann"}
    assert members(did("purchase", period=last(7, "day"), count={"op": "=", "value": 0})) == {"zoe"}


def test_not_over_an_empty_set_is_every_contact_of_the_app(
    send, members, segmentable_app, other_app
):
    add_contact(segmentable_app, "zoe")
    add_contact(other_app, "stranger")
    send(event("view", "ann", NOW - DAY))
    assert members({"type": "not", "condition": did("purchase")}) == {"ann", "zoe"}


def test_the_same_event_sent_twice_counts_once(send, members):
    twice = event("purchase", "ann", NOW - DAY, amount=5)
    send(twice, twice)
    send(twice)
    once = {"op": "=", "value": 1}
    assert members(did("purchase", count=once)) == {"ann"}
    assert members(did("purchase", count=once, period=last(30, "day"))) == {"ann"}
    assert members(
        did("purchase", aggregate={"fn": "sum", "param": "amount", "op": "=", "value": 5})
    ) == {"ann"}


def test_lifetime_answers_survive_the_deletion_of_old_events(send, members, segmentable_app):
    send(
        event("purchase", "ann", NOW - 200 * DAY),
        event("purchase", "ann", NOW - 150 * DAY),
        event("purchase", "ann", NOW - 120 * DAY),
    )
    Event.objects.filter(app=segmentable_app).delete()  # what retention does to old events
    older_than_100_days = {"type": "older_than", "amount": 100, "unit": "day"}
    assert members(did("purchase")) == {"ann"}
    assert members(did("purchase", count={"op": ">=", "value": 3})) == {"ann"}
    assert members(did_not("purchase")) == set()
    first = NOW - 200 * DAY
    first_in = {"type": "between", "from": first.isoformat(), "to": (first + US).isoformat()}
    assert members({"type": "first_event", "event": "purchase", "period": first_in}) == {"ann"}
    assert members({"type": "last_event", "event": "purchase", "period": older_than_100_days}) == {
        "ann"
    }
    # Conditions that need the events themselves no longer see them.
    assert members(did("purchase", period=last(365, "day"))) == set()


# Aggregates ------------------------------------------------------------------------------------


def aggregate(fn: str, op: str, value) -> dict:
    return {"fn": fn, "param": "amount", "op": op, "value": value}


@pytest.fixture
def amounts(send, segmentable_app):
    """ann: 10, 20, a null and a missing amount; bob: no amount at all; zoe: no purchase."""
    add_contact(segmentable_app, "zoe")
    send(
        event("purchase", "ann", NOW - 1 * DAY, amount=10),
        event("purchase", "ann", NOW - 2 * DAY, amount=20),
        event("purchase", "ann", NOW - 3 * DAY, amount=None),
        event("purchase", "ann", NOW - 4 * DAY),
        event("purchase", "bob", NOW - 1 * DAY, category="x"),
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"aggregate": aggregate("sum", "=", 30)}, {"ann"}),
        ({"aggregate": aggregate("sum", ">", 30)}, set()),
        ({"aggregate": aggregate("avg", "=", 15)}, {"ann"}),
        ({"aggregate": aggregate("min", "=", 10)}, {"ann"}),
        ({"aggregate": aggregate("max", ">=", 20)}, {"ann"}),
        # the events without an amount are still counted
        ({"count": {"op": "=", "value": 4}, "aggregate": aggregate("sum", "=", 30)}, {"ann"}),
        # over the counted events only
        ({"period": last(36, "hour"), "aggregate": aggregate("sum", "=", 10)}, {"ann"}),
        # a contact with no counted events never matches an aggregate
        ({"aggregate": aggregate("sum", "<", 100), "period": last(1, "hour")}, set()),
        ({"aggregate": aggregate("sum", "!=", 1)}, {"ann"}),
    ],
)
def test_aggregates_leave_out_missing_params(amounts, members, condition, expected):
    assert members(did("purchase", **condition)) == expected


def test_an_aggregate_over_events_that_all_lack_the_param_does_not_match(amounts, members):
    """When no counted event has the param, the aggregate is null: even a sum is not 0."""
    assert members(did("purchase", aggregate=aggregate("sum", "<", 100))) == {"ann"}
    assert members(did("purchase", aggregate=aggregate("sum", "=", 0))) == set()


def test_an_aggregate_over_a_param_stored_with_another_type_leaves_it_out(
    send, members, segmentable_app
):
    purchase = EventType.objects.get(app=segmentable_app, name="purchase")
    event_attribute_declare(event_type=purchase, name="amount", type_="string")
    send(event("purchase", "ann", NOW - 2 * DAY, amount="7"))
    event_attribute_declare(event_type=purchase, name="amount", type_="number")
    send(event("purchase", "ann", NOW - DAY, amount=3))
    assert members(did("purchase", aggregate=aggregate("sum", "=", 3))) == {"ann"}
    assert members(did("purchase", aggregate=aggregate("max", "=", 3))) == {"ann"}


# Filters on params -----------------------------------------------------------------------------


@pytest.fixture
def catalog(send):
    """One purchase each, with different params."""
    send(
        event(
            "purchase",
            "ann",
            NOW - DAY,
            amount=10,
            category="Books",
            vip=True,
            at="2026-06-01T12:00:00+02:00",
            meta={"a": 1},
        ),
        event(
            "purchase",
            "bob",
            NOW - DAY,
            amount=2.5,
            category="books%",
            vip=False,
            at="2026-06-01T10:00:00Z",
        ),
        event("purchase", "cat", NOW - DAY, amount=-3, category="b_oks"),
        event(
            "purchase", "dan", NOW - DAY, amount=None, category=None, vip=None, at=None, meta=None
        ),
        event("purchase", "eve", NOW - DAY),
    )


@pytest.mark.parametrize(
    ("param_filter", "expected"),
    [
        ({"param": "category", "op": "=", "value": "Books"}, {"ann"}),
        ({"param": "category", "op": "!=", "value": "Books"}, {"bob", "cat", "dan", "eve"}),
        ({"param": "category", "op": "contains", "value": "ook"}, {"ann", "bob"}),
        ({"param": "category", "op": "contains", "value": "OOK"}, set()),
        ({"param": "category", "op": "contains", "value": "%"}, {"bob"}),
        ({"param": "category", "op": "contains", "value": "_"}, {"cat"}),
        ({"param": "category", "op": "not_contains", "value": "ook"}, {"cat", "dan", "eve"}),
        ({"param": "category", "op": "starts_with", "value": "b"}, {"bob", "cat"}),
        ({"param": "category", "op": "starts_with", "value": "b_"}, {"cat"}),
        ({"param": "category", "op": "in", "value": ["Books", "b_oks"]}, {"ann", "cat"}),
        ({"param": "category", "op": "not_in", "value": ["Books", "b_oks"]}, {"bob", "dan", "eve"}),
        ({"param": "category", "op": "exists"}, {"ann", "bob", "cat"}),
        ({"param": "category", "op": "not_exists"}, {"dan", "eve"}),
        ({"param": "amount", "op": ">", "value": 2.5}, {"ann"}),
        ({"param": "amount", "op": "<=", "value": 2.5}, {"bob", "cat"}),
        ({"param": "amount", "op": "=", "value": 10.0}, {"ann"}),
        ({"param": "amount", "op": "between", "value": [-3, 2.5]}, {"bob", "cat"}),
        ({"param": "amount", "op": "in", "value": [10, -3]}, {"ann", "cat"}),
        ({"param": "amount", "op": "not_in", "value": [10, -3]}, {"bob", "dan", "eve"}),
        ({"param": "amount", "op": "!=", "value": 10}, {"bob", "cat", "dan", "eve"}),
        ({"param": "vip", "op": "=", "value": False}, {"bob"}),
        ({"param": "vip", "op": "!=", "value": True}, {"bob", "cat", "dan", "eve"}),
        ({"param": "at", "op": "=", "value": "2026-06-01T10:00:00Z"}, {"ann", "bob"}),
        ({"param": "at", "op": ">", "value": "2026-06-01T11:59:59.999999+02:00"}, {"ann", "bob"}),
        ({"param": "at", "op": "<", "value": "2026-06-01T10:00:00.000001Z"}, {"ann", "bob"}),
        (
            {
                "param": "at",
                "op": "between",
                "value": ["2026-06-01T05:00:00-05:00", "2026-06-02T00:00:00Z"],
            },
            {"ann", "bob"},
        ),
        ({"param": "at", "op": "not_exists"}, {"cat", "dan", "eve"}),
        ({"param": "meta", "op": "exists"}, {"ann"}),
        ({"param": "meta", "op": "not_exists"}, {"bob", "cat", "dan", "eve"}),
    ],
)
def test_param_filters_follow_the_missing_value_rule(catalog, members, param_filter, expected):
    assert members(did("purchase", where=[param_filter])) == expected


def test_every_filter_must_hold_for_an_event_to_be_counted(send, members):
    send(
        event("purchase", "ann", NOW - DAY, amount=10, category="x"),
        event("purchase", "ann", NOW - 2 * DAY, amount=20, category="y"),
    )
    where = [
        {"param": "amount", "op": ">=", "value": 20},
        {"param": "category", "op": "=", "value": "x"},
    ]
    assert members(did("purchase", where=where)) == set()


def test_a_param_stored_before_its_type_was_corrected_is_missing(send, members, segmentable_app):
    view = EventType.objects.get(app=segmentable_app, name="view")
    event_attribute_declare(event_type=view, name="code", type_="number")
    send(event("view", "ann", NOW - DAY, code=5))
    event_attribute_declare(event_type=view, name="code", type_="string")
    send(event("view", "bob", NOW - DAY, code="5"))
    assert members(did("view", where=[{"param": "code", "op": "=", "value": "5"}])) == {"bob"}
    assert members(did("view", where=[{"param": "code", "op": "!=", "value": "5"}])) == {"ann"}
    assert members(did("view", where=[{"param": "code", "op": "exists"}])) == {"bob"}


def test_an_unknown_param_is_typed_by_the_filter_value_and_is_missing(send, members):
    # A null records no attribute: "color" stays unknown on purchases.
    send(
        event("purchase", "ann", NOW - DAY, color=None),
        event("purchase", "bob", NOW - DAY),
        event("view", "cat", NOW - DAY, color="red"),
    )

    def color(name, op, value=None):
        param_filter = {"param": "color", "op": op}
        if value is not None:
            param_filter["value"] = value
        return did(name, where=[param_filter])

    assert members(color("purchase", "=", "red")) == set()
    assert members(color("purchase", "!=", 5)) == {"ann", "bob"}
    assert members(color("purchase", "not_in", [True])) == {"ann", "bob"}
    assert members(color("purchase", "exists")) == set()
    assert members(color("view", "starts_with", "r")) == {"cat"}


# Contact fields and devices --------------------------------------------------------------------


@pytest.fixture
def people(segmentable_app):
    app = segmentable_app
    add_contact(
        app,
        "ann",
        email="ann@example.com",
        country="PL",
        custom_fields={"plan": "Pro", "score": 7, "beta": True},
    )
    add_contact(app, "bob", email="bob@example.org", custom_fields={"plan": "free", "score": "7"})
    add_contact(app, "cat", custom_fields={"score": 7.5, "beta": False})
    # created_at is set on insert: move it where the tests need it
    Contact.objects.filter(external_id="ann").update(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    Contact.objects.filter(external_id__in=["bob", "cat"]).update(
        created_at=datetime(2026, 3, 1, tzinfo=UTC)
    )


def contact(field: str, op: str, value=None) -> dict:
    condition = {"type": "contact", "field": field, "op": op}
    return condition if value is None else {**condition, "value": value}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (contact("email", "=", "Ann@Example.COM"), {"ann"}),
        (contact("email", "!=", "ann@example.com"), {"bob", "cat"}),
        (contact("email", "contains", "EXAMPLE"), {"ann", "bob"}),
        (contact("email", "starts_with", "bob@"), {"bob"}),
        (contact("email", "not_exists"), {"cat"}),
        (contact("country", "=", "PL"), {"ann"}),
        (contact("country", "in", ["PL", "DE"]), {"ann"}),
        (contact("country", "not_exists"), {"bob", "cat"}),
        (contact("external_id", "not_in", ["ann"]), {"bob", "cat"}),
        (contact("created_at", "<", "2026-02-01T00:00:00Z"), {"ann"}),
        (contact("created_at", "=", "2026-03-01T01:00:00+01:00"), {"bob", "cat"}),
        (
            contact("created_at", "between", ["2026-01-01T00:00:00Z", "2026-03-01T00:00:00Z"]),
            {"ann", "bob", "cat"},
        ),
        (contact("last_seen", "not_exists"), {"ann", "bob", "cat"}),
        (contact("custom.plan", "=", "Pro"), {"ann"}),
        (contact("custom.plan", "contains", "r"), {"ann", "bob"}),
        (contact("custom.plan", "!=", "Pro"), {"bob", "cat"}),
        # typed by the filter value: bob's "7" is a string, not the number 7
        (contact("custom.score", "=", 7), {"ann"}),
        (contact("custom.score", ">=", 7), {"ann", "cat"}),
        (contact("custom.score", "!=", 7), {"bob", "cat"}),
        (contact("custom.score", "=", "7"), {"bob"}),
        (contact("custom.score", "in", [7.5, 8]), {"cat"}),
        (contact("custom.score", "between", [7, 7.5]), {"ann", "cat"}),
        (contact("custom.beta", "=", False), {"cat"}),
        (contact("custom.beta", "!=", True), {"bob", "cat"}),
        (contact("custom.beta", "exists"), {"ann", "cat"}),
        (contact("custom.beta", "not_exists"), {"bob"}),
    ],
)
def test_contact_field_conditions(people, members, condition, expected):
    assert members(condition) == expected


def test_a_contact_seen_through_events_has_its_last_seen_instant(send, members):
    send(event("view", "ann", NOW - DAY), event("view", "bob", NOW - 3 * DAY))
    since = (NOW - 2 * DAY).isoformat()
    assert members(contact("last_seen", ">=", since)) == {"ann"}


@pytest.fixture
def devices(segmentable_app):
    app = segmentable_app
    ann, bob, cat = (add_contact(app, name) for name in ("ann", "bob", "cat"))
    add_contact(app, "zoe")
    Device.objects.create(
        app=app, contact=ann, token="a1", platform="web", push_permission_granted=True
    )
    Device.objects.create(app=app, contact=ann, token="a2", platform="ios")
    Device.objects.create(
        app=app,
        contact=bob,
        token="b1",
        platform="web",
        push_permission_granted=True,
        invalidated_at=NOW,
    )
    Device.objects.create(app=app, contact=bob, token="b2", platform="android")
    Device.objects.create(
        app=app, contact=cat, token="c1", platform="android", push_permission_granted=True
    )


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"platform": "web"}, {"ann"}),
        ({"platform": "web", "push_permission_granted": True}, {"ann"}),
        ({"platform": "ios", "push_permission_granted": True}, set()),
        ({"push_permission_granted": True}, {"ann", "cat"}),
        ({"push_permission_granted": False}, {"ann", "bob"}),
        ({"platform": "android"}, {"bob", "cat"}),
    ],
)
def test_device_conditions_ignore_invalidated_devices(devices, members, condition, expected):
    assert members({"type": "device", **condition}) == expected


# Groups and segments ---------------------------------------------------------------------------


def test_nested_and_or_not(send, members, segmentable_app):
    add_contact(segmentable_app, "zoe")
    send(
        event("purchase", "ann", NOW - DAY, amount=50),
        event("view", "ann", NOW - DAY),
        event("purchase", "bob", NOW - 40 * DAY, amount=5),
        event("view", "cat", NOW - 2 * DAY),
    )
    tree = {
        "type": "or",
        "conditions": [
            {
                "type": "and",
                "conditions": [
                    did("view", period=last(7, "day")),
                    {"type": "not", "condition": did("purchase", period=last(7, "day"))},
                ],
            },
            {
                "type": "and",
                "conditions": [
                    did("purchase", where=[{"param": "amount", "op": "<", "value": 10}]),
                    {"type": "not", "condition": {"type": "not", "condition": did("purchase")}},
                ],
            },
        ],
    }
    assert members(tree) == {"bob", "cat"}
    assert members({"type": "not", "condition": tree}) == {"ann", "zoe"}


def test_a_segment_condition_evaluates_the_other_segments_conditions_now(
    send, members, segmentable_app
):
    send(event("purchase", "ann", NOW - DAY), event("purchase", "bob", NOW - 10 * DAY))
    buyers = Segment.objects.create(
        app=segmentable_app, name="Recent buyers", conditions=did("purchase", period=last(7, "day"))
    )
    # A stale stored membership is not what the condition reads.
    bob = Contact.objects.get(external_id="bob")
    SegmentMembership.objects.create(segment=buyers, contact=bob, entered_at=NOW - 10 * DAY)
    assert members({"type": "segment", "segment": buyers.pk}) == {"ann"}
    assert members({"type": "not", "condition": {"type": "segment", "segment": buyers.pk}}) == {
        "bob"
    }
    outer = Segment.objects.create(
        app=segmentable_app,
        name="Buyers, not recent",
        conditions={
            "type": "and",
            "conditions": [
                did("purchase"),
                {"type": "not", "condition": {"type": "segment", "segment": buyers.pk}},
            ],
        },
    )
    assert members({"type": "segment", "segment": outer.pk}) == {"bob"}
