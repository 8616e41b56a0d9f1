"""Built-in events Beacon generates on ingest: @APP_OPEN sessions and @OPT_IN / @OPT_OUT."""

from __future__ import annotations

from contacts.models import Device
from events.models import Event


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
