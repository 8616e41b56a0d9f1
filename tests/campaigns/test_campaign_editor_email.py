"""The campaign editor for email campaigns, through the Django client: the channel's fields saved
through the services (the other channel's reset), the services' errors next to their fields, the
live preview of an email's parts, and "Send test email" to any address, received by a real SMTP
server (aiosmtpd) and parsed as a mail client would."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, EmailSettings
from campaigns.services.campaigns import campaign_create
from campaigns.services.previews import NO_EMAIL_SETTINGS, campaign_send_test_email
from contacts.models import Contact
from contacts.services.contacts import contact_update
from events.models import Event
from tests.campaigns.factories import subscribe, track
from tests.campaigns.test_campaign_editor_admin import ADD, errors_of, form

CART = [
    {"name": "Linen shirt <XL>", "price": 49.5},
    {"name": "Wool socks", "price": 12},
]
CART_HTML = (
    "<html><body><h1>Hi {{ contact.first_name | default: 'there' }}</h1><ul>"
    "{% for item in event.items %}<li>{{ item.name }}: {{ item.price }} EUR</li>{% endfor %}"
    '</ul><p><a href="https://shop.example/cart/{{ event.cart_id }}">Back to your cart</a></p>'
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
)


def email_form(**fields) -> dict:
    """An event-triggered email campaign as the editor posts it: the push fields the page hides
    are posted too, as a browser does."""
    data = form(
        name="Abandoned cart",
        channel="email",
        title="You left {{ event.items | size }} items",
        preheader="Still thinking, {{ contact.first_name }}?",
        html_body=CART_HTML,
        text_body="",
        track_opens="on",
        trigger_event="add_to_cart",
        cancel_event="purchase_completed",
        cancel_match_param="cart_id",
        **{"trigger_where-param": [""], "trigger_where-op": ["="], "trigger_where-value": [""]},
    )
    return {**data, **fields}


@pytest.fixture
def marketer(role_client, app):
    return role_client("Marketer", app)


@pytest.fixture
def ann(app) -> Contact:
    """Ann, with a first name and an email address, left a cart (the sample event)."""
    contact = Contact.objects.get(pk=track(app, "ann", "page_viewed"))
    contact_update(
        contact=contact, data={"email": "ann@example.com", "custom_fields": {"first_name": "Ann"}}
    )
    track(app, "ann", "add_to_cart", cart_id="c9", items=CART)
    return contact


@pytest.fixture
def sender(app) -> EmailSettings:
    return EmailSettings.objects.create(
        app=app, from_name="Shop", from_email="news@shop.example", reply_to="help@shop.example"
    )


def email_campaign(app, **fields) -> Campaign:
    defaults = {
        "name": "Abandoned cart",
        "kind": Campaign.Kind.EVENT,
        "channel": Campaign.Channel.EMAIL,
        "trigger_event": "add_to_cart",
        "title": "Cart {{ event.cart_id }} for {{ contact.first_name | default: 'you' }}",
        "preheader": "Your {{ event.items | size }} items",
        "html_body": CART_HTML,
    }
    return campaign_create(app=app, **{**defaults, **fields})


# The editor -------------------------------------------------------------------------------
def test_an_email_campaign_is_saved_through_the_service_without_push_fields(marketer):
    data = email_form(
        body="A push body left behind",
        url="https://shop.example/push",
        **{
            "buttons-id": ["shop", ""],
            "buttons-title": ["Shop", ""],
            "buttons-action": ["open_url", "open_url"],
            "buttons-target": ["https://shop.example", ""],
        },
    )
    response = marketer.post(ADD, data)
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get()
    assert (campaign.channel, campaign.kind, campaign.status) == ("email", "event", "draft")
    assert campaign.title == "You left {{ event.items | size }} items"
    assert campaign.preheader == "Still thinking, {{ contact.first_name }}?"
    assert (campaign.html_body, campaign.text_body) == (CART_HTML, "")
    assert (campaign.track_opens, campaign.track_clicks) == (True, False)
    # The push's own fields, hidden on the page, are not kept for an email.
    assert (campaign.body, campaign.url, campaign.buttons) == ("", "", [])
    assert (campaign.cancel_event, campaign.cancel_match_param) == ("purchase_completed", "cart_id")


def test_an_email_needs_an_html_or_a_text_body_said_next_to_it(marketer):
    errors = errors_of(marketer.post(ADD, email_form(html_body="", text_body="  ")))
    assert errors["html_body"] == ["is required for an email (or give text_body)"]
    assert not Campaign.objects.exists()
    errors = errors_of(marketer.post(ADD, email_form(title="", text_body="{% if %}")))
    assert errors["title"] == ["This field is required."]
    errors = errors_of(marketer.post(ADD, email_form(text_body="{% if %}", html_body="")))
    assert errors["text_body"] == ["is not a valid Liquid template: missing expression"]
    assert not Campaign.objects.exists()
    # A text part alone is an email.
    response = marketer.post(ADD, email_form(html_body="", text_body="Hi {{ contact.email }}"))
    assert response.status_code == 302, errors_of(response)


def test_switching_the_channel_resets_the_other_channels_fields(marketer, app):
    response = marketer.post(ADD, form(body="Order {{ event.order_id }}", ttl_seconds=60))
    assert response.status_code == 302, errors_of(response)
    campaign = Campaign.objects.get()
    assert (campaign.channel, campaign.track_opens, campaign.track_clicks) == ("push", True, True)
    change = f"/admin/campaigns/campaign/{campaign.pk}/change/"

    response = marketer.post(change, email_form(name=campaign.name, ttl_seconds=60))
    assert response.status_code == 302, errors_of(response)
    campaign.refresh_from_db()
    assert (campaign.channel, campaign.body, campaign.ttl_seconds) == ("email", "", 86400)
    assert campaign.html_body == CART_HTML

    response = marketer.post(change, form(name=campaign.name, channel="push", html_body=CART_HTML))
    assert response.status_code == 302, errors_of(response)
    campaign.refresh_from_db()
    assert (campaign.channel, campaign.html_body, campaign.preheader) == ("push", "", "")
    assert (campaign.track_opens, campaign.track_clicks) == (True, True)


def test_the_editor_offers_the_channel_and_labels_the_title_as_it_calls_it(marketer, app):
    page = marketer.get(ADD).content.decode()
    assert 'name="channel" value="push"' in page and 'name="channel" value="email"' in page
    assert re.search(r'<label[^>]*for="id_title"[^>]*>Title:</label>', page)
    for field in ("preheader", "html_body", "text_body", "track_opens", "track_clicks"):
        assert f'name="{field}"' in page
    assert 'sandbox=""' in page and 'id="preview-text"' in page
    campaign = email_campaign(app)
    page = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert re.search(r'<label[^>]*for="id_title"[^>]*>Subject:</label>', page)
    assert re.search(r'name="channel" value="email"[^>]*checked', page)


def test_a_sent_email_broadcast_shows_its_parts_read_only(marketer, app):
    campaign = email_campaign(app, kind=Campaign.Kind.BROADCAST, trigger_event="")
    Campaign.objects.filter(pk=campaign.pk).update(fanned_out_at=timezone.now())
    page = marketer.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    assert "Your {{ event.items | size }} items" in page  # the preheader, as it is
    assert "&lt;li&gt;{{ item.name }}: {{ item.price }} EUR&lt;/li&gt;" in page
    assert 'name="html_body"' not in page and 'id="campaign-preview"' not in page
    assert "ttl_seconds" not in page  # no push fields for an email


# The live preview -------------------------------------------------------------------------
def preview(client, app, **fields):
    data = {
        "channel": "email",
        "title": "Cart {{ event.cart_id }} for {{ contact.first_name }}",
        "preheader": "Your {{ event.items | size }} items",
        "html_body": CART_HTML,
        "text_body": "",
        "kind": "event",
        "trigger_event": "add_to_cart",
        # hidden push fields, posted by the page as they are: not read for an email
        "body": "{% if %}",
        "buttons-id": "b",
        "buttons-title": "{{ x",
    }
    return client.post(f"/admin/campaigns/campaign/preview/{app.pk}/", {**data, **fields})


def test_the_email_preview_renders_every_part_for_a_contact_and_a_sample_event(marketer, app, ann):
    event = Event.objects.get(contact=ann, event_type__name="add_to_cart")
    response = preview(marketer, app, preview_contact="ann", preview_event=str(event.pk))
    assert response.status_code == 200, response.content
    data = response.json()["preview"]
    assert set(data) == {"subject", "preheader", "html", "text", "warnings"}
    assert (data["subject"], data["preheader"]) == ("Cart c9 for Ann", "Your 2 items")
    html = data["html"]
    assert "<li>Linen shirt &lt;XL&gt;: 49.5 EUR</li><li>Wool socks: 12 EUR</li>" in html
    assert ">Your 2 items</div>" in html  # the preheader, hidden at the top
    assert 'href="https://shop.example/cart/c9"' in html  # not tracked in a preview
    assert 'href="#unsubscribe"' in html and "unsubscribe_url" not in html
    text = data["text"]
    assert "Linen shirt <XL>: 49.5 EUR" in text
    assert "Back to your cart (https://shop.example/cart/c9)" in text
    assert data["warnings"] == []


def test_the_email_preview_warns_of_variables_that_render_empty(marketer, app, ann):
    response = preview(
        marketer,
        app,
        text_body="Code {{ event.coupon }} {{ unsubscribe_url }}",
        preview_contact="ann",
    )
    assert response.status_code == 200, response.content
    data = response.json()["preview"]
    assert data["text"] == "Code  #unsubscribe"
    # Without a sample event, the trigger's known params (cart_id, items) are known.
    assert data["warnings"] == ["event.coupon is not known: it will render empty"]


def test_bad_liquid_in_an_emails_part_is_a_400_on_that_part(marketer, app):
    response = preview(marketer, app, html_body="<p>{% for %}</p>", preheader="{{ x")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"html_body", "preheader"}
    assert errors["html_body"][0].startswith("is not a valid Liquid template")
    response = preview(marketer, app, html_body="{{ 1 | divided_by: 0 }}")
    assert response.json()["errors"] == {
        "html_body": ["cannot be rendered for these values: divided_by: can't divide by 0"]
    }


def test_the_api_previews_an_email_campaign(admin_client, app, ann):
    campaign = email_campaign(app)
    response = admin_client.post(
        f"/api/v1/campaigns/{campaign.pk}/preview",
        {"contact_id": ann.pk, "event_params": {"cart_id": "c1", "items": CART[:1]}},
        format="json",
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["subject"], data["preheader"]) == ("Cart c1 for Ann", "Your 1 items")
    assert "<li>Linen shirt &lt;XL&gt;: 49.5 EUR</li>" in data["html"]
    assert "Linen shirt <XL>: 49.5 EUR" in data["text"]
    assert "title" not in data and data["warnings"] == []


# Send test email --------------------------------------------------------------------------
def test_a_test_email_reaches_the_typed_address_untracked(marketer, app, ann, sender, smtp_server):
    campaign = email_campaign(app)
    event = Event.objects.get(contact=ann, event_type__name="add_to_cart")
    url = f"/admin/campaigns/campaign/{campaign.pk}/test-email/"
    data = {"address": " boss@agency.example ", "contact": "ann", "event": str(event.pk)}
    response = marketer.post(url, data, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"/{campaign.pk}/change/#test-email")
    shown = [str(message) for message in response.context["messages"]]
    assert shown == ["Test email sent to boss@agency.example: the mail server accepted it."]

    [message] = smtp_server.wait_for(1)
    assert smtp_server.envelopes == [("news@shop.example", ["boss@agency.example"])]
    assert message["Subject"] == "[Test] Cart c9 for Ann"
    assert (message["From"], message["Reply-To"]) == (
        "Shop <news@shop.example>",
        "help@shop.example",
    )
    assert message["List-Unsubscribe"] is None  # no delivery to unsubscribe from
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "<li>Linen shirt &lt;XL&gt;: 49.5 EUR</li><li>Wool socks: 12 EUR</li>" in html
    assert ">Your 2 items</div>" in html
    assert 'href="https://shop.example/cart/c9"' in html  # as written: no click tracking
    assert "/email/open/" not in html and "/email/click/" not in html
    assert "Linen shirt <XL>: 49.5 EUR" in text
    for part in (html, text):
        assert "A test of the campaign “Abandoned cart”" in part
    # A test is no delivery: nothing counts it.
    assert not campaign.deliveries.exists()


def test_a_test_email_is_refused_before_sending_with_the_reason_by_field(
    marketer, app, ann, smtp_server
):
    campaign = email_campaign(app)
    url = f"/admin/campaigns/campaign/{campaign.pk}/test-email/"
    response = marketer.post(url, {"address": "not an address", "contact": "zed"})
    assert response.status_code == 200
    form = response.context["test_email"]["form"]
    assert form.errors == {"contact": ["No contact “zed” in this app."]}
    response = marketer.post(url, {"address": "not an address"})
    form = response.context["test_email"]["form"]
    assert form.errors == {"address": ["Enter a valid email address."]}
    assert "Test email not sent: see the form below." in response.content.decode()
    # The app has no email settings yet: said above the form.
    response = marketer.post(url, {"address": "boss@agency.example"})
    assert response.context["test_email"]["form"].non_field_errors() == [NO_EMAIL_SETTINGS]
    assert smtp_server.messages == []


def test_the_mail_servers_refusal_is_shown_as_it_answered(marketer, app, sender, smtp_server):
    smtp_server.refuse["gone@agency.example"] = "550 5.1.1 no such user"
    campaign = email_campaign(app)
    url = f"/admin/campaigns/campaign/{campaign.pk}/test-email/"
    response = marketer.post(url, {"address": "gone@agency.example"}, follow=True)
    shown = [str(message) for message in response.context["messages"]]
    assert shown == ["Test email to gone@agency.example not sent: SMTP 550 5.1.1 no such user"]


def test_only_an_email_campaigns_page_has_send_test_email(marketer, role_client, app):
    push = campaign_create(app=app, name="Push", kind="broadcast", title="Hi")
    email = email_campaign(app, kind=Campaign.Kind.BROADCAST, trigger_event="")
    assert (
        'id="test-email"'
        not in marketer.get(f"/admin/campaigns/campaign/{push.pk}/change/").content.decode()
    )
    page = marketer.get(f"/admin/campaigns/campaign/{email.pk}/change/").content.decode()
    assert 'id="test-email"' in page and 'name="address"' in page
    assert 'name="event"' not in page  # a broadcast has no trigger event to render with
    assert marketer.post(f"/admin/campaigns/campaign/{push.pk}/test-email/", {}).status_code == 404
    assert marketer.get(f"/admin/campaigns/campaign/{email.pk}/test-email/").status_code == 405


def test_a_user_who_may_only_view_campaigns_cannot_send_a_test_email(app, sender):
    campaign = email_campaign(app)
    user = get_user_model().objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    app.members.add(user)
    client = Client()
    client.force_login(user)
    page = client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/")
    assert page.status_code == 200 and 'id="test-email"' not in page.content.decode()
    url = f"/admin/campaigns/campaign/{campaign.pk}/test-email/"
    assert client.post(url, {"address": "boss@agency.example"}).status_code == 403


def test_another_apps_campaigns_and_contacts_are_out_of_reach(
    marketer, app, other_app, sender, smtp_server
):
    theirs = email_campaign(other_app)
    url = f"/admin/campaigns/campaign/{theirs.pk}/test-email/"
    assert marketer.post(url, {"address": "boss@agency.example"}).status_code == 404
    zed = subscribe(other_app, "zed")
    mine = email_campaign(app)
    with pytest.raises(ValidationError) as refused:
        campaign_send_test_email(campaign=mine, address="boss@agency.example", contact=zed)
    assert refused.value.message_dict == {"contact_id": ["is not a contact of this app"]}
    response = marketer.post(
        f"/admin/campaigns/campaign/{mine.pk}/test-email/",
        {"address": "boss@agency.example", "contact": f"#{zed.pk}"},
    )
    assert response.context["test_email"]["form"].errors == {
        "contact": [f"No contact “#{zed.pk}” in this app."]
    }
    assert smtp_server.messages == []


def test_the_service_sends_without_a_contact_or_event(app, sender, smtp_server):
    campaign = email_campaign(app, text_body="Hello {{ contact.first_name | default: 'you' }}")
    outcome = campaign_send_test_email(campaign=campaign, address="boss@agency.example")
    assert outcome.kind == "sent"
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "[Test] Cart for you"
    text = message.get_body(("plain",)).get_content()
    assert text.splitlines()[0] == "Hello you"
    with pytest.raises(ValidationError) as refused:
        campaign_send_test_email(campaign=campaign, address="boss@")
    assert refused.value.message_dict == {"address": ["Enter a valid email address."]}
    push = campaign_create(app=app, name="Push", kind="broadcast", title="Hi")
    with pytest.raises(ValidationError) as refused:
        campaign_send_test_email(campaign=push, address="boss@agency.example")
    assert refused.value.message_dict == {"channel": ["a test email is for an email campaign"]}
