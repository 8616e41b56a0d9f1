"""Locations ("within N km of") and dates compared by day in the app's timezone, answered by the
SQL engine and by the reference evaluator (the `members` fixture runs every test with both)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from contacts.models import Contact
from contacts.services.apps import app_update
from events.models import Event
from segments.admin.explanation import explanation_rows
from segments.conditions.explain import segment_explain
from segments.conditions.validation import conditions_validate
from segments.models import Segment
from tests.segments.helpers import NOW, attribute_declare, event

DAY = timedelta(days=1)
PARIS = {"lat": 48.8566, "lon": 2.3522}
# Great-circle distances from PARIS: Saint-Denis 8.86 km, Versailles 17.91 km, London 343.56 km.
PLACES = {
    "paris": {"lat": 48.8566, "lon": 2.3522},
    "stdenis": {"lat": 48.9362, "lon": 2.3574},
    "versailles": "48.8049, 2.1204",  # the "lat,lon" text form
    "london": {"lat": 51.5074, "lon": -0.1278},
}


def did(name: str, **extra) -> dict:
    return {"type": "event", "event": name, **extra}


def near(km: float, centre: dict = PARIS, op: str = "within") -> dict:
    return {"param": "geoloc_home", "op": op, "value": {**centre, "km": km}}


def use_timezone(app, timezone_name: str) -> None:
    app_update(app=app, name=app.name, timezone_name=timezone_name)


# Locations ---------------------------------------------------------------------------------------


@pytest.fixture
def homes(send):
    send(*(event("purchase", user, NOW - DAY, geoloc_home=where) for user, where in PLACES.items()))
    send(event("purchase", "nowhere", NOW - DAY, amount=3))  # no location at all


@pytest.mark.parametrize(
    ("km", "expected"),
    [
        (8.8, {"paris"}),
        (8.9, {"paris", "stdenis"}),
        (17.9, {"paris", "stdenis"}),
        (18.0, {"paris", "stdenis", "versailles"}),
        (343.5, {"paris", "stdenis", "versailles"}),
        (343.6, set(PLACES)),
        (25_000, set(PLACES)),  # more than half the Earth's circumference: every location
    ],
)
def test_within_km_selects_the_locations_at_most_that_far(homes, members, km, expected):
    assert members(did("purchase", where=[near(km)])) == expected


def test_not_within_is_not_of_within_and_holds_without_a_location(homes, members):
    assert members(did("purchase", where=[near(10, op="not_within")])) == {
        "versailles",
        "london",
        "nowhere",
    }


def test_a_count_with_a_location_filter_counts_the_events_near_the_place(send, members):
    """ "Did purchase at least twice within 10 km of Paris in the last 30 days"."""
    send(
        event("purchase", "ann", NOW - 2 * DAY, geoloc_home=PLACES["paris"]),
        event("purchase", "ann", NOW - 3 * DAY, geoloc_home=PLACES["stdenis"]),
        event("purchase", "bob", NOW - 2 * DAY, geoloc_home=PLACES["paris"]),
        event("purchase", "bob", NOW - 40 * DAY, geoloc_home=PLACES["paris"]),  # too long ago
        event("purchase", "cat", NOW - 2 * DAY, geoloc_home=PLACES["paris"]),
        event("purchase", "cat", NOW - 3 * DAY, geoloc_home=PLACES["london"]),  # too far
    )
    tree = did(
        "purchase",
        count={"op": ">=", "value": 2},
        period={"type": "last", "amount": 30, "unit": "day"},
        where=[near(10)],
    )
    assert members(tree) == {"ann"}
    once = {**tree, "count": {"op": ">=", "value": 1}}
    assert members(once) == {"ann", "bob", "cat"}


def test_a_circle_across_the_180th_meridian_finds_both_sides(send, members):
    send(
        event("view", "east", NOW - DAY, geoloc_spot={"lat": -17.0, "lon": 179.95}),
        event("view", "west", NOW - DAY, geoloc_spot={"lat": -17.0, "lon": -179.95}),
        event("view", "far", NOW - DAY, geoloc_spot={"lat": -17.0, "lon": 179.0}),
    )
    centre = {"lat": -17.0, "lon": -179.99, "km": 15}  # east is 6.4 km away, west 4.3, far 107
    assert members(
        did("view", where=[{"param": "geoloc_spot", "op": "within", "value": centre}])
    ) == {
        "east",
        "west",
    }


def test_a_circle_around_the_pole_reaches_every_longitude(send, members):
    send(
        event("view", "across", NOW - DAY, geoloc_spot={"lat": 89.9, "lon": 180}),
        event("view", "south", NOW - DAY, geoloc_spot={"lat": 89.5, "lon": 0}),
    )
    centre = {"lat": 89.95, "lon": 0, "km": 20}  # across is 16.7 km over the pole, south 50 km
    tree = did("view", where=[{"param": "geoloc_spot", "op": "within", "value": centre}])
    assert members(tree) == {"across"}


def test_values_stored_before_a_param_became_a_location_count_only_if_shaped_like_one(
    send, members, segmentable_app
):
    """`spot` was json when these were stored, then declared geoloc: a stored object of two
    numbers reads as a location; text, strings inside the object or an array read as missing."""
    send(
        event("view", "object", NOW - DAY, spot={"lat": 48.85, "lon": 2.35}),
        event("view", "text", NOW - DAY, spot="48.85,2.35"),
        event("view", "strings", NOW - DAY, spot={"lat": "48.85", "lon": "2.35"}),
        event("view", "array", NOW - DAY, spot=[48.85, 2.35]),
    )
    attribute_declare(app=segmentable_app, name="spot", type_="geoloc")
    within = {"param": "spot", "op": "within", "value": {**PARIS, "km": 50}}
    assert members(did("view", where=[within])) == {"object"}
    assert members(did("view", where=[{**within, "op": "not_within"}])) == {
        "text",
        "strings",
        "array",
    }


def test_a_distance_filter_is_validated(segmentable_app, send):
    send(event("purchase", "ann", NOW - DAY, geoloc_home=PARIS, amount=1))
    bad = [
        ({**near(10), "value": [48.8, 2.3, 10]}, "conditions.where[0].value"),
        ({**near(10), "value": {"lat": 91, "lon": 2, "km": 1}}, "conditions.where[0].value.lat"),
        ({**near(10), "value": {"lat": 1, "lon": -181, "km": 1}}, "conditions.where[0].value.lon"),
        ({**near(10), "value": {"lat": 1, "lon": 2, "km": 0}}, "conditions.where[0].value.km"),
        ({**near(10), "value": {"lat": 1, "lon": True, "km": 3}}, "conditions.where[0].value.lon"),
        ({"param": "geoloc_home", "op": "=", "value": "x"}, "conditions.where[0].op"),
        (
            {"param": "amount", "op": "within", "value": {**PARIS, "km": 1}},
            "conditions.where[0].op",
        ),
    ]
    for spec, path in bad:
        with pytest.raises(ValidationError) as caught:
            conditions_validate(app=segmentable_app, conditions=did("purchase", where=[spec]))
        assert path in caught.value.message_dict, (spec, caught.value.message_dict)
    conditions_validate(app=segmentable_app, conditions=did("purchase", where=[near(10)]))


def test_the_explanation_says_within_km_and_the_segment_explains(homes, segmentable_app):
    tree = did("purchase", where=[near(10)])
    segment = Segment.objects.create(app=segmentable_app, name="Near Paris", conditions=tree)
    contact = Contact.objects.get(app=segmentable_app, external_id="stdenis")
    explained = segment_explain(segment=segment, contact=contact, now=NOW)
    assert explained["member"] is True
    rows = explanation_rows(tree, explained["explanation"], timezone="UTC", segments={})
    assert rows[0].text == (
        "Did purchase at least 1 time ever, where geoloc_home is within 10 km of 48.8566, 2.3522"
    )
    assert rows[0].figure == "1 matching event"


# Dates compared by day ---------------------------------------------------------------------------

SENT = NOW - DAY  # when the events were sent: the dates below are what they carry


def deliveries(app, send, timezone_name: str, offset: str) -> None:
    """Deliveries on the 23rd, 24th and 25th as days, and two instants: the last microsecond of
    the 24th on the app's clock, and 00:30 on the 24th in Tokyo (the 23rd in New York)."""
    use_timezone(app, timezone_name)
    send(
        event("purchase", "eve", SENT, date_delivery="2026-12-23"),
        event("purchase", "on", SENT, date_delivery="2026-12-24"),
        event("purchase", "next", SENT, date_delivery="2026-12-25"),
        event("purchase", "late", SENT, date_delivery=f"2026-12-24T23:59:59.999999{offset}"),
        event("purchase", "tokyo_morning", SENT, date_delivery="2026-12-24T00:30:00+09:00"),
    )


