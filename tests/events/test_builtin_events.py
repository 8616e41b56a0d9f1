"""Built-in events Beacon generates on ingest: @APP_OPEN sessions (and their subtypes, a
notification click's session included) and @OPT_IN / @OPT_OUT; @PRESENCE, which the browser SDK
reports."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Delivery
from campaigns.services.opens import delivery_open
from contacts.models import Contact, Device
from events import catalog
from events.models import Event, EventAttribute, EventType
from events.services.builtin import BuiltinEvent, events_record_builtin
from events.services.ingest import events_ingest
from tests.campaigns.factories import active_campaign

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def builtins(name):
    return list(Event.objects.filter(event_type__name=name).order_by("id"))


def subtypes(name):
    return [e.params.get("subtype") for e in builtins(name)]


def test_app_open_starts_a_session_after_thirty_minutes(track):
    for minute in ("10:00", "10:20", "10:49", "11:20"):
        track(event_name="x", app_user_id="u", event_time=f"2026-01-01T{minute}:00Z")
    opens = [e.occurred_at.strftime("%H:%M") for e in builtins("@APP_OPEN")]
    assert opens == ["10:00", "11:20"]


def test_new_permitted_token_is_an_opt_in_new(track):
    track(
        event_name="x",
        app_user_id="u",
        device_token="t1",
        platform="web",
        push_permission_granted=True,
    )
    assert subtypes("@OPT_IN") == ["new"]
    track(event_name="x", app_user_id="u", device_token="t2", platform="web")
    assert subtypes("@OPT_IN") == ["new"]  # a token without permission is no opt-in


def test_permission_flips_are_soft_opt_in_and_out(track):
    device = {"app_user_id": "u", "device_token": "t", "platform": "android"}
    track(event_name="x", **device)
    track(event_name="y", push_permission_granted=True, **device)
    track(event_name="z", push_permission_granted=False, **device)
    assert subtypes("@OPT_IN") == ["soft"]
    assert subtypes("@OPT_OUT") == ["soft"]
    assert Device.objects.get(token="t").push_permission_granted is False


def test_token_moving_to_another_contact_is_an_opt_out_moved(track):
    first = track(
        event_name="x",
        app_user_id="a",
        device_token="t",
        platform="ios",
        push_permission_granted=True,
    ).json()
    second = track(
        event_name="x",
        app_user_id="b",
        device_token="t",
        platform="ios",
        push_permission_granted=True,
    ).json()
    [opt_out] = builtins("@OPT_OUT")
    assert (opt_out.contact_id, opt_out.params) == (first["contact_id"], {"subtype": "moved"})
    assert Device.objects.get(token="t").contact_id == second["contact_id"]
    assert subtypes("@OPT_IN") == ["new", "moved"]


def test_web_push_subscription_is_accepted_as_object_or_json_string(track):
    subscription = {"endpoint": "https://push.example/abc", "keys": {"p256dh": "P", "auth": "A"}}
    assert (
        track(
            event_name="x", app_user_id="u", device_token=subscription, push_permission_granted=True
        ).status_code
        == 200
    )
    import json

    other = {**subscription, "endpoint": "https://push.example/def"}
    assert (
        track(
            event_name="x", app_user_id="u", device_token=json.dumps(other), platform="web"
        ).status_code
        == 200
    )
    devices = Device.objects.order_by("id")
    assert [d.token for d in devices] == ["https://push.example/abc", "https://push.example/def"]
    assert devices[0].platform == "web" and devices[0].subscription == subscription


# @APP_OPEN subtypes ------------------------------------------------------------------------
def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ingest(app, user: str, when: datetime, name: str = "x") -> None:
    payload = {"event_name": name, "app_user_id": user, "event_time": when.isoformat()}
    [result] = events_ingest(app=app, payloads=[payload])
    assert result.errors is None, result.errors


def sessions(user: str = "u") -> list[tuple[str, str]]:
    """(time, subtype) of the user's @APP_OPENs."""
    return [
        (e.occurred_at.strftime("%H:%M"), e.params["subtype"])
        for e in Event.objects.filter(
            event_type__name=catalog.APP_OPEN, contact__external_id=user
        ).order_by("occurred_at")
    ]


def notification_sent(app, user: str, when: datetime) -> None:
    contact = Contact.objects.get(app=app, external_id=user)
    event = BuiltinEvent(contact.pk, catalog.NOTIFICATION_SENT, {}, when, f"sent:{when}")
    events_record_builtin(app=app, events=[event])


