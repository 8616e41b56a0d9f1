"""Email as a channel, sent for real: Django's SMTP backend to a local aiosmtpd server, the
messages parsed as a mail client would; the links followed through Django's test client (the
same views a live server runs); what each answer of the mail server means."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from campaigns.models import Campaign, Delivery, EmailSettings
from campaigns.selectors import campaign_stats
from campaigns.services.broadcasts import broadcasts_start_due
from campaigns.services.campaigns import campaign_activate, campaign_create
from campaigns.services.dispatch import deliveries_claim_due
from campaigns.services.html_text import html_to_text
from campaigns.services.policy import email_settings_update, messaging_policy_update
from campaigns.services.previews import campaign_send_test
from campaigns.services.sending import deliveries_send
from campaigns.services.triggers import trigger_marks_process
from contacts.models import Contact
from contacts.services.apps import app_create
from contacts.services.contacts import contact_update
from events import catalog
from events.models import Event
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe, track
from tests.campaigns.smtp_server import LocalSmtpServer

CART = [
    {"name": "Linen shirt <XL>", "price": 49.5, "image": "https://shop.example/i/shirt.jpg"},
    {"name": "Wool socks", "price": 12, "image": "https://shop.example/i/socks.jpg"},
]
CART_HTML = (
    "<html><body><h1>Hi {{ contact.first_name | default: 'there' }}</h1>"
    "<p>You left these in your cart:</p><ul>"
    "{% for item in event.items %}<li><img src='{{ item.image }}' alt='{{ item.name }}'> "
    "{{ item.name }}: {{ item.price }} EUR</li>{% endfor %}</ul>"
    '<p><a href="https://shop.example/cart/{{ event.cart_id }}?utm=email&amp;x=1">Back to your'
    " cart</a></p></body></html>"
)


@pytest.fixture
def sender(app):
    return EmailSettings.objects.create(
        app=app, from_name="Shop", from_email="news@shop.example", reply_to="help@shop.example"
    )


def person(app, user: str, email: str | None, **fields) -> Contact:
    contact = Contact.objects.get(pk=track(app, user, "page_viewed"))
    data = {"email": email, **fields} if email else fields
    return contact_update(contact=contact, data=data) if data else contact


def dispatch(now=None) -> None:
    for claim in deliveries_claim_due(now=now):
        deliveries_send(claim=claim, now=now)


def email_campaign(app, **fields) -> Campaign:
    defaults = {
        "name": "Newsletter",
        "kind": Campaign.Kind.BROADCAST,
        "channel": Campaign.Channel.EMAIL,
        "title": "News for {{ contact.first_name | default: 'you' }}",
        "preheader": "What is new this week",
        "html_body": "<html><body><p>Hello</p>"
        '<p><a href="https://shop.example/new">See what is new</a></p></body></html>',
    }
    return campaign_activate(campaign=campaign_create(app=app, **{**defaults, **fields}))


def links(message) -> list[str]:
    html = message.get_body(("html",)).get_content()
    return [value.replace("&amp;", "&") for value in re.findall(r'href="([^"]+)"', html)]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def events_named(name: str) -> list[Event]:
    return list(Event.objects.filter(event_type__name=name).order_by("pk"))


def test_a_broadcast_email_reaches_only_subscribed_addresses(app, sender, smtp_server):
    ann = person(app, "ann", "ann@example.com", custom_fields={"first_name": "Ann"})
    person(app, "bob", None)  # no address
    cy = person(app, "cy", "cy@example.com")
    Contact.objects.filter(pk=cy.pk).update(email_status=Contact.EmailStatus.UNSUBSCRIBED)
    campaign = email_campaign(app)

    broadcasts_start_due()
    dispatch()

    [message] = smtp_server.wait_for(1)
    assert smtp_server.envelopes == [("news@shop.example", ["ann@example.com"])]
    assert message["Subject"] == "News for Ann"
    assert message["From"] == "Shop <news@shop.example>"
    assert message["Reply-To"] == "help@shop.example"
    assert message["To"] == "ann@example.com"
    delivery = Delivery.objects.get(campaign=campaign, status=Delivery.Status.SENT)
    assert message["Message-ID"].startswith("<")
    assert f"d{delivery.pk}" in message["Message-ID"]
    assert message["Message-ID"].endswith("@shop.example>")
    unsubscribe = f"http://127.0.0.1:8000/email/unsubscribe/{delivery.open_token}"
    # (a header this long is folded after its colon: unfolded, it keeps that space)
    assert message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello" in text and "See what is new (https://shop.example/new)" in text
    assert f"Unsubscribe: {unsubscribe}" in text
    assert "What is new this week" in html  # the preheader, hidden at the top
    assert html.index("What is new this week") < html.index("Hello")
    assert f'href="{unsubscribe}"' in html  # the footer added
    assert f"/email/open/{delivery.open_token}.gif" in html
    assert (delivery.contact_id, delivery.address) == (ann.pk, "ann@example.com")
    [sent] = events_named(catalog.EMAIL_SENT)
    assert sent.contact_id == ann.pk
    assert sent.params == {"campaign_id": campaign.pk, "delivery_id": delivery.pk}
    assert events_named(catalog.NOTIFICATION_SENT) == []
    stats = campaign_stats(campaign=campaign)
    assert (stats["sent"], stats["skipped"]) == (1, 0)  # a broadcast reports its reach


def test_the_abandoned_cart_email_lists_the_events_items_escaped(app, sender, smtp_server):
    person(app, "ann", "ann@example.com")
    campaign = email_campaign(
        app,
        kind=Campaign.Kind.EVENT,
        trigger_event="add_to_cart",
        cancel_event="purchase_completed",
        cancel_match_param="cart_id",
        title="You left {{ event.items | size }} items",
        html_body=CART_HTML,
        track_clicks=False,
    )
    track(app, "ann", "add_to_cart", cart_id="c1", items=CART)
    trigger_marks_process()
    dispatch()

    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "You left 2 items"
    html = message.get_body(("html",)).get_content()
    assert "Linen shirt &lt;XL&gt;: 49.5 EUR" in html  # escaped in the HTML part
    assert "src='https://shop.example/i/socks.jpg'" in html
    text = message.get_body(("plain",)).get_content()
    assert "- [Linen shirt <XL>] Linen shirt <XL>: 49.5 EUR" in text  # and plain in the text
    assert "https://shop.example/cart/c1?utm=email&x=1" in links(message)  # not tracked
    assert Delivery.objects.get(campaign=campaign).status == Delivery.Status.SENT


def test_the_purchase_cancels_the_cart_email_of_its_cart_only(app, sender, smtp_server):
    person(app, "ann", "ann@example.com")
    campaign = email_campaign(
        app,
        kind=Campaign.Kind.EVENT,
        trigger_event="add_to_cart",
        cancel_event="purchase_completed",
        cancel_match_param="cart_id",
        delay_seconds=3600,
        html_body=CART_HTML,
    )
    track(app, "ann", "add_to_cart", cart_id="c1", items=CART)
    track(app, "ann", "add_to_cart", cart_id="c2", items=CART[:1])
    trigger_marks_process()
    track(app, "ann", "purchase_completed", cart_id="c1")
    trigger_marks_process()

    rows = {r.cancel_key: r.status for r in Delivery.objects.filter(campaign=campaign)}
    assert rows == {"c1": Delivery.Status.CANCELLED, "c2": Delivery.Status.SCHEDULED}
    assert smtp_server.messages == []


def test_tracked_links_count_a_click_and_redirect_only_where_the_email_linked(
    app, sender, smtp_server
):
    ann = person(app, "ann", "ann@example.com")
    campaign = email_campaign(app)
    broadcasts_start_due()
    dispatch()
    [message] = smtp_server.wait_for(1)
    [tracked, unsubscribe] = links(message)
    assert "/email/click/" in tracked and "/email/unsubscribe/" in unsubscribe
    client = Client()

    answer = client.get(path_of(tracked))
    assert (answer.status_code, answer["Location"]) == (302, "https://shop.example/new")
    assert client.get(path_of(tracked)).status_code == 302  # again: redirects, records nothing
    forged = path_of(tracked).replace("shop.example/new", "evil.example/")
    assert forged != path_of(tracked)
    assert client.get(forged).status_code == 404  # not an open redirector

    delivery = Delivery.objects.get(campaign=campaign)
    assert delivery.clicked_at is not None and delivery.opened_at is not None
    [click] = events_named(catalog.EMAIL_CLICKED)
    assert (click.contact_id, click.params["url"]) == (ann.pk, "https://shop.example/new")
    assert len(events_named(catalog.EMAIL_OPENED)) == 1  # a click is an open
    stats = campaign_stats(campaign=campaign)
    assert (stats["clicked"], stats["click_rate"], stats["opened"]) == (1, 1.0, 1)


def test_the_open_pixel_records_the_first_open(app, sender, smtp_server):
    person(app, "ann", "ann@example.com")
    campaign = email_campaign(app)
    broadcasts_start_due()
    dispatch()
    delivery = Delivery.objects.get(campaign=campaign)
    client = Client()

    for _ in range(2):
        answer = client.get(f"/email/open/{delivery.open_token}.gif")
        assert (answer.status_code, answer["Content-Type"]) == (200, "image/gif")
        assert answer.content.startswith(b"GIF89a") and "no-store" in answer["Cache-Control"]
    assert client.get("/email/open/not-a-token.gif").status_code == 200  # the same answer

    delivery.refresh_from_db()
    assert delivery.opened_at is not None
    assert len(events_named(catalog.EMAIL_OPENED)) == 1
    assert campaign_stats(campaign=campaign)["open_rate"] == 1.0


def test_one_click_unsubscribe_stops_the_next_emails(app, sender, smtp_server):
    ann = person(app, "ann", "ann@example.com")
    first = email_campaign(app)
    broadcasts_start_due()
    dispatch()
    [message] = smtp_server.wait_for(1)
    url = message["List-Unsubscribe"].strip().strip("<>")

    # What a mailbox provider's button does (RFC 8058): a POST without a CSRF token.
    client = Client(enforce_csrf_checks=True)
    answer = client.post(path_of(url), {"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    ann.refresh_from_db()
    assert (ann.email_status, ann.email_status_via) == ("unsubscribed", "one-click")
    [unsubscribed] = events_named(catalog.EMAIL_UNSUBSCRIBED)
    assert unsubscribed.params["subtype"] == "one-click"
    assert campaign_stats(campaign=first)["unsubscribed"] == 1

    second = email_campaign(app, name="Next week")
    broadcasts_start_due()
    dispatch()
    assert len(smtp_server.messages) == 1
    assert not Delivery.objects.filter(campaign=second).exists()  # not in its reach


def test_the_unsubscribe_page_asks_first_and_can_resubscribe(app, sender, smtp_server):
    ann = person(app, "ann", "ann@example.com")
    email_campaign(app)
    broadcasts_start_due()
    dispatch()
    delivery = Delivery.objects.get()
    page = f"/email/unsubscribe/{delivery.open_token}"
    client = Client()

    shown = client.get(page)  # a link scanner's GET changes nothing
    assert shown.status_code == 200
    assert b"Unsubscribe <strong>ann@example.com</strong>" in shown.content
    ann.refresh_from_db()
    assert ann.email_status == "subscribed"

    done = client.post(page, {"action": "unsubscribe"})
    assert b"You are unsubscribed" in done.content and b"Subscribe again" in done.content
    ann.refresh_from_db()
    assert (ann.email_status, ann.email_status_via) == ("unsubscribed", "link")

    again = client.post(page, {"action": "resubscribe"})
    assert b"You are subscribed again" in again.content
    ann.refresh_from_db()
    assert ann.email_status == "subscribed"
    assert client.get("/email/unsubscribe/unknown-token").status_code == 404


def test_a_refused_address_bounces_and_a_busy_server_is_retried(app, sender, smtp_server):
    ann = person(app, "ann", "ann@example.com")
    bob = person(app, "bob", "bob@example.com")
    smtp_server.refuse["ann@example.com"] = "550 5.1.1 <ann@example.com>: no such user"
    smtp_server.refuse["bob@example.com"] = "451 4.3.0 try again later"
    campaign = email_campaign(app)
    broadcasts_start_due()
    dispatch()

    refused = Delivery.objects.get(campaign=campaign, contact=ann)
    assert refused.status == Delivery.Status.FAILED
    assert refused.last_error.startswith("SMTP 550 5.1.1")
    assert refused.bounced_at is not None
    ann.refresh_from_db()
    assert (ann.email_status, ann.email_status_via) == ("bounced", "bounce")
    [bounced] = events_named(catalog.EMAIL_BOUNCED)
    assert bounced.contact_id == ann.pk and "no such user" in bounced.params["reason"]
    busy = Delivery.objects.get(campaign=campaign, contact=bob)
    assert (busy.status, busy.attempts) == (Delivery.Status.SCHEDULED, 1)
    assert busy.last_error.startswith("SMTP 451")
    assert smtp_server.messages == []
    stats = campaign_stats(campaign=campaign)
    assert (stats["bounced"], stats["bounce_rate"]) == (1, 1.0)

    del smtp_server.refuse["bob@example.com"]
    dispatch(now=busy.due_at)
    assert len(smtp_server.wait_for(1)) == 1
    busy.refresh_from_db()
    assert (busy.status, busy.attempts) == (Delivery.Status.SENT, 2)


def test_one_smtp_session_carries_a_claims_emails(app, sender, smtp_server):
    for n in range(5):
        person(app, f"u{n}", f"u{n}@example.com")
    email_campaign(app)
    broadcasts_start_due()
    dispatch()
    assert len(smtp_server.wait_for(5)) == 5
    assert smtp_server.connections == 1


def test_a_test_send_emails_one_contact_now(app, sender, smtp_server):
    ann = person(app, "ann", "ann@example.com")
    bob = person(app, "bob", None)
    campaign = campaign_create(
        app=app,
        name="Draft",
        kind=Campaign.Kind.EVENT,
        channel=Campaign.Channel.EMAIL,
        trigger_event="add_to_cart",
        title="Cart of {{ event.cart_id }}",
        html_body=CART_HTML,
    )
    with pytest.raises(ValidationError) as refused:
        campaign_send_test(campaign=campaign, contact=bob)
    assert refused.value.message_dict == {
        "contact_id": ["this contact has no subscribed email address"]
    }
    campaign_send_test(
        campaign=campaign, contact=ann, event_params={"cart_id": "c9", "items": CART}
    )
    dispatch()
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Cart of c9"
    assert Delivery.objects.get(is_test=True).status == Delivery.Status.SENT


def test_an_app_without_email_settings_fails_the_row_with_what_to_set(app, smtp_server):
    person(app, "ann", "ann@example.com")
    campaign = email_campaign(app)
    broadcasts_start_due()
    dispatch()
    delivery = Delivery.objects.get(campaign=campaign)
    assert delivery.status == Delivery.Status.FAILED
    assert "set its From address" in delivery.last_error


def test_an_email_campaign_needs_a_body(app, admin_client):
    client = admin_client
    answer = client.post(
        "/api/v1/campaigns",
        {"name": "Welcome", "kind": "broadcast", "channel": "email", "title": "Hi"},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["detail"]["html_body"] == ["is required for an email (or give text_body)"]
    answer = client.post(
        "/api/v1/campaigns",
        {
            "name": "Welcome",
            "kind": "broadcast",
            "channel": "email",
            "title": "Hi",
            "text_body": "Hello {{ contact.email }}",
            "track_clicks": False,
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert (answer.json()["channel"], answer.json()["track_clicks"]) == ("email", False)


def test_html_to_text_keeps_structure_and_links():
    text = html_to_text(
        "<html><head><style>p{color:red}</style></head><body>"
        '<div style="display:none">preheader</div><h1>Title</h1><p>One<br>two</p>'
        '<ul><li>a</li><li>b</li></ul><p><a href="https://x.example/">Go</a> &amp; '
        '<a href="https://x.example/y">https://x.example/y</a></p></body></html>'
    )
    assert (
        text == "Title\n\nOne\ntwo\n\n- a\n- b\n\nGo (https://x.example/) & https://x.example/y\n"
    )


def test_the_email_cap_and_the_cap_across_channels(app, sender, smtp_server, push_service):
    ann = person(app, "ann", "ann@example.com")
    subscribe(app, "ann", subscription=push_service.subscription())
    email_settings_update(app=app, from_email="news@shop.example", daily_cap=2)
    for n in range(3):
        email_campaign(app, name=f"Email {n}")
    broadcasts_start_due()
    dispatch()
    assert len(smtp_server.wait_for(2)) == 2
    [capped] = Delivery.objects.filter(contact=ann, status=Delivery.Status.SKIPPED)
    assert capped.reason == "daily cap of 2 emails reached"

    # Across channels: 2 emails sent today, so a cap of 3 messages leaves room for one push.
    messaging_policy_update(app=app, daily_cap=3)
    for n in range(2):
        active_campaign(app, name=f"Push {n}", kind=Campaign.Kind.BROADCAST, title="Hi")
    broadcasts_start_due()
    dispatch()
    pushes = Delivery.objects.filter(channel=Delivery.Channel.PUSH).order_by("status")
    assert [row.status for row in pushes] == [Delivery.Status.SENT, Delivery.Status.SKIPPED]
    assert pushes[1].reason == "daily cap of 3 messages (push and email) reached"
    assert len(push_service.wait_for(1)) == 1


def test_the_send_rate_paces_emails_across_claims(app, sender, smtp_server):
    email_settings_update(app=app, from_email="news@shop.example", max_per_second=5)
    for n in range(6):
        person(app, f"u{n}", f"u{n}@example.com")
    email_campaign(app)
    broadcasts_start_due()
    started = time.monotonic()
    dispatch()
    elapsed = time.monotonic() - started
    assert len(smtp_server.wait_for(6)) == 6
    assert elapsed >= 1.0  # 6 emails at 5 per second: the last one 1 s after the first
    sender.refresh_from_db()
    assert sender.rate_next_at is not None


def test_emails_without_a_slot_soon_go_back_to_the_queue(app, sender, smtp_server):
    email_settings_update(app=app, from_email="news@shop.example", max_per_second=1)
    person(app, "ann", "ann@example.com")
    email_campaign(app)
    broadcasts_start_due()
    busy_until = timezone.now() + timedelta(minutes=10)  # other workers took the next 10 minutes
    EmailSettings.objects.filter(app=app).update(rate_next_at=busy_until)

    dispatch()
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == (Delivery.Status.SCHEDULED, 0)  # no attempt spent
    assert abs((row.due_at - busy_until).total_seconds()) < 2
    assert smtp_server.messages == []
    dispatch(now=busy_until + timedelta(seconds=1))
    assert len(smtp_server.wait_for(1)) == 1


def test_a_scheduled_newsletter_goes_to_its_segment_at_its_time(app, sender, smtp_server):
    germans = segment_create(
        app=app,
        name="Germans",
        conditions={"type": "contact", "field": "country", "op": "=", "value": "DE"},
    )
    for user, country in (("ann", "DE"), ("bob", "FR")):
        contact = person(app, user, f"{user}@example.com")
        Contact.objects.filter(pk=contact.pk).update(country=country)  # as ingest sets it
    segment_refresh(segment=germans)
    send_at = timezone.now() + timedelta(hours=2)
    campaign = email_campaign(
        app, name="Newsletter DE", audience_segment_id=germans.pk, send_at=send_at
    )

    broadcasts_start_due()  # before its time: nothing
    dispatch()
    assert not Delivery.objects.filter(campaign=campaign).exists()
    broadcasts_start_due(now=send_at)
    dispatch(now=send_at)
    [message] = smtp_server.wait_for(1)
    assert message["To"] == "ann@example.com"
    [tracked, unsubscribe] = links(message)
    client = Client()
    assert client.get(path_of(tracked)).status_code == 302
    assert client.post(path_of(unsubscribe), {"action": "unsubscribe"}).status_code == 200
    stats = campaign_stats(campaign=campaign)
    assert (stats["sent"], stats["opened"], stats["clicked"], stats["unsubscribed"]) == (1, 1, 1, 1)


def test_a_welcome_email_follows_the_sign_up_event(app, sender, smtp_server):
    campaign = email_campaign(
        app,
        name="Welcome",
        kind=Campaign.Kind.EVENT,
        trigger_event="signed_up",
        title="Welcome, {{ event.first_name }}",
        html_body="<p>Hello {{ event.first_name }}, your plan: {{ event.plan }}</p>",
    )
    ann = person(app, "ann", "ann@example.com")
    track(app, "ann", "signed_up", first_name="Ann", plan="pro")
    trigger_marks_process()
    dispatch()
    [message] = smtp_server.wait_for(1)
    assert message["Subject"] == "Welcome, Ann"
    assert "Hello Ann, your plan: pro" in message.get_body(("plain",)).get_content()
    opened = Client().get(f"/email/open/{Delivery.objects.get(campaign=campaign).open_token}.gif")
    assert opened.status_code == 200
    [event] = events_named(catalog.EMAIL_OPENED)
    assert (event.contact_id, event.params["campaign_id"]) == (ann.pk, campaign.pk)


def test_the_api_reads_and_sets_the_email_subscription(app, admin_client):
    ann = person(app, "ann", "ann@example.com")
    url = f"/api/v1/contacts/{ann.pk}"
    shown = admin_client.get(url).json()
    assert (shown["email_status"], shown["email_status_via"]) == ("subscribed", "")

    changed = admin_client.patch(url, {"email_status": "unsubscribed"}, format="json").json()
    assert (changed["email_status"], changed["email_status_via"]) == ("unsubscribed", "api")
    assert changed["email_status_at"] is not None
    refused = admin_client.patch(url, {"email_status": "maybe"}, format="json")
    assert refused.status_code == 400 and "email_status" in refused.json()["detail"]

    Contact.objects.filter(pk=ann.pk).update(email_status="bounced")  # the address was fixed:
    again = admin_client.patch(url, {"email_status": "subscribed"}, format="json").json()
    assert again["email_status"] == "subscribed"  # the app's word subscribes it again


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 302 is the answer under test


def test_an_emails_links_work_through_the_live_server(transactional_db, live_server, settings):
    """The links as a mail client follows them: over HTTP, to the server the email names."""
    settings.BEACON_PUBLIC_URL = live_server.url
    app = app_create(name="Live", tenant_id="live")
    EmailSettings.objects.create(app=app, from_email="news@live.example")
    person(app, "ann", "ann@example.com")
    with LocalSmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        email_campaign(app)
        broadcasts_start_due()
        dispatch()
        [message] = server.wait_for(1)
    html = message.get_body(("html",)).get_content()
    [tracked, unsubscribe] = links(message)
    pixel = re.search(r'<img src="([^"]+\.gif)"', html)[1]
    assert all(url.startswith(live_server.url) for url in (tracked, unsubscribe, pixel))
    opener = urllib.request.build_opener(_NoRedirects)

    with urllib.request.urlopen(pixel) as answer:
        assert answer.headers["Content-Type"] == "image/gif"
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(tracked)
    assert (redirect.value.code, redirect.value.headers["Location"]) == (
        302,
        "https://shop.example/new",
    )
    one_click = urllib.request.Request(
        message["List-Unsubscribe"].strip().strip("<>"),
        data=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(one_click) as answer:
        assert answer.status == 200
    contact = Contact.objects.get(app=app, external_id="ann")
    assert (contact.email_status, contact.email_status_via) == ("unsubscribed", "one-click")
    delivery = Delivery.objects.get(contact=contact)
    assert delivery.opened_at and delivery.clicked_at and delivery.unsubscribed_at


def test_an_email_campaigns_page_shows_its_email_figures(app, sender, smtp_server, staff_client):
    person(app, "ann", "ann@example.com")
    person(app, "bob", "bob@example.com")
    campaign = email_campaign(app)
    broadcasts_start_due()
    dispatch()
    first = Delivery.objects.filter(campaign=campaign).order_by("pk").first()
    Client().get(path_of(links(smtp_server.wait_for(2)[0])[0]))  # one of the two clicks
    page = staff_client.get(f"/admin/campaigns/campaign/{campaign.pk}/change/").content.decode()
    clicked = re.search(r'data-stat="clicked">([^<]*)<small>\(([^)]*)\)', page)
    assert clicked and (clicked[1].strip(), clicked[2]) == ("1", "50.0&nbsp;%")
    assert 'data-stat="bounced"' in page and first is not None
