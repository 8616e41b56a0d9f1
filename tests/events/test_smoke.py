from events.models import Event


def test_smartapppush_example_is_accepted(track, app):
    response = track(
        tenant_id="shop",
        app_user_id="user_123",
        event_name="purchase_completed",
        event_time="2026-03-29T14:30:00+03:00",
        device_token="fcm_token",
        platform="android",
        push_permission_granted=True,
        timezone="Europe/Istanbul",
        language="tr",
        country="TR",
        session_id="sess_abc123",
        params={"product_id": "SKU-9001", "amount": 49.99, "currency": "USD"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert len(body["fingerprint"]) == 64 and body["duplicate"] is False
    assert Event.objects.filter(event_type__name="purchase_completed").count() == 1


def test_builtins_created(track, app):
    track(
        app_user_id="u1",
        event_name="x",
        device_token="t",
        platform="android",
        push_permission_granted=True,
    )
    names = sorted(Event.objects.values_list("event_type__name", flat=True))
    assert names == ["@APP_OPEN", "@OPT_IN", "x"]