def delivery_of(app, user: str) -> Delivery:
    contact = Contact.objects.get(app=app, external_id=user)
    campaign = active_campaign(app)
    return Delivery.objects.create(
        app=app,
        campaign=campaign,
        contact=contact,
        source=f"test:{secrets.token_hex(4)}",
        due_at=T0,
        created_at=T0,
        status=Delivery.Status.SENT,
        open_token=secrets.token_urlsafe(32),
    )


def test_a_session_without_a_notification_before_is_natural(app):
    ingest(app, "u", at(0))
    ingest(app, "u", at(45))
    assert sessions() == [("10:00", "natural"), ("10:45", "natural")]


def test_a_session_within_three_hours_of_a_notification_is_influenced(app):
    ingest(app, "u", at(0))
    notification_sent(app, "u", at(10))
    ingest(app, "u", at(10 + 179))  # 2 h 59 after the notification: influenced
    ingest(app, "u", at(10 + 220))  # 3 h 40 after it (and 41 quiet minutes): natural
    notification_sent(app, "u", at(300))
    ingest(app, "u", at(300 + 181))  # 3 h 01 after the next one: natural
    assert sessions() == [
        ("10:00", "natural"),
        ("13:09", "influenced"),
        ("13:50", "natural"),
        ("18:01", "natural"),
    ]


def test_a_session_is_not_influenced_by_a_notification_sent_after_it(app):
    ingest(app, "u", at(0))
    notification_sent(app, "u", at(120))
    ingest(app, "u", at(60))  # an event sent late: before the notification
    assert sessions() == [("10:00", "natural"), ("11:00", "natural")]


def test_only_the_contact_whose_session_starts_is_read_and_in_one_statement(app):
    for user in ("a", "b", "c"):
        ingest(app, user, at(0))
    notification_sent(app, "a", at(50))
    batch = [
        {"event_name": "x", "app_user_id": user, "event_time": at(minute).isoformat()}
        for user, minute in (("a", 60), ("b", 60), ("c", 10), ("c", 20))
    ]
    with CaptureQueriesContext(connection) as captured:
        events_ingest(app=app, payloads=batch)
    reads = [q["sql"] for q in captured.captured_queries if "events_contacteventstats" in q["sql"]]
    assert len([sql for sql in reads if sql.lstrip().upper().startswith("SELECT")]) == 1
    assert sessions("a")[-1] == ("11:00", "influenced")
    assert sessions("b")[-1] == ("11:00", "natural")
    assert sessions("c") == [("10:00", "natural")]  # no new session: nothing read for c

    # A batch in which no session starts costs no extra statement.
    quiet = [{"event_name": "x", "app_user_id": "a", "event_time": at(61).isoformat()}]
    with CaptureQueriesContext(connection) as captured:
        events_ingest(app=app, payloads=quiet)
    assert not stats_reads(captured)


def stats_reads(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured.captured_queries
        if "events_contacteventstats" in q["sql"] and q["sql"].lstrip().upper().startswith("SELECT")
    ]


def test_an_app_that_never_sent_a_push_reads_nothing_for_its_sessions(app, other_app):
    ingest(app, "u", at(0))
    ingest(other_app, "v", at(0))
    notification_sent(other_app, "v", at(10))  # another app's push: not this app's
    with CaptureQueriesContext(connection) as captured:
        ingest(app, "u", at(60))  # a session starts
    assert sessions() == [("10:00", "natural"), ("11:00", "natural")]
    assert not stats_reads(captured)
    [sent] = EventType.objects.filter(app=app, name=catalog.NOTIFICATION_SENT)
    assert sent.last_seen_at is None  # the catalog's type, never recorded
    notification_sent(app, "u", at(70))  # now it is: the next session start reads
    with CaptureQueriesContext(connection) as captured:
        ingest(app, "u", at(120))
    assert sessions()[-1] == ("12:00", "influenced")
    assert len(stats_reads(captured)) == 1


def test_subtype_is_declared_as_a_string_attribute_of_app_open(app):
    attributes = dict(
        EventAttribute.objects.filter(
            event_type__app=app, event_type__name=catalog.APP_OPEN
        ).values_list("name", "type")
    )
    assert attributes["subtype"] == "string"
    presence = dict(
        EventAttribute.objects.filter(
            event_type__app=app, event_type__name=catalog.PRESENCE
        ).values_list("name", "type")
    )
    assert presence == {"start": "date", "end": "date", "duration": "number"}