def on(op: str, value) -> dict:
    return did("purchase", where=[{"param": "date_delivery", "op": op, "value": value}])


EVERYONE = {"eve", "on", "next", "late", "tokyo_morning"}
BY_DAY = {
    "Asia/Tokyo": ("+09:00", {"on", "late", "tokyo_morning"}, {"eve"}, {"next"}),
    "America/New_York": ("-05:00", {"on", "late"}, {"eve", "tokyo_morning"}, {"next"}),
}


@pytest.mark.parametrize("timezone_name", BY_DAY)
def test_on_before_and_after_a_day_follow_the_apps_midnights(
    segmentable_app, send, members, timezone_name
):
    offset, that_day, before, after = BY_DAY[timezone_name]
    deliveries(segmentable_app, send, timezone_name, offset)
    assert members(on("=", "2026-12-24")) == that_day
    assert members(on("!=", "2026-12-24")) == EVERYONE - that_day
    assert members(on("<", "2026-12-24")) == before
    assert members(on("<=", "2026-12-24")) == before | that_day
    assert members(on(">", "2026-12-24")) == after
    assert members(on(">=", "2026-12-24")) == that_day | after
    assert members(on("between", ["2026-12-24", "2026-12-25"])) == that_day | after
    # A day and an instant together: from the 24th's midnight to that exact instant.
    assert members(on("between", ["2026-12-24", "2026-12-24T12:00:00+00:00"])) == (
        {"on", "tokyo_morning"} if timezone_name == "Asia/Tokyo" else {"on"}
    )


