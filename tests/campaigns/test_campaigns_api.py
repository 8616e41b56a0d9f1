"""The campaigns API: create and validate, activate / pause / archive, stats and the delivery
log, preview, test sends, opens, the push policy, and tenancy."""

from __future__ import annotations

import pytest

from campaigns.models import Campaign, Delivery
from campaigns.services.triggers import trigger_marks_process
from segments.services import segment_create
from tests.campaigns.factories import subscribe, track

EVENT_CAMPAIGN = {
    "name": "Thanks",
    "kind": "event",
    "title": "Thanks {{ contact.first_name | default: 'there' }}!",
    "body": "Your order of {{ event.amount }} is on its way",
    "trigger_event": "purchase_completed",
    "delay_seconds": 900,
    "cancel_event": "order_cancelled",
    "cancel_match_param": "order_id",
}


def create(client, **fields):
    return client.post("/api/v1/campaigns", {**EVENT_CAMPAIGN, **fields}, format="json")


def errors(response) -> dict:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "validation"
    return body["detail"]


def test_create_read_and_list(admin_client):
    response = create(admin_client)
    assert response.status_code == 201, response.json()
    campaign = response.json()
    assert campaign["status"] == "draft"
    assert campaign["cancel_match_param"] == "order_id"
    assert admin_client.get(f"/api/v1/campaigns/{campaign['id']}").json()["name"] == "Thanks"
    listed = admin_client.get("/api/v1/campaigns?status=draft").json()["results"]
    assert [c["id"] for c in listed] == [campaign["id"]]


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"title": "Hi {{ contact.name"}, "title", "Liquid"),
        ({"body": "{% if %}"}, "body", "Liquid"),
        ({"trigger_event": ""}, "trigger_event", "required"),
        ({"delay_seconds": 31 * 86400}, "delay_seconds", "30 days"),
        ({"cancel_event": "", "cancel_match_param": "order_id"}, "cancel_match_param", "cancel"),
        (
            {"trigger_where": [{"param": "amount", "op": "contains", "value": 5}]},
            "trigger_where[0].op",
            "number",
        ),
        ({"trigger_where": {"amount": 5}}, "trigger_where", "list"),
        ({"kind": "segment_entry"}, "entry_segment_id", "required"),
        ({"audience_segment_id": 999999}, "audience_segment_id", "no segment"),
        ({"reentry": "hours"}, "reentry_hours", "required"),
        ({"quiet_start": "22:00"}, "quiet_end", "both"),
        ({"urgency": "asap"}, "urgency", "valid choice"),
        ({"kind": "sometimes"}, "kind", "valid choice"),
        ({"ttl_seconds": 40 * 86400}, "ttl_seconds", "4 weeks"),
    ],
)
def test_bad_campaigns_are_a_400_naming_the_field(admin_client, fields, field, reason):
    detail = errors(create(admin_client, **fields))
    assert reason in " ".join(detail[field]), detail
    assert not Campaign.objects.exists()


def test_another_apps_segment_is_refused(admin_client, other_app):
    theirs = segment_create(
        app=other_app,
        name="Theirs",
        conditions={"type": "contact", "field": "country", "op": "=", "value": "US"},
    )
    detail = errors(create(admin_client, audience_segment_id=theirs.pk))
    assert "no segment" in detail["audience_segment_id"][0]


def test_activate_pause_and_archive(admin_client, app):
    campaign_id = create(admin_client).json()["id"]
    url = f"/api/v1/campaigns/{campaign_id}"
    assert admin_client.post(f"{url}/activate").json()["status"] == "active"
    assert admin_client.post(f"{url}/pause").json()["status"] == "paused"
    assert errors(admin_client.post(f"{url}/pause"))["status"][0].startswith("only an active")
    assert admin_client.post(f"{url}/activate").json()["status"] == "active"
    subscribe(app, "ann")
    track(app, "ann", "purchase_completed", order_id=1)
    trigger_marks_process()
    assert admin_client.post(f"{url}/archive").json()["status"] == "archived"
    assert Delivery.objects.get().status == Delivery.Status.CANCELLED
    assert "archived" in errors(admin_client.patch(url, {"name": "x"}, format="json"))["status"][0]


def test_patch_changes_only_the_fields_sent(admin_client):
    campaign_id = create(admin_client).json()["id"]
    response = admin_client.patch(
        f"/api/v1/campaigns/{campaign_id}", {"delay_seconds": 60}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["delay_seconds"], response.json()["title"]) == (
        60,
        EVENT_CAMPAIGN["title"],
    )


def test_delete_removes_a_draft_and_archives_a_campaign_that_ran(admin_client, app):
    draft = create(admin_client).json()["id"]
    assert admin_client.delete(f"/api/v1/campaigns/{draft}").status_code == 204
    assert not Campaign.objects.filter(pk=draft).exists()
    ran = create(admin_client).json()["id"]
    admin_client.post(f"/api/v1/campaigns/{ran}/activate")
    assert admin_client.delete(f"/api/v1/campaigns/{ran}").status_code == 204
    assert Campaign.objects.get(pk=ran).status == Campaign.Status.ARCHIVED