# A click's session (direct) -----------------------------------------------------------------
def test_a_click_after_fifteen_quiet_minutes_opens_a_direct_session(app):
    ingest(app, "u", at(0))
    delivery = delivery_of(app, "u")
    notification_sent(app, "u", at(10))
    delivery_open(token=delivery.open_token, now=at(16))
    ingest(app, "u", at(17))  # the page the click opened: the same session
    ingest(app, "u", at(40))
    [_, direct] = Event.objects.filter(event_type__name=catalog.APP_OPEN).order_by("occurred_at")
    assert direct.params == {
        "subtype": "direct",
        "campaign_id": delivery.campaign_id,
        "delivery_id": delivery.pk,
    }
    assert sessions() == [("10:00", "natural"), ("10:16", "direct")]
    assert Contact.objects.get(external_id="u").last_seen_at == at(40)


def test_a_click_within_fifteen_minutes_of_activity_opens_no_session(app):
    ingest(app, "u", at(0))
    delivery = delivery_of(app, "u")
    delivery_open(token=delivery.open_token, now=at(14))
    assert sessions() == [("10:00", "natural")]
    assert Contact.objects.get(external_id="u").last_seen_at == at(0)  # untouched
    assert len(Event.objects.filter(event_type__name=catalog.NOTIFICATION_OPENED)) == 1


def test_a_repeated_click_report_opens_one_session(app):
    ingest(app, "u", at(0))
    delivery = delivery_of(app, "u")
    delivery_open(token=delivery.open_token, now=at(20))
    delivery_open(token=delivery.open_token, now=at(40))  # a retried report: nothing more
    assert sessions() == [("10:00", "natural"), ("10:20", "direct")]


def test_without_a_click_the_thirty_minute_rule_holds(app):
    ingest(app, "u", at(0))
    ingest(app, "u", at(20))  # 20 quiet minutes: no session (a click would have opened one)
    ingest(app, "u", at(51))
    assert sessions() == [("10:00", "natural"), ("10:51", "natural")]


# @PRESENCE ------------------------------------------------------------------------------------
def presence(start: datetime, end: datetime, duration=None) -> dict:
    params = {"start": start.isoformat(), "end": end.isoformat()}
    params["duration"] = (end - start).total_seconds() if duration is None else duration
    return {"event_name": "@PRESENCE", "app_user_id": "u", "params": params}


def presence_with(start: datetime, end: datetime, /, **params) -> dict:
    payload = presence(start, end)
    payload["params"].update(params)
    return payload


def test_a_client_may_report_presence_typed_for_segments(track):
    start = timezone.now() - timedelta(minutes=3)
    response = track(**presence(start, start + timedelta(seconds=95.5)))
    assert response.status_code == 200, response.json()
    [event] = Event.objects.filter(event_type__name=catalog.PRESENCE)
    assert event.params["duration"] == 95.5
    assert event.params["start"] == start.astimezone(UTC).isoformat(timespec="microseconds")
    assert event.event_type.is_system


def test_other_built_in_names_stay_reserved(track):
    response = track(event_name="@NOTIFICATION_OPENED", app_user_id="u")
    assert response.status_code == 400
    [reason] = response.json()["detail"]["event_name"]
    assert "reserved for built-in events" in reason and "@PRESENCE" in reason


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        (lambda s, e: presence(e, s, 60), "params.start", "must not be after end"),
        (lambda s, e: presence(s, e, -1), "params.duration", "must not be negative"),
        (lambda s, e: presence(s, e, 75), "params.duration", "end - start (60 s) within 2 s"),
        (lambda s, e: presence(s, e, "60"), "params.duration", "number of seconds"),
        (lambda s, e: presence(s, e, True), "params.duration", "number of seconds"),
        (
            lambda s, e: presence(s + timedelta(hours=1), e + timedelta(hours=1)),
            "params.end",
            "in the future",
        ),
        (
            lambda s, e: {**presence(s, e), "params": {"end": e.isoformat(), "duration": 60}},
            "params.start",
            "is required",
        ),
        (
            lambda s, e: presence_with(s, e, start="yesterday"),
            "params.start",
            "RFC 3339",
        ),
        (
            lambda s, e: presence_with(s, e, end="2026-01-01T10:00:00"),
            "params.end",
            "no timezone offset",
        ),
    ],
)
def test_an_inconsistent_presence_is_a_400_naming_the_param(track, change, field, fragment):
    start = timezone.now() - timedelta(minutes=5)
    response = track(**change(start, start + timedelta(seconds=60)))
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert fragment in " ".join(detail[field]), detail
    assert not Event.objects.filter(event_type__name=catalog.PRESENCE).exists()


def test_a_duration_within_the_tolerance_is_accepted(track):
    start = timezone.now() - timedelta(minutes=5)
    response = track(**presence(start, start + timedelta(seconds=60), 61.5))
    assert response.status_code == 200, response.json()
