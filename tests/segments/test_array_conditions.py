"""Conditions on array params (string_tags: ["a", "b"]): contains, contains_any, their negations
and exists, answered by the SQL engine and the reference evaluator (the `members` fixture), their
validation, and their explanation in words."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from events.models import Event
from segments.admin.explanation import explanation_rows
from segments.conditions.explain import segment_explain
from segments.conditions.validation import conditions_validate
from segments.models import Segment
from tests.segments.helpers import NOW, event

DAY = timedelta(days=1)


def bought(*where, **extra) -> dict:
    return {"type": "event", "event": "purchase", "where": list(where), **extra}


def tags(op: str, value=None) -> dict:
    return {"param": "string_tags", "op": op} | ({} if value is None else {"value": value})


@pytest.fixture
def tagged(send):
    """ann: [sale, new]; bob: [Sale]; cat: "sale" (an array of one); dan: no tags; eve: []."""
    send(
        event("purchase", "ann", NOW - DAY, string_tags=["sale", "new"], int_sizes=[38, "39"]),
        event("purchase", "bob", NOW - DAY, string_tags=["Sale"], int_sizes=[40]),
        event("purchase", "cat", NOW - DAY, string_tags="sale"),
        event("purchase", "dan", NOW - DAY, amount=1),
        event("purchase", "eve", NOW - DAY, string_tags=[]),
    )


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (tags("contains", "sale"), {"ann", "cat"}),
        (tags("not_contains", "sale"), {"bob", "dan", "eve"}),
        (tags("contains_any", ["new", "Sale"]), {"ann", "bob"}),
        (tags("not_contains_any", ["new", "Sale"]), {"cat", "dan", "eve"}),
        (tags("contains", "sal"), set()),  # elements, not substrings
        (tags("exists"), {"ann", "bob", "cat", "eve"}),
        (tags("not_exists"), {"dan"}),
        ({"param": "int_sizes", "op": "contains", "value": 39.0}, {"ann"}),
        ({"param": "int_sizes", "op": "contains_any", "value": [40, 41]}, {"bob"}),
    ],
)
def test_array_operators_select_by_element(tagged, members, where, expected):
    assert members(bought(where)) == expected


def test_elements_of_another_type_never_match(send, members):
    """Rows stored before the attribute was an array of numbers (or edited since): "39" is not
    39, true is not 1, and a lone value where an array is expected reads as missing."""
    send(event("purchase", "ann", NOW - DAY, int_sizes=[1]))
    send(event("purchase", "bob", NOW - DAY, int_sizes=[2]))
    Event.objects.filter(contact__external_id="ann").update(params={"int_sizes": ["39", True]})
    Event.objects.filter(contact__external_id="bob").update(params={"int_sizes": 39})
    assert members(bought({"param": "int_sizes", "op": "contains", "value": 39})) == set()
    assert members(bought({"param": "int_sizes", "op": "contains_any", "value": [1, 39]})) == set()
    assert members(bought({"param": "int_sizes", "op": "not_contains", "value": 39})) == {
        "ann",
        "bob",
    }


def test_a_count_condition_with_an_array_filter(send, members):
    """Did purchase at least 2 times where string_tags contains sale in the last 7 days."""
    send(
        event("purchase", "ann", NOW - DAY, string_tags=["sale"]),
        event("purchase", "ann", NOW - 2 * DAY, string_tags=["new", "sale"]),
        event("purchase", "bob", NOW - DAY, string_tags=["sale"]),
        event("purchase", "bob", NOW - 2 * DAY, string_tags=["new"]),
        event("purchase", "cat", NOW - DAY, string_tags=["sale"]),
        event("purchase", "cat", NOW - 8 * DAY, string_tags=["sale"]),
    )
    condition = bought(
        tags("contains", "sale"),
        count={"op": ">=", "value": 2},
        period={"type": "last", "amount": 7, "unit": "day"},
    )
    assert members(condition) == {"ann"}
    # and its complement, which the engine computes as NOT IN the contacts that fail the count
    assert members(bought(tags("contains", "sale"), count={"op": "<", "value": 2})) == {"bob"}


def test_a_streak_with_an_array_filter(send, members):
    send(
        event("purchase", "ann", NOW - DAY, string_tags=["sale"]),
        event("purchase", "ann", NOW - 2 * DAY, string_tags=["sale", "x"]),
        event("purchase", "bob", NOW - DAY, string_tags=["sale"]),
        event("purchase", "bob", NOW - 2 * DAY, string_tags=["x"]),
    )
    streak = {
        "type": "streak",
        "event": "purchase",
        "periods": 2,
        "unit": "day",
        "where": [tags("contains_any", ["sale"])],
    }
    assert members(streak) == {"ann"}


# Validation -------------------------------------------------------------------------------------
def refusal(app, tree) -> dict:
    with pytest.raises(ValidationError) as raised:
        conditions_validate(app=app, conditions=tree)
    return raised.value.message_dict


@pytest.mark.parametrize(
    ("where", "field", "reason"),
    [
        (
            tags("=", "sale"),
            "op",
            "'=' does not apply to a string array value; use one of contains",
        ),
        ({"param": "category", "op": "contains_any", "value": ["a"]}, "op", "string value"),
        (tags("contains_any", []), "value", "must be a non-empty list"),
        (tags("contains_any", "sale"), "value", "must be a non-empty list"),
        ({"param": "int_sizes", "op": "contains", "value": "39"}, "value", "must be a number"),
        ({"param": "ignore_raw", "op": "exists"}, "param", "ignore_ params"),
    ],
)
def test_array_filters_are_validated(tagged, segmentable_app, where, field, reason):
    errors = refusal(segmentable_app, bought(where))
    assert reason in errors[f"conditions.where[0].{field}"][0], errors


def test_an_aggregate_may_not_read_an_array_or_an_ignored_param(tagged, segmentable_app):
    for param, reason in (("int_sizes", "is not a number attribute"), ("ignore_n", "ignore_")):
        aggregate = {"fn": "sum", "param": param, "op": ">", "value": 1}
        errors = refusal(segmentable_app, bought(aggregate=aggregate))
        assert reason in errors["conditions.aggregate.param"][0], errors


def test_the_segments_api_answers_400_for_an_array_operator_on_a_single_value(tagged, admin_client):
    tree = bought({"param": "amount", "op": "contains_any", "value": [1]})
    response = admin_client.post(
        "/api/v1/segments", {"name": "s", "conditions": tree}, format="json"
    )
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert "does not apply to a number value" in detail["conditions.where[0].op"][0], detail


# Explanation ------------------------------------------------------------------------------------
def test_the_explanation_says_which_values_the_array_holds(tagged, segmentable_app):
    tree = bought(tags("contains_any", ["new", "Sale"]), tags("not_contains", "x"))
    segment = Segment.objects.create(app=segmentable_app, name="s", conditions=tree)
    ann = Event.objects.filter(contact__external_id="ann").first().contact
    explained = segment_explain(segment=segment, contact=ann, now=NOW)
    assert explained["member"] is True
    [row] = explanation_rows(tree, explained["explanation"], timezone="UTC", segments={})
    assert row.text.endswith(
        "where string_tags contains any of new, Sale and string_tags does not contain x"
    )
    assert row.figure.startswith("1 matching event")