def test_stats_and_the_delivery_log(admin_client, app):
    campaign_id = create(admin_client, cancel_event="", cancel_match_param="").json()["id"]
    admin_client.post(f"/api/v1/campaigns/{campaign_id}/activate")
    subscribe(app, "ann")
    subscribe(app, "bob", granted=False)
    track(app, "ann", "purchase_completed")
    track(app, "bob", "purchase_completed")
    trigger_marks_process()
    Delivery.objects.filter(status=Delivery.Status.SCHEDULED).update(
        status="sent", opened_at="2026-01-01T00:00:00Z"
    )
    stats = admin_client.get(f"/api/v1/campaigns/{campaign_id}/stats").json()
    assert stats == {
        "scheduled": 0,
        "sending": 0,
        "sent": 1,
        "failed": 0,
        "cancelled": 0,
        "skipped": 1,
        "delivered": 0,
        "delivery_rate": 0.0,
        "opened": 1,
        "open_rate": 1.0,
        "clicked": 0,
        "click_rate": 0.0,
        "unsubscribed": 0,
        "unsubscribe_rate": 0.0,
        "bounced": 0,
        "bounce_rate": 0.0,
    }
    log = admin_client.get(f"/api/v1/campaigns/{campaign_id}/deliveries?status=skipped").json()
    assert [row["reason"] for row in log["results"]] == ["no push-permitted device"]


def test_preview_renders_for_a_contact_and_a_sample_event(admin_client, app):
    contact = subscribe(app, "ann")
    contact.custom_fields = {"first_name": "Ann"}
    contact.save()
    campaign_id = create(admin_client).json()["id"]
    response = admin_client.post(
        f"/api/v1/campaigns/{campaign_id}/preview",
        {"contact_id": contact.pk, "event_params": {"amount": 49.99}},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["title"] == "Thanks Ann!"
    assert response.json()["body"] == "Your order of 49.99 is on its way"
    anonymous = admin_client.post(f"/api/v1/campaigns/{campaign_id}/preview", {}, format="json")
    assert anonymous.json()["title"] == "Thanks there!"


def test_preview_of_a_template_that_fails_on_the_sample_values_is_a_400(admin_client):
    campaign_id = create(admin_client, body="{{ event.amount | divided_by: event.qty }}").json()[
        "id"
    ]
    response = admin_client.post(
        f"/api/v1/campaigns/{campaign_id}/preview",
        {"event_params": {"amount": 10, "qty": 0}},
        format="json",
    )
    assert errors(response) == {
        "body": ["cannot be rendered for these values: divided_by: can't divide by 0"]
    }


def test_test_send_needs_a_reachable_contact(admin_client, app):
    campaign_id = create(admin_client).json()["id"]
    bob = subscribe(app, "bob", granted=False)
    detail = errors(
        admin_client.post(
            f"/api/v1/campaigns/{campaign_id}/test", {"contact_id": bob.pk}, format="json"
        )
    )
    assert "no push-permitted device" in detail["contact_id"][0]
    missing = admin_client.post(
        f"/api/v1/campaigns/{campaign_id}/test", {"contact_id": 0}, format="json"
    )
    assert missing.status_code == 400
    assert missing.json()["detail"] == {"contact_id": ["no such contact in this app"]}


def test_opened_reports_need_a_known_token(client, db):
    response = client.post(
        "/api/v1/push/opened", {"token": "nope"}, content_type="application/json"
    )
    assert response.status_code == 404
    assert (
        client.post("/api/v1/push/opened", {}, content_type="application/json").status_code == 400
    )


def test_push_policy(admin_client):
    policy = "/api/v1/push/policy"
    assert admin_client.get(policy).json() == {"daily_cap": None, "ios_provider": "fcm"}
    assert admin_client.put(policy, {"daily_cap": 3}, format="json").json() == {
        "daily_cap": 3,
        "ios_provider": "fcm",
    }
    changed = admin_client.put(policy, {"daily_cap": 3, "ios_provider": "apns"}, format="json")
    assert changed.json() == {"daily_cap": 3, "ios_provider": "apns"}
    # left out: kept
    assert admin_client.put(policy, {"daily_cap": None}, format="json").json() == {
        "daily_cap": None,
        "ios_provider": "apns",
    }
    assert errors(admin_client.put(policy, {"daily_cap": -1}, format="json"))
    assert "ios_provider" in errors(
        admin_client.put(policy, {"ios_provider": "sns"}, format="json")
    )


def test_an_app_never_sees_another_apps_campaigns(admin_client, other_admin_client):
    campaign_id = create(admin_client).json()["id"]
    for path in ["", "/stats", "/deliveries"]:
        assert other_admin_client.get(f"/api/v1/campaigns/{campaign_id}{path}").status_code == 404
    assert other_admin_client.post(f"/api/v1/campaigns/{campaign_id}/activate").status_code == 404
    assert other_admin_client.get("/api/v1/campaigns").json()["results"] == []


def test_an_ingest_key_cannot_manage_campaigns(ingest_client):
    assert ingest_client.get("/api/v1/campaigns").status_code == 403
