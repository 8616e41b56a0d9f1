"""Segment messages translated into Beacon payloads (events/segment_spec.py): no database."""

from __future__ import annotations

from datetime import UTC, datetime

from events.segment_spec import message_errors, message_translate

NOW = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)


def translate(message, kind=None, **kwargs):
    return message_translate(message, kind=kind, received_at=NOW, **kwargs)


def test_track_maps_ids_name_properties_and_time():
    t = translate(
        {
            "type": "track",
            "userId": "u1",
            "anonymousId": "a1",
            "messageId": "m1",
            "event": "Order Completed",
            "properties": {"revenue": 14.99},
            "timestamp": "2026-12-03T11:00:00Z",
            "integrations": {"All": True},
            "channel": "server",
        }
    )
    assert t.errors is None
    assert t.payload == {
        "app_user_id": "u1",
        "anonymous_id": "a1",
        "event_id": "m1",
        "event_time": "2026-12-03T11:00:00Z",
        "event_name": "Order Completed",
        "params": {"revenue": 14.99},
    }
    assert t.traits is None


def test_the_endpoint_says_the_call_when_the_message_does_not():
    t = translate({"userId": "u1", "name": "Home"}, kind="page")
    assert t.payload["event_name"] == "page_viewed"
    assert t.payload["params"] == {"name": "Home"}


def test_page_and_screen_carry_name_and_category_over_properties():
    t = translate(
        {
            "type": "screen",
            "anonymousId": "a1",
            "name": "Cart",
            "category": "Shop",
            "properties": {"name": "ignored", "items": 3},
        }
    )
    assert t.payload["event_name"] == "screen_viewed"
    assert t.payload["params"] == {"name": "Cart", "category": "Shop", "items": 3}


def test_identify_traits_come_from_traits_over_context_traits():
    t = translate(
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"email": "a@example.com"},
            "context": {"traits": {"email": "old@example.com", "plan": "pro"}},
        }
    )
    assert t.payload["event_name"] == "user_identified"
    assert t.traits == {"email": "a@example.com", "plan": "pro"}
    assert t.payload["params"] == t.traits


def test_alias_is_an_event_carrying_both_ids():
    t = translate({"type": "alias", "previousId": "anon-1", "userId": "u1"})
    assert t.payload["app_user_id"] == "u1"
    assert t.payload["anonymous_id"] == "anon-1"
    assert t.payload["event_name"] == "user_aliased"
    assert t.payload["params"] == {"previous_id": "anon-1"}


def test_alias_needs_both_ids():
    assert translate({"type": "alias", "userId": "u1"}).errors == {"previousId": ["is required"]}


def test_group_sets_group_id_and_prefixed_traits_as_custom_fields():
    t = translate({"type": "group", "userId": "u1", "groupId": 42, "traits": {"name": "Initech"}})
    assert t.payload["event_name"] == "group_joined"
    assert t.payload["params"] == {"name": "Initech", "group_id": "42"}
    assert t.traits == {"group_id": "42", "group_name": "Initech"}


def test_group_needs_a_group_id():
    assert "groupId" in translate({"type": "group", "userId": "u1"}).errors


def test_a_message_needs_a_user_or_anonymous_id():
    assert translate({"type": "track", "event": "x"}).errors == {
        "userId": ["userId or anonymousId is required"]
    }


def test_an_unknown_type_is_refused():
    assert "type" in translate({"type": "launch", "userId": "u"}).errors
    assert "non_field_errors" in translate(["not", "an", "object"]).errors


def test_original_timestamp_is_corrected_for_clock_skew():
    # The device's clock is 1 hour fast: it says it sent at 13:00 what happened at 12:59:30.
    t = translate(
        {
            "type": "track",
            "userId": "u",
            "event": "x",
            "originalTimestamp": "2026-12-03T12:59:30Z",
            "sentAt": "2026-12-03T13:00:00Z",
        }
    )
    assert datetime.fromisoformat(t.payload["event_time"]) == datetime(
        2026, 12, 3, 11, 59, 30, tzinfo=UTC
    )


