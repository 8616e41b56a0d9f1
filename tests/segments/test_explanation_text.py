"""The segment page's explanation in words: each kind of node of segment_explain's annotated tree
as a row saying what the condition asks, whether it holds, and the figure behind it."""

from __future__ import annotations

from segments.admin.explanation import explanation_rows


def annotated(node: dict, holds: bool, value=None, **children) -> dict:
    return {**node, **children, "holds": holds, "value": value}


def rows_of(tree: dict, explanation: dict, segments=None) -> list[tuple]:
    rows = explanation_rows(tree, explanation, timezone="Europe/Berlin", segments=segments or {})
    return [(row.depth, row.holds, row.text, row.figure) for row in rows]


def test_event_conditions_say_count_period_filters_and_aggregate_with_their_figures():
    event = {
        "type": "event",
        "event": "purchase",
        "performed": False,
        "count": {"op": "<", "value": 3},
        "period": {"type": "last", "amount": 30, "unit": "day"},
        "where": [
            {"param": "category", "op": "in", "value": ["shoes", "hats"]},
            {"param": "gift", "op": "exists"},
        ],
        "aggregate": {"fn": "avg", "param": "amount", "op": ">=", "value": 50},
    }
    value = {"count": 4, "from": None, "to": None, "aggregate": 62.5}
    assert rows_of(event, annotated(event, False, value)) == [
        (
            0,
            False,
            "Did not do purchase fewer than 3 times in the last 30 days, where category is one "
            "of shoes, hats and gift is set, with the average of amount ≥ 50",
            "4 matching events; average of amount: 62.5",
        )
    ]


def test_first_and_last_times_are_shown_in_the_apps_timezone():
    first = {"type": "first_event", "event": "signup", "period": "this_week"}
    last = {
        "type": "last_event",
        "event": "login",
        "period": {"type": "older_than", "amount": 2, "unit": "week"},
    }
    tree = {"type": "or", "conditions": [first, last]}
    explanation = annotated(
        tree,
        True,
        conditions=[
            annotated(first, True, "2026-06-15T22:30:00+00:00"),
            annotated(last, False, None),
        ],
    )
    assert rows_of(tree, explanation) == [
        (0, True, "At least one of these", ""),
        (1, True, "First did signup this week", "first time: 2026-06-16 00:30"),
        (1, False, "Last did login more than 2 weeks ago", "last time: never"),
    ]


def test_streaks_count_the_periods_that_had_an_event_and_name_those_without():
    streak = {"type": "streak", "event": "login", "periods": 3, "unit": "week", "where": []}
    periods = [
        {"start": "2026-05-24T22:00:00+00:00", "end": "2026-05-31T22:00:00+00:00", "matched": True},
        {
            "start": "2026-05-31T22:00:00+00:00",
            "end": "2026-06-07T22:00:00+00:00",
            "matched": False,
        },
        {"start": "2026-06-07T22:00:00+00:00", "end": "2026-06-14T22:00:00+00:00", "matched": True},
    ]
    assert rows_of(streak, annotated(streak, False, periods)) == [
        (
            0,
            False,
            "Did login in each of the last 3 weeks (complete weeks)",
            "2 of 3 weeks had one; none in the week from 2026-06-01",
        )
    ]


def test_contact_conditions_show_the_condition_and_the_contacts_own_value():
    country = {"type": "contact", "field": "country", "op": "=", "value": "DE"}
    vip = {"type": "contact", "field": "custom.vip", "op": "not_exists"}
    tree = {"type": "not", "condition": {"type": "and", "conditions": [country, vip]}}
    group = tree["condition"]
    explanation = annotated(
        tree,
        True,
        condition=annotated(
            group, False, conditions=[annotated(country, False, "FR"), annotated(vip, True)]
        ),
    )
    assert rows_of(tree, explanation) == [
        (0, True, "Not this", ""),
        (1, False, "All of these", ""),
        (2, False, "Contact's country = DE", "country: FR"),
        (2, True, "Contact's custom field vip is not set", "custom field vip: not set"),
    ]


def test_devices_and_other_segments_with_the_other_segments_own_reasons():
    device = {"type": "device", "platform": "web", "push_permission_granted": True}
    inner = {"type": "device"}
    other = {"type": "segment", "segment": 7}
    tree = {"type": "and", "conditions": [device, other]}
    explanation = annotated(
        tree,
        False,
        conditions=[
            annotated(device, True, 1),
            annotated(other, False, {"segment": 7, "explanation": annotated(inner, False, 0)}),
        ],
    )
    assert rows_of(tree, explanation, segments={7: ("Reachable", inner)}) == [
        (0, False, "All of these", ""),
        (1, True, "Has a web device with push permission granted", "1 matching device"),
        (1, False, "Is in the segment “Reachable”", ""),
        (2, False, "Has a device", "0 matching devices"),
    ]


def test_a_date_compared_with_a_day_reads_as_that_day():
    where = [
        {"param": "date_delivery", "op": "=", "value": "2026-12-24"},
        {"param": "date_delivery", "op": "between", "value": ["2026-12-24", "2026-12-31"]},
        {"param": "date_delivery", "op": ">=", "value": "2026-01-05"},
        {"param": "date_delivery", "op": "<", "value": "2026-12-24T10:00:00Z"},  # an instant
        {"param": "order_day", "op": "=", "value": "2026-12-24"},  # a string param: as typed
    ]
    event = {"type": "event", "event": "purchase", "where": where}
    created = {"type": "contact", "field": "created_at", "op": "<=", "value": "2026-03-01"}
    mixed = {"type": "contact", "field": "last_seen", "op": "between"}
    mixed["value"] = ["2026-03-01", "2026-03-02T12:00:00Z"]
    tree = {"type": "and", "conditions": [event, created, mixed]}
    explanation = annotated(
        tree,
        False,
        conditions=[
            annotated(event, False, {"count": 0, "from": None, "to": None}),
            annotated(created, True, "2026-02-01T10:00:00+00:00"),
            annotated(mixed, False, None),
        ],
    )
    rows = explanation_rows(
        tree,
        explanation,
        timezone="Europe/Berlin",
        segments={},
        attribute_types={
            ("purchase", "date_delivery"): "date",
            ("purchase", "order_day"): "string",
        },
    )
    assert [row.text for row in rows[1:]] == [
        "Did purchase at least 1 time ever, where date_delivery is on 24 Dec 2026 and "
        "date_delivery is between 24 Dec 2026 and 31 Dec 2026, both included and "
        "date_delivery is on or after 5 Jan 2026 and date_delivery < 2026-12-24T10:00:00Z and "
        "order_day = 2026-12-24",
        "Contact's created_at is on or before 1 Mar 2026",
        "Contact's last_seen is between 1 Mar 2026 and 2026-03-02T12:00:00Z, both included",
    ]
