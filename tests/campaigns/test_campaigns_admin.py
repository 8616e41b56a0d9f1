"""The admin for campaigns (saved and activated through the services, errors next to their
fields, stats on the page) and the read-only delivery log, scoped to the user's apps."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from campaigns.models import Campaign, Delivery
from campaigns.services.triggers import trigger_marks_process
from events.models import EventType
from tests.campaigns.factories import active_campaign, subscribe, track


def form_data(**fields) -> dict:
    data = {
        "name": "After purchase",
        "kind": "event",
        "title": "Thanks {{ contact.first_name | default: 'there' }}",
        "body": "",
        "url": "",
        "icon": "",
        "image": "",
        "ttl_seconds": 86400,
        "urgency": "normal",
        "trigger_event": "purchase_completed",
        "trigger_where-param": ["amount"],
        "trigger_where-op": [">"],
        "trigger_where-value": ["50"],
        "delay_amount": 15,
        "delay_unit": "minutes",
        "cancel_event": "order_cancelled",
        "cancel_match_param": "order_id",
        "reentry": "always",
        "quiet_action": "delay",
    }
    return {**data, **fields}


def test_adding_a_campaign_goes_through_the_service(staff_client, app):
    response = staff_client.post("/admin/campaigns/campaign/add/", form_data())
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.trigger_where[0]["value"]) == ("draft", 50)
    assert campaign.delay_seconds == 900
    assert EventType.objects.filter(app=app, name="order_cancelled").exists()


def test_errors_show_next_to_their_fields(staff_client, app):
    data = form_data(title="Hi {{ contact.name", **{"trigger_where-op": ["contains"]})
    response = staff_client.post("/admin/campaigns/campaign/add/", data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Liquid" in errors["title"][0]
    assert errors["trigger_where"][0].startswith("Filter 1, operator: 'contains' does not apply")
    assert not Campaign.objects.exists()


def test_activate_action_and_stats_on_the_page(staff_client, app):
    campaign = Campaign.objects.create(
        app=app, name="Sale", kind="event", title="x", trigger_event="purchase_completed"
    )
    response = staff_client.post(
        "/admin/campaigns/campaign/",
        {"action": "activate", "_selected_action": [campaign.pk]},
        follow=True,
    )
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE
    assert "Sale: active." in response.content.decode()
    subscribe(app, "ann", granted=False)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    page = staff_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    stats = page.context["stats"]
    assert (stats["sent"], stats["scheduled"], stats["skipped"]) == (0, 0, 1)
    assert page.context["skipped_reasons"] == [("no push-permitted device", 1)]
    log = staff_client.get(f"/admin/campaigns/delivery/?campaign={campaign.pk}")
    assert [d.reason for d in log.context["cl"].result_list] == ["no push-permitted device"]


def test_staff_see_only_their_apps_campaigns_and_deliveries(app, other_app):
    mine = active_campaign(app, name="Mine")
    active_campaign(other_app, name="Theirs")
    subscribe(app, "ann", granted=False)
    track(app, "ann", "purchase_completed")
    trigger_marks_process()
    user = get_user_model().objects.create_user("marketer", password="pw", is_staff=True)
    codenames = ["view_campaign", "view_delivery"]
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    other_app.members.add(user)
    client = Client()
    client.force_login(user)
    listed = client.get("/admin/campaigns/campaign/").context["cl"].result_list
    assert [c.name for c in listed] == ["Theirs"]
    assert client.get(f"/admin/campaigns/campaign/{mine.pk}/change/").status_code == 302
    log = client.get("/admin/campaigns/delivery/")
    assert list(log.context["cl"].result_list) == []
    assert "Mine" not in log.content.decode()
    assert Delivery.objects.count() == 1