def test_the_batch_sent_at_is_used_when_the_message_has_none():
    t = translate(
        {"type": "track", "userId": "u", "event": "x", "originalTimestamp": "2026-12-03T10:00:00Z"},
        sent_at="2026-12-03T10:00:10Z",
    )
    assert datetime.fromisoformat(t.payload["event_time"]) == datetime(
        2026, 12, 3, 11, 59, 50, tzinfo=UTC
    )


def test_timestamp_wins_over_original_timestamp():
    t = translate(
        {
            "type": "track",
            "userId": "u",
            "event": "x",
            "timestamp": "2026-12-01T00:00:00Z",
            "originalTimestamp": "2026-12-03T10:00:00Z",
            "sentAt": "2026-12-03T10:00:00Z",
        }
    )
    assert t.payload["event_time"] == "2026-12-01T00:00:00Z"


def test_a_bad_original_timestamp_is_named():
    t = translate({"type": "track", "userId": "u", "event": "x", "originalTimestamp": "soon"})
    assert "originalTimestamp" in t.errors


def test_context_gives_device_timezone_language_and_country():
    t = translate(
        {
            "type": "track",
            "userId": "u",
            "event": "x",
            "context": {
                "device": {"token": "fcm-token", "type": "Android", "id": "install-1"},
                "timezone": "Europe/Istanbul",
                "locale": "tr-TR",
                "location": {"country": "Germany"},
                "sessionId": 17,
            },
        }
    )
    p = t.payload
    assert (p["device_token"], p["platform"], p["installation_id"]) == (
        "fcm-token",
        "android",
        "install-1",
    )
    assert p["push_permission_granted"] is True
    assert (p["timezone"], p["language"], p["country"], p["session_id"]) == (
        "Europe/Istanbul",
        "tr",
        "DE",
        17,
    )
    assert p["context"]["device"]["id"] == "install-1"


def test_locale_alone_gives_the_country_and_unknown_values_stay_in_context_only():
    t = translate(
        {
            "type": "track",
            "userId": "u",
            "event": "x",
            "context": {"locale": "en_US", "timezone": "Mars/Olympus"},
        }
    )
    assert (t.payload["language"], t.payload["country"]) == ("en", "US")
    assert "timezone" not in t.payload
    assert t.payload["context"]["timezone"] == "Mars/Olympus"


def test_a_device_token_needs_android_or_ios():
    t = translate(
        {
            "type": "track",
            "userId": "u",
            "event": "x",
            "context": {"device": {"token": "t", "type": "phone"}},
        }
    )
    assert "context.device.type" in t.errors


def test_batch_context_is_merged_under_the_message_context():
    t = translate(
        {"type": "track", "userId": "u", "event": "x", "context": {"locale": "fr-FR"}},
        batch_context={"locale": "en-US", "timezone": "Europe/Paris"},
    )
    assert t.payload["context"] == {"locale": "fr-FR", "timezone": "Europe/Paris"}
    assert t.payload["language"] == "fr"


def test_ingest_errors_are_named_by_the_message_fields():
    t = translate({"type": "track", "userId": "u", "event": "x"})
    renamed = message_errors(
        {
            "event_name": ["reserved"],
            "params.price": ["bad"],
            "params.tags[2]": ["bad"],
            "event_id": ["too long"],
            "app_user_id": ["too long"],
            "event_time": ["future"],
        },
        t.field_names,
    )
    assert renamed == {
        "event": ["reserved"],
        "properties.price": ["bad"],
        "properties.tags[2]": ["bad"],
        "messageId": ["too long"],
        "userId": ["too long"],
        "timestamp": ["future"],
    }
    identify = translate({"type": "identify", "userId": "u"})
    assert message_errors({"params.age": ["bad"]}, identify.field_names) == {"traits.age": ["bad"]}
