"""Explaining a contact's membership: each node of the tree with whether it holds and the value
behind it, in agreement with the engine and the stored membership."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contacts.models import Contact
from contacts.services.contacts import contact_update
from events.models import EventType
from events.services.event_types import event_attribute_declare, event_type_set_segmentation
from events.services.ingest import events_ingest
from segments.conditions.explain import segment_explain
from segments.models import SegmentMembership
from segments.services import segment_create, segment_refresh

NOW = datetime(2026, 6, 15, 10, 30, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)
LAST_WEEK = {"type": "last", "amount": 7, "unit": "day"}


@pytest.fixture
def shop(app):
    """purchase and view enabled for segmentation; ann bought three times (150 and 50 in the
    last week, 10 forty days ago) and has a web device; bob bought each of the last three days,
    5 each; cid only viewed."""
    for name in ("purchase", "view"):
        event_type, _ = EventType.objects.get_or_create(app=app, name=name)
        event_type_set_segmentation(event_type=event_type, enabled=True)
        event_attribute_declare(event_type=event_type, name="amount", type_="number")
    events = [
        ("purchase", "ann", NOW - DAY, {"amount": 150}),
        ("purchase", "ann", NOW - 3 * DAY, {"amount": 50}),
        ("purchase", "ann", NOW - 40 * DAY, {"amount": 10}),
        *(("purchase", "bob", NOW - n * DAY, {"amount": 5}) for n in (1, 2, 3)),
        ("view", "cid", NOW - DAY, {}),
    ]
    payloads = [
        {"event_name": name, "app_user_id": user, "event_time": at.isoformat(), "params": params}
        for name, user, at, params in events
    ]
    payloads.append(
        {
            "event_name": "view",
            "app_user_id": "ann",
            "event_time": (NOW - 2 * DAY).isoformat(),
            "device_token": "https://push.example.com/ann",
            "platform": "web",
            "push_permission_granted": True,
        }
    )
    assert [r.errors for r in events_ingest(app=app, payloads=payloads) if r.errors] == []
    return app


def contact(user: str) -> Contact:
    return Contact.objects.get(external_id=user)


def explain(app, conditions: dict, user: str) -> dict:
    segment = segment_create(app=app, name=f"S{app.segments.count()}", conditions=conditions)
    return segment_explain(segment=segment, contact=contact(user), now=NOW)


def test_the_result_names_the_segment_the_contact_and_the_time(shop):
    segment = segment_create(
        app=shop, name="Buyers", conditions={"type": "event", "event": "purchase"}
    )
    result = segment_explain(segment=segment, contact=contact("ann"), now=NOW)
    assert set(result) == {"segment", "contact", "member", "now", "explanation"}
    assert (result["segment"], result["contact"]) == (segment.pk, contact("ann").pk)
    assert result["now"] == NOW.isoformat() and result["member"] is True


def test_an_event_condition_shows_the_count_and_the_aggregate_of_the_counted_events(shop):
    conditions = {
        "type": "event",
        "event": "purchase",
        "period": LAST_WEEK,
        "where": [{"param": "amount", "op": ">", "value": 20}],
        "aggregate": {"fn": "sum", "param": "amount", "op": ">=", "value": 200},
    }
    ann = explain(shop, conditions, "ann")["explanation"]
    assert ann["holds"] is True
    assert ann["value"] == {
        "count": 2,
        "aggregate": 200,
        "from": (NOW - 7 * DAY).isoformat(),
        "to": (NOW + timedelta(microseconds=1)).isoformat(),
    }
    bob = explain(shop, conditions, "bob")["explanation"]
    assert bob["holds"] is False
    assert (bob["value"]["count"], bob["value"]["aggregate"]) == (0, None)
    assert ann["where"] == conditions["where"]  # the node's own fields are kept


def test_a_lifetime_count_reads_the_stats_and_a_failed_count_says_why(shop):
    at_least_three = {"type": "event", "event": "purchase", "count": {"op": ">=", "value": 3}}
    assert explain(shop, at_least_three, "ann")["explanation"]["value"]["count"] == 3
    cid = explain(shop, at_least_three, "cid")["explanation"]
    assert (cid["holds"], cid["value"]["count"]) == (False, 0)
    assert (cid["value"]["from"], cid["value"]["to"]) == (None, None)


def test_performed_false_shows_the_count_it_negates(shop):
    conditions = {"type": "event", "event": "purchase", "performed": False, "period": LAST_WEEK}
    ann, cid = (explain(shop, conditions, user)["explanation"] for user in ("ann", "cid"))
    assert (ann["holds"], ann["value"]["count"]) == (False, 2)
    assert (cid["holds"], cid["value"]["count"]) == (True, 0)


def test_first_and_last_event_show_the_times_from_the_stats(shop):
    first = {"type": "first_event", "event": "purchase", "period": LAST_WEEK}
    last = {"type": "last_event", "event": "purchase", "period": LAST_WEEK}
    ann_first = explain(shop, first, "ann")["explanation"]
    assert (ann_first["holds"], ann_first["value"]) == (False, (NOW - 40 * DAY).isoformat())
    ann_last = explain(shop, last, "ann")["explanation"]
    assert (ann_last["holds"], ann_last["value"]) == (True, (NOW - DAY).isoformat())
    cid_last = explain(shop, last, "cid")["explanation"]
    assert (cid_last["holds"], cid_last["value"]) == (False, None)


def test_a_streak_lists_its_complete_periods_and_which_had_an_event(shop):
    streak = {"type": "streak", "event": "purchase", "periods": 3, "unit": "day"}
    midnight = datetime(2026, 6, 15, tzinfo=UTC)
    periods = [(midnight - n * DAY, midnight - (n - 1) * DAY) for n in (3, 2, 1)]
    ann = explain(shop, streak, "ann")["explanation"]
    assert ann["holds"] is False
    assert ann["value"] == [
        {"start": start.isoformat(), "end": end.isoformat(), "matched": matched}
        for (start, end), matched in zip(periods, [True, False, True], strict=True)
    ]
    bob = explain(shop, streak, "bob")["explanation"]
    assert bob["holds"] is True and [p["matched"] for p in bob["value"]] == [True] * 3


def test_a_streak_counts_only_events_that_pass_its_filters(shop):
    streak = {
        "type": "streak",
        "event": "purchase",
        "periods": 3,
        "unit": "day",
        "where": [{"param": "amount", "op": ">=", "value": 50}],
    }
    ann = explain(shop, streak, "ann")["explanation"]
    assert [p["matched"] for p in ann["value"]] == [True, False, True]
    bob = explain(shop, streak, "bob")["explanation"]
    assert bob["holds"] is False and [p["matched"] for p in bob["value"]] == [False] * 3


def test_a_contact_condition_shows_the_fields_value(shop):
    contact_update(
        contact=contact("ann"),
        data={"email": "Ann@Example.com", "custom_fields": {"plan": "gold"}},
    )
    email = {"type": "contact", "field": "email", "op": "=", "value": "ann@example.com"}
    node = explain(shop, email, "ann")["explanation"]
    assert (node["holds"], node["value"]) == (True, "ann@example.com")
    node = explain(shop, email, "bob")["explanation"]
    assert (node["holds"], node["value"]) == (False, None)
    plan = {"type": "contact", "field": "custom.plan", "op": "=", "value": "silver"}
    node = explain(shop, plan, "ann")["explanation"]
    assert (node["holds"], node["value"]) == (False, "gold")
    seen = {"type": "contact", "field": "last_seen", "op": "exists"}
    node = explain(shop, seen, "ann")["explanation"]
    assert node["holds"] is True
    assert node["value"] == contact("ann").last_seen_at.isoformat()


def test_a_device_condition_shows_how_many_devices_match(shop):
    web = {"type": "device", "platform": "web", "push_permission_granted": True}
    ann = explain(shop, web, "ann")["explanation"]
    assert (ann["holds"], ann["value"]) == (True, 1)
    ios = explain(shop, {"type": "device", "platform": "ios"}, "ann")["explanation"]
    assert (ios["holds"], ios["value"]) == (False, 0)


def test_groups_and_nested_segments_are_explained_node_by_node(shop):
    buyers = segment_create(
        app=shop, name="Buyers", conditions={"type": "event", "event": "purchase"}
    )
    conditions = {
        "type": "and",
        "conditions": [
            {"type": "segment", "segment": buyers.pk},
            {"type": "not", "condition": {"type": "event", "event": "view"}},
        ],
    }
    bob = explain(shop, conditions, "bob")
    tree = bob["explanation"]
    assert bob["member"] is True and tree["holds"] is True and tree["value"] is None
    nested, negation = tree["conditions"]
    assert nested["holds"] is True
    assert nested["value"]["segment"] == buyers.pk
    assert nested["value"]["explanation"]["holds"] is True
    assert nested["value"]["explanation"]["value"]["count"] == 3
    assert negation["holds"] is True and negation["condition"]["holds"] is False
    assert negation["condition"]["value"]["count"] == 0

    ann = explain(shop, conditions, "ann")["explanation"]
    assert ann["holds"] is False
    assert [child["holds"] for child in ann["conditions"]] == [True, False]
    assert ann["conditions"][1]["condition"]["value"]["count"] == 1


def test_an_event_never_seen_counts_zero(app):
    event_type = EventType.objects.create(app=app, name="refund")
    event_type_set_segmentation(event_type=event_type, enabled=True)
    someone = Contact.objects.create(app=app, external_id="dan")
    conditions = {"type": "event", "event": "refund", "count": {"op": "<", "value": 1}}
    segment = segment_create(app=app, name="No refunds", conditions=conditions)
    result = segment_explain(segment=segment, contact=someone, now=NOW)
    assert result["member"] is True and result["explanation"]["value"]["count"] == 0


def test_member_agrees_with_the_stored_membership(shop):
    conditions = {
        "type": "or",
        "conditions": [
            {"type": "streak", "event": "purchase", "periods": 3, "unit": "day"},
            {
                "type": "event",
                "event": "purchase",
                "period": LAST_WEEK,
                "aggregate": {"fn": "max", "param": "amount", "op": ">", "value": 100},
            },
        ],
    }
    segment = segment_create(app=shop, name="Loyal or big", conditions=conditions)
    segment_refresh(segment=segment, now=NOW)
    stored = set(
        SegmentMembership.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )
    assert {contact(user).pk for user in ("ann", "bob")} == stored
    for someone in Contact.objects.filter(app=shop):
        result = segment_explain(segment=segment, contact=someone, now=NOW)
        assert result["member"] is (someone.pk in stored)
        assert result["explanation"]["holds"] is result["member"]
        children = result["explanation"]["conditions"]
        assert result["member"] is any(child["holds"] for child in children)
