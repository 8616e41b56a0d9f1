""" "Send event" on an event-triggered campaign's page: an event for a chosen contact, the
trigger's name filled in, through the contact page's ingest path; the campaign's trigger then
schedules a push for it as for a tracked event."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from campaigns.models import Campaign, Delivery
from campaigns.services.campaigns import campaign_create
from events.models import Event
from tests.campaigns.factories import active_campaign, subscribe
from tests.events.send_event_forms import send_event_form


@pytest.fixture
def campaign(app):
    return active_campaign(app, name="Thanks", title="Thanks {{ event.order_id }}!")


@pytest.fixture
def ann(app, push_service):
    return subscribe(app, "ann", subscription=push_service.subscription())


@pytest.fixture
def marketer(role_client, app):
    return role_client("Marketer", app)


def page_url(campaign: Campaign) -> str:
    return f"/admin/campaigns/campaign/{campaign.pk}/change/"


def send_url(campaign: Campaign) -> str:
    return f"/admin/campaigns/campaign/{campaign.pk}/send-event/"


def page_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_campaign_page_offers_send_event_with_the_trigger_filled_in(marketer, campaign):
    response = marketer.get(page_url(campaign))
    assert response.context["send_event"]["form"]["event_name"].value() == "purchase_completed"
    assert f'action="{send_url(campaign)}#send-event"' in response.text
    assert "admin/js/autocomplete.js" in response.text


def test_the_sent_event_triggers_the_campaign_for_the_contact(
    marketer, campaign, ann, django_capture_on_commit_callbacks
):
    # Tasks run inline in tests (tests/conftest.py): the matcher nudged on commit runs now.
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer.post(
            send_url(campaign),
            send_event_form(ann.pk, "purchase_completed", [("order_id", "text", "A-17")]),
        )
    assert (response.status_code, response.url) == (302, f"{page_url(campaign)}#send-event")
    [event] = Event.objects.filter(event_type__name="purchase_completed")
    assert (event.contact_id, event.params, event.context) == (
        ann.pk,
        {"order_id": "A-17"},
        {"source": "ui"},
    )
    [delivery] = Delivery.objects.filter(campaign=campaign)
    assert (delivery.contact_id, delivery.trigger_event_id) == (ann.pk, event.pk)
    [message] = page_messages(marketer.get(response.url))
    assert message.startswith("Event “purchase_completed” recorded for ")
    assert "the campaign's trigger evaluates it now" in message


def test_a_draft_campaign_says_its_trigger_does_not_evaluate_it(app, marketer, ann):
    draft = campaign_create(
        app=app, name="Later", kind=Campaign.Kind.EVENT, title="Hi", trigger_event="signed_up"
    )
    response = marketer.post(send_url(draft), send_event_form(ann.pk, "signed_up"), follow=True)
    [message] = page_messages(response)
    assert "The campaign is draft: its trigger evaluates events only while it is active" in message
    assert Event.objects.filter(event_type__name="signed_up", contact=ann).exists()
    assert not Delivery.objects.exists()


def test_an_invalid_param_is_shown_on_its_row_and_nothing_is_sent(marketer, campaign, ann):
    form = send_event_form(ann.pk, "purchase_completed", [("amount", "number", "a lot")])
    response = marketer.post(send_url(campaign), form)
    assert response.status_code == 200
    assert response.context["original"] == campaign  # the campaign page again
    form = response.context["send_event"]["form"]
    assert "is not a number" in str(form.params.forms[0].errors["value"])
    assert form["event_name"].value() == "purchase_completed"
    assert "Not sent: see the form below." in page_messages(response)
    assert not Event.objects.filter(event_type__name="purchase_completed").exists()
    assert not Delivery.objects.exists()


def test_an_ingest_error_is_shown_on_its_field(marketer, campaign, ann):
    response = marketer.post(send_url(campaign), send_event_form(ann.pk, "a*b"))
    form = response.context["send_event"]["form"]
    assert "must not contain *, + or |" in str(form.errors["event_name"])


def test_a_broadcast_has_no_send_event(app, marketer, ann):
    broadcast = campaign_create(app=app, name="News", kind=Campaign.Kind.BROADCAST, title="Hi")
    assert "send_event" not in marketer.get(page_url(broadcast)).context
    assert marketer.post(send_url(broadcast), send_event_form(ann.pk, "x")).status_code == 404


def test_who_may_not_act_on_contacts_gets_no_section_and_a_403(app, campaign, ann):
    reader = get_user_model().objects.create_user("reader", password="pw", is_staff=True)
    reader.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    app.members.add(reader)
    client = Client()
    client.force_login(reader)
    assert "send_event" not in client.get(page_url(campaign)).context
    response = client.post(send_url(campaign), send_event_form(ann.pk, "purchase_completed"))
    assert response.status_code == 403
    assert not Event.objects.filter(event_type__name="purchase_completed").exists()


def test_another_apps_campaign_is_not_found(role_client, campaign, other_app, ann):
    outsider = role_client("Marketer", other_app, username="outsider")
    response = outsider.post(send_url(campaign), send_event_form(ann.pk, "purchase_completed"))
    assert response.status_code == 404