RELATIVE = {
    # now (UTC), op, amount, expected in Tokyo, expected in New York
    "next": (
        datetime(2026, 12, 21, 16, 0, tzinfo=UTC),  # the 22nd, 01:00 in Tokyo; the 21st in NY
        "within_next",
        2,
        {"eve", "on", "late", "tokyo_morning"},  # the 22nd to the 24th
        {"eve", "tokyo_morning"},  # the 21st to the 23rd
    ),
    "last": (
        datetime(2026, 12, 26, 2, 0, tzinfo=UTC),  # the 26th in Tokyo; the 25th, 21:00 in NY
        "within_last",
        1,
        {"next"},  # the 25th and the 26th
        {"on", "late", "next"},  # the 24th and the 25th
    ),
}


@pytest.mark.parametrize("timezone_name", BY_DAY)
@pytest.mark.parametrize("case", RELATIVE)
def test_within_the_next_and_last_days_count_whole_days_of_the_app(
    segmentable_app, send, members, timezone_name, case
):
    now, op, amount, in_tokyo, in_new_york = RELATIVE[case]
    deliveries(segmentable_app, send, timezone_name, BY_DAY[timezone_name][0])
    expected = in_tokyo if timezone_name == "Asia/Tokyo" else in_new_york
    assert members(on(op, {"amount": amount, "unit": "day"}), now=now) == expected


def test_a_date_only_value_is_stored_at_the_start_of_the_day_in_the_apps_timezone(
    segmentable_app, send
):
    use_timezone(segmentable_app, "Asia/Tokyo")
    send(event("purchase", "ann", SENT, date_delivery="2026-12-24"))
    stored = Event.objects.get(event_type__name="purchase").params["date_delivery"]
    assert stored == "2026-12-23T15:00:00.000000+00:00"


def test_day_filters_are_validated(segmentable_app, send):
    send(event("purchase", "ann", SENT, date_delivery="2026-12-24"))
    bad = [
        on("=", "2026-02-30"),
        on("=", "2026-12-24T10:00"),  # a time needs its offset
        on("<", "10000-01-01"),
        on("within_next", {"amount": 0, "unit": "day"}),
        on("within_next", {"amount": 3, "unit": "hour"}),
        on("within_last", 3),
    ]
    for tree in bad:
        with pytest.raises(ValidationError) as caught:
            conditions_validate(app=segmentable_app, conditions=tree)
        assert any(k.startswith("conditions.where[0]") for k in caught.value.message_dict), tree
    conditions_validate(
        app=segmentable_app, conditions=on("within_last", {"amount": 3, "unit": "week"})
    )


def test_contact_dates_take_days_too(segmentable_app, members):
    use_timezone(segmentable_app, "America/New_York")
    at = datetime(2026, 6, 10, 3, 0, tzinfo=UTC)  # the 9th, 23:00 in New York
    Contact.objects.create(app=segmentable_app, external_id="ann", created_at=at)
    Contact.objects.filter(external_id="ann").update(created_at=at)
    tree = {"type": "contact", "field": "created_at", "op": "=", "value": "2026-06-09"}
    assert members(tree) == {"ann"}
    assert members({**tree, "value": "2026-06-10"}) == set()
    relative = {**tree, "op": "within_last", "value": {"amount": 6, "unit": "day"}}
    assert members(relative) == {"ann"}  # NOW is the 15th in New York: the 9th to the 15th
    assert members({**relative, "value": {"amount": 5, "unit": "day"}}) == set()


def test_explain_counts_the_events_on_the_day_it_names(segmentable_app, send):
    """Explain reads the events with the filters bound at once (CompileContext.at)."""
    deliveries(segmentable_app, send, "Asia/Tokyo", "+09:00")
    tree = on("=", "2026-12-24")
    segment = Segment.objects.create(app=segmentable_app, name="Christmas Eve", conditions=tree)
    for user, member in (("tokyo_morning", True), ("eve", False)):
        contact = Contact.objects.get(app=segmentable_app, external_id=user)
        explained = segment_explain(segment=segment, contact=contact, now=NOW)
        assert explained["member"] is member
        assert explained["explanation"]["value"]["count"] == int(member)
