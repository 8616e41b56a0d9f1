"""geoloc_ params (locations) and date-only values of date params, through the tracking API."""

from __future__ import annotations

import pytest

from contacts.services.apps import app_update
from events.models import Event, EventAttribute, EventType
from events.services.event_types import event_attribute_declare


def stored(name: str):
    return Event.objects.get(event_type__name="x").params[name]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"lat": 48.8566, "lon": 2.3522}, {"lat": 48.8566, "lon": 2.3522}),
        ({"lat": -90, "lon": 180}, {"lat": -90.0, "lon": 180.0}),
        ("48.8566,2.3522", {"lat": 48.8566, "lon": 2.3522}),
        (" -33.8688 , 151.2093 ", {"lat": -33.8688, "lon": 151.2093}),
    ],
)
def test_a_geoloc_param_is_stored_as_lat_and_lon(track, value, expected):
    response = track(event_name="x", app_user_id="u", params={"geoloc_home": value})
    assert response.status_code == 200, response.json()
    assert stored("geoloc_home") == expected
    assert EventAttribute.objects.get(name="geoloc_home").type == "geoloc"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ({"lat": 91, "lon": 2}, "lat must be between -90 and 90, got 91"),
        ({"lat": 48, "lon": -180.5}, "lon must be between -180 and 180, got -180.5"),
        ("95,2", "lat must be between -90 and 90"),
        ({"lat": "48", "lon": 2}, "lat must be a number of degrees"),
        ({"lat": True, "lon": 2}, "lat must be a number of degrees"),
        ({"lat": 48}, 'expected a location: {"lat": 48.85, "lon": 2.35} or "48.85,2.35"'),
        ({"lat": 48, "lon": 2, "alt": 30}, "expected a location"),
        ([48, 2], "expected a location"),
        ("Paris", "expected a location"),
        ("u09tvw", "expected a location"),  # a geohash: not read (see docs/events.md)
        (48.85, "expected a location"),
    ],
)
def test_a_bad_geoloc_value_is_a_400_naming_the_param_and_the_reason(track, value, reason):
    response = track(event_name="x", app_user_id="u", params={"geoloc_home": value})
    assert response.status_code == 400
    assert reason in response.json()["detail"]["params.geoloc_home"][0]
    assert not Event.objects.filter(event_type__name="x").exists()


def test_an_object_with_lat_and_lon_is_json_unless_the_param_is_a_location(track, app):
    track(event_name="x", app_user_id="u", params={"home": {"lat": 1, "lon": 2}})
    assert EventAttribute.objects.get(name="home").type == "json"
    event_type = EventType.objects.get(app=app, name="x")
    event_attribute_declare(event_type=event_type, name="spot", type_="geoloc")
    assert track(event_name="x", app_user_id="u", params={"spot": "1,2"}).status_code == 200
    assert Event.objects.filter(params__spot={"lat": 1.0, "lon": 2.0}).count() == 1


@pytest.mark.parametrize(
    ("timezone_name", "expected"),
    [
        ("UTC", "2026-12-24T00:00:00.000000+00:00"),
        ("Asia/Tokyo", "2026-12-23T15:00:00.000000+00:00"),
        ("America/New_York", "2026-12-24T05:00:00.000000+00:00"),
    ],
)
def test_a_date_only_value_is_the_start_of_that_day_in_the_apps_timezone(
    track, app, timezone_name, expected
):
    app_update(app=app, name=app.name, timezone_name=timezone_name)
    response = track(event_name="x", app_user_id="u", params={"date_delivery": "2026-12-24"})
    assert response.status_code == 200, response.json()
    assert stored("date_delivery") == expected


def test_a_declared_date_takes_a_date_only_value_and_an_undeclared_one_stays_text(track, app):
    track(event_name="x", app_user_id="u", params={"note": "2026-12-24"})
    assert EventAttribute.objects.get(name="note").type == "string"
    event_attribute_declare(
        event_type=EventType.objects.get(app=app, name="x"), name="due", type_="date"
    )
    assert track(event_name="x", app_user_id="v", params={"due": "2026-12-24"}).status_code == 200
    due = Event.objects.filter(params__has_key="due").get().params["due"]
    assert due == "2026-12-24T00:00:00.000000+00:00"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-02-30", "expected a date: not a valid date"),
        ("0001-01-01", "expected a date: must be between 0001-01-02 and 9999-12-30 in UTC"),
        ("2026-12-24T10:00", "time has no timezone offset"),
        ("2026-12", "expected a date"),
    ],
)
def test_a_bad_day_is_a_400_naming_the_param(track, value, reason):
    response = track(event_name="x", app_user_id="u", params={"date_delivery": value})
    assert response.status_code == 400
    assert reason in response.json()["detail"]["params.date_delivery"][0]
