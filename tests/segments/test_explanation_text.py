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
