"""An ESP's reports on Beacon's emails, end to end: a campaign sent through django-anymail's test
backend (which records each message, with the metadata Beacon gives it, and answers a message
id), then the ESP's webhook bodies (Postmark's and Mailgun's, as their docs and anymail's own
tests show them) posted to the mounted webhook URLs with the basic auth of
ANYMAIL_WEBHOOK_SECRET, through Django's test client."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.test import Client

from campaigns.models import Campaign, Delivery, EmailSettings
from campaigns.services.broadcasts import broadcasts_start_due
from campaigns.services.campaigns import campaign_activate, campaign_create
from campaigns.services.dispatch import deliveries_claim_due
from campaigns.services.email_tracking import email_resubscribe
from campaigns.services.sending import deliveries_send
from contacts.models import Contact
from contacts.services.contacts import contact_update
from events import catalog
from events.models import Event
from tests.campaigns.factories import track

SECRET = "beacon:9f2c1e7a"
MAILGUN_KEY = "mailgun-webhook-signing-key"
POSTMARK_URL = "/email/esp/postmark/tracking/"
MAILGUN_URL = "/email/esp/mailgun/tracking/"
EmailStatus = Contact.EmailStatus

# Postmark's webhook bodies (https://postmarkapp.com/developer/webhooks), without the fields
# that name the email (added by `postmark` below).
DELIVERY = {
    "RecordType": "Delivery",
    "DeliveredAt": "2026-12-03T10:15:00.1234567Z",
    "Details": "smtp;250 2.0.0 OK 1733220900 a640c23a62f3a-aa1",
}
HARD_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox "
    "not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "From": "news@shop.example",
    "BouncedAt": "2026-12-03T10:20:00Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "News for you",
}
SOFT_BOUNCE = {
    **HARD_BOUNCE,
    "Type": "SoftBounce",
    "TypeCode": 4096,
    "Name": "Soft bounce/Undeliverable",
    "Description": "Unable to temporarily deliver this email.",
    "Details": "smtp;452 4.2.2 The email account that you tried to reach is over quota.",
    "Inactive": False,
}
TRANSIENT = {
    **SOFT_BOUNCE,
    "Type": "Transient",
    "TypeCode": 2,
    "Name": "Message delayed",
    "Description": "The server could not temporarily deliver your message (ex: Message is "
    "delayed due to network troubles).",
    "Details": "smtp;421 4.7.0 Try again later",
}
SPAM_COMPLAINT = {
    **HARD_BOUNCE,
    "RecordType": "SpamComplaint",
    "Type": "SpamComplaint",
    "TypeCode": 512,
    "Name": "Spam complaint",
    "Description": "The subscriber explicitly marked this email as spam.",
    "Details": "Test spam complaint details",
    "CanActivate": False,
}
OPEN = {
    "RecordType": "Open",
    "FirstOpen": True,
    "Client": {"Name": "Gmail", "Company": "Google", "Family": "Gmail"},
    "OS": {"Name": "unknown", "Company": "unknown", "Family": "unknown"},
    "Platform": "WebMail",
    "UserAgent": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)",
    "ReadSeconds": 0,
    "Geo": {},
    "ReceivedAt": "2026-12-03T11:00:00Z",
}
CLICK = {
    "RecordType": "Click",
    "ClickLocation": "HTML",
    "Client": {"Name": "Chrome 131", "Company": "Google", "Family": "Chrome"},
    "OS": {"Name": "OS X 14", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
    "Platform": "Desktop",
    "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)",
    "OriginalLink": "https://shop.example/new",
    "Geo": {"CountryISOCode": "FR", "Country": "France", "IP": "192.0.2.10"},
    "ReceivedAt": "2026-12-03T11:05:00Z",
}


@pytest.fixture
def esp(settings):
    """Emails go through anymail's test backend (mail.outbox); the webhooks have a secret."""
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    mail.outbox = []


@pytest.fixture
def sender(app):
    return EmailSettings.objects.create(app=app, from_name="Shop", from_email="news@shop.example")


def person(app, user: str, email: str) -> Contact:
    contact = Contact.objects.get(pk=track(app, user, "page_viewed"))
    return contact_update(contact=contact, data={"email": email})


def newsletter(app, *addresses: str) -> Campaign:
    """A broadcast to contacts with these addresses, sent (one email each, in mail.outbox)."""
    for n, address in enumerate(addresses):
        person(app, f"user{n}", address)
    campaign = campaign_create(
        app=app,
        name="Newsletter",
        kind=Campaign.Kind.BROADCAST,
        channel=Campaign.Channel.EMAIL,
        title="News for you",
        html_body='<p>Hello</p><p><a href="https://shop.example/new">New</a></p>',
    )
    campaign_activate(campaign=campaign)
    broadcasts_start_due()
    for claim in deliveries_claim_due():
        deliveries_send(claim=claim)
    assert len(mail.outbox) == len(addresses)
    return campaign


def sent_to(address: str):
    """The message sent to `address` and its delivery."""
    [message] = [m for m in mail.outbox if m.to == [address]]
    return message, Delivery.objects.get(address=address)


def postmark(report: dict, message, delivery: Delivery, *, metadata: bool = True) -> dict:
    """Postmark's webhook body for `report` on `message`: Postmark names the email by the id
    its API answered (recorded on the delivery) and echoes the message's metadata."""
    address_field = "Email" if report["RecordType"] in ("Bounce", "SpamComplaint") else "Recipient"
    return {
        **report,
        "MessageStream": "outbound",
        "ServerID": 23,
        "MessageID": delivery.message_id,
        "Tag": "",
        "Metadata": message.anymail_test_params["metadata"] if metadata else {},
        address_field: message.to[0],
    }


def mailgun(event_data: dict, message, *, key: str = MAILGUN_KEY) -> dict:
    """Mailgun's webhook body (https://documentation.mailgun.com/docs/mailgun/user-manual/
    events/webhooks/) for `event_data` on `message`, signed with the webhook signing key."""
    timestamp, token = "1796292000", "651869375b9df3c98fc15c4889b102119add1235c38fc92824"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    headers = {
        "to": message.to[0],
        "message-id": message.extra_headers["Message-ID"].strip("<>"),
        "from": message.from_email,
        "subject": message.subject,
    }
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {
            "id": "hTWCTD81RtiDN-2q3cqXyQ",
            "timestamp": 1796292000.153125,
            "log-level": "info",
            "recipient": message.to[0],
            "recipient-domain": message.to[0].rpartition("@")[2],
            "tags": [],
            "campaigns": [],
            "user-variables": message.anymail_test_params["metadata"],
            "message": {"headers": headers, "attachments": [], "size": 2211},
            **event_data,
        },
    }


def post(url: str, body, *, secret: str | None = SECRET):
    auth = {}
    if secret is not None:
        auth["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(secret.encode()).decode()
    return Client().post(url, json.dumps(body), content_type="application/json", **auth)


def events_named(name: str) -> list[Event]:
    return list(Event.objects.filter(event_type__name=name).order_by("pk"))


def test_postmark_reports_the_delivery_then_a_hard_bounce_once(app, sender, esp, admin_client):
    campaign = newsletter(app, "ann@example.com")
    message, delivery = sent_to("ann@example.com")
    assert message.anymail_test_params["metadata"] == {
        "delivery_id": str(delivery.pk),
        "campaign_id": str(campaign.pk),
    }
    assert delivery.message_id == "0"  # the id the ESP answered (the test backend counts)

    assert post(POSTMARK_URL, postmark(DELIVERY, message, delivery)).status_code == 200
    for _ in range(2):  # Postmark posts a report again when it is not sure we got it
        assert post(POSTMARK_URL, postmark(HARD_BOUNCE, message, delivery)).status_code == 200

    delivery.refresh_from_db()
    assert delivery.delivered_at == datetime(2026, 12, 3, 10, 15, 0, 123456, tzinfo=UTC)
    assert delivery.bounced_at == datetime(2026, 12, 3, 10, 20, tzinfo=UTC)
    assert delivery.status == Delivery.Status.SENT  # it was sent; the address bounced later
    contact = delivery.contact
    contact.refresh_from_db()
    assert (contact.email_status, contact.email_status_via) == (EmailStatus.BOUNCED, "bounce")
    [bounced] = events_named(catalog.EMAIL_BOUNCED)
    assert bounced.contact_id == contact.pk
    assert bounced.params == {
        "campaign_id": campaign.pk,
        "delivery_id": delivery.pk,
        "reason": "Postmark bounced (bounced): smtp;550 5.1.1 The email account that you "
        "tried to reach does not exist.",
    }
    stats = admin_client.get(f"/api/v1/campaigns/{campaign.pk}/stats").json()
    assert (stats["sent"], stats["delivered"], stats["delivery_rate"]) == (1, 1, 1.0)
    assert (stats["bounced"], stats["bounce_rate"]) == (1, 1.0)  # of the one sent


def test_a_spam_complaint_unsubscribes_the_contact_for_good(app, sender, esp):
    campaign = newsletter(app, "ann@example.com")
    message, delivery = sent_to("ann@example.com")

    for _ in range(2):
        assert post(POSTMARK_URL, postmark(SPAM_COMPLAINT, message, delivery)).status_code == 200

    delivery.refresh_from_db()
    assert delivery.unsubscribed_at == datetime(2026, 12, 3, 10, 20, tzinfo=UTC)
    contact = Contact.objects.get(pk=delivery.contact_id)
    assert (contact.email_status, contact.email_status_via) == (
        EmailStatus.COMPLAINED,
        "complaint",
    )
    [unsubscribed] = events_named(catalog.EMAIL_UNSUBSCRIBED)
    assert unsubscribed.params == {
        "campaign_id": campaign.pk,
        "delivery_id": delivery.pk,
        "subtype": "complaint",
    }
    assert email_resubscribe(delivery=delivery) is False  # the email's link cannot undo it
    assert Contact.objects.get(pk=contact.pk).email_status == EmailStatus.COMPLAINED


def test_soft_bounces_and_delays_only_log(app, sender, esp, caplog):
    newsletter(app, "ann@example.com")
    message, delivery = sent_to("ann@example.com")
    caplog.set_level(logging.INFO, logger="campaigns.services.email_tracking")

    for report in (SOFT_BOUNCE, TRANSIENT):
        assert post(POSTMARK_URL, postmark(report, message, delivery)).status_code == 200

    delivery.refresh_from_db()
    assert delivery.bounced_at is None
    assert Contact.objects.get(pk=delivery.contact_id).email_status == EmailStatus.SUBSCRIBED
    assert events_named(catalog.EMAIL_BOUNCED) == []
    assert f"delivery {delivery.pk}: Postmark bounced (bounced): smtp;452 4.2.2" in caplog.text
    assert f"delivery {delivery.pk}: Postmark deferred: smtp;421 4.7.0" in caplog.text


@pytest.mark.parametrize(
    ("postmark_type", "bounces"),
    [
        ("BadEmailAddress", True),  # the address is invalid: anymail's "rejected", "invalid"
        ("DMARCPolicy", False),  # the sender's domain was refused: no fault of the contact's
    ],
)
def test_a_refusal_bounces_the_address_only_when_it_is_the_addresss_fault(
    app, sender, esp, postmark_type, bounces
):
    newsletter(app, "ann@example.com")
    message, delivery = sent_to("ann@example.com")
    refusal = {**HARD_BOUNCE, "Type": postmark_type, "Description": "refused"}

    assert post(POSTMARK_URL, postmark(refusal, message, delivery)).status_code == 200

    status = Contact.objects.get(pk=delivery.contact_id).email_status
    assert status == (EmailStatus.BOUNCED if bounces else EmailStatus.SUBSCRIBED)
    assert len(events_named(catalog.EMAIL_BOUNCED)) == (1 if bounces else 0)


def test_the_esps_opens_and_clicks_count_found_by_its_message_id(app, sender, esp):
    campaign = newsletter(app, "ann@example.com", "bob@example.com")
    message, delivery = sent_to("bob@example.com")
    assert delivery.message_id == str(mail.outbox.index(message))  # the test backend's ids

    for report in (OPEN, CLICK, CLICK):  # no metadata: the ESP's message id finds the email
        body = postmark(report, message, delivery, metadata=False)
        assert post(POSTMARK_URL, body).status_code == 200

    delivery.refresh_from_db()
    assert delivery.opened_at == datetime(2026, 12, 3, 11, 0, tzinfo=UTC)
    assert delivery.clicked_at == datetime(2026, 12, 3, 11, 5, tzinfo=UTC)
    [opened] = events_named(catalog.EMAIL_OPENED)
    [clicked] = events_named(catalog.EMAIL_CLICKED)
    assert opened.contact_id == clicked.contact_id == delivery.contact_id
    assert clicked.params["url"] == "https://shop.example/new"
    other = Delivery.objects.get(campaign=campaign, address="ann@example.com")
    assert (other.opened_at, other.clicked_at) == (None, None)


def test_mailgun_signed_reports_unsubscribe_bounce_or_only_log(app, sender, esp, caplog):
    newsletter(app, "ann@example.com", "bob@example.com", "cy@example.com")
    caplog.set_level(logging.INFO, logger="campaigns.services.email_tracking")
    ann_message, ann = sent_to("ann@example.com")
    bob_message, bob = sent_to("bob@example.com")
    cy_message, cy = sent_to("cy@example.com")
    unsubscribed = {"event": "unsubscribed", "ip": "192.0.2.10", "client-info": {}}
    failed_for_now = {
        "event": "failed",
        "severity": "temporary",
        "reason": "generic",
        "delivery-status": {"code": 452, "message": "4.2.2 Mailbox full", "retry-seconds": 600},
    }
    failed = {
        "event": "failed",
        "severity": "permanent",
        "reason": "bounce",
        "log-level": "error",
        "delivery-status": {
            "code": 550,
            "message": "5.1.1 The email account that you tried to reach does not exist.",
            "description": "",
        },
    }
    sandbox = {
        "event": "rejected",
        "log-level": "warn",
        "reject": {"reason": "Sandbox subdomains are for test purposes only.", "description": ""},
    }

    for _ in range(2):
        assert post(MAILGUN_URL, mailgun(unsubscribed, ann_message)).status_code == 200
    for event_data in (failed_for_now, failed):
        assert post(MAILGUN_URL, mailgun(event_data, bob_message)).status_code == 200
    assert post(MAILGUN_URL, mailgun(sandbox, cy_message)).status_code == 200
    forged = mailgun(failed, cy_message, key="not the signing key")
    assert post(MAILGUN_URL, forged).status_code == 400  # anymail checks Mailgun's signature

    statuses = dict(
        Contact.objects.filter(email__endswith="@example.com").values_list("email", "email_status")
    )
    assert statuses == {
        "ann@example.com": EmailStatus.UNSUBSCRIBED,
        "bob@example.com": EmailStatus.BOUNCED,
        "cy@example.com": EmailStatus.SUBSCRIBED,  # the sender's problem, logged for the operator
    }
    assert Contact.objects.get(pk=ann.contact_id).email_status_via == "esp"
    [unsubscribe] = events_named(catalog.EMAIL_UNSUBSCRIBED)
    assert (unsubscribe.contact_id, unsubscribe.params["subtype"]) == (ann.contact_id, "esp")
    [bounced] = events_named(catalog.EMAIL_BOUNCED)
    assert bounced.contact_id == bob.contact_id
    assert bounced.params["reason"].startswith("Mailgun bounced (bounced): 5.1.1 The email")
    assert f"delivery {bob.pk}: Mailgun deferred (other): 4.2.2 Mailbox full" in caplog.text
    assert f"delivery {cy.pk}: Mailgun rejected (other): Sandbox subdomains" in caplog.text
    assert Delivery.objects.get(pk=cy.pk).bounced_at is None


def test_a_webhook_without_the_secret_is_refused(app, sender, esp, settings):
    newsletter(app, "ann@example.com")
    message, delivery = sent_to("ann@example.com")
    bounce = postmark(HARD_BOUNCE, message, delivery)

    # anymail refuses a post without the right basic auth (400, as for any forged request)
    assert post(POSTMARK_URL, bounce, secret=None).status_code == 400
    assert post(POSTMARK_URL, bounce, secret="beacon:guess").status_code == 400
    # and Beacon refuses every post while no secret is set (anymail would only warn)
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY}
    refused = post(POSTMARK_URL, bounce)
    assert refused.status_code == 403
    assert b"ANYMAIL_WEBHOOK_SECRET" in refused.content
    assert post(MAILGUN_URL, mailgun({"event": "complained"}, message)).status_code == 403

    delivery.refresh_from_db()
    assert delivery.bounced_at is None
    assert Contact.objects.get(pk=delivery.contact_id).email_status == EmailStatus.SUBSCRIBED
    assert events_named(catalog.EMAIL_BOUNCED) == []


def test_a_report_on_no_email_of_beacons_changes_nothing(app, sender, esp):
    newsletter(app, "ann@example.com")
    message, delivery = sent_to("ann@example.com")
    unknown = {
        **postmark(HARD_BOUNCE, message, delivery),
        "MessageID": "b7bc2f4a-e38e-4336-af7d-e6c392c2f817",
        "Metadata": {"delivery_id": str(delivery.pk + 1000)},
    }
    no_metadata = {**unknown, "Metadata": {}}
    # another application's email on the same Postmark server, whose ids happen to be ours
    someone_else = {**postmark(HARD_BOUNCE, message, delivery), "Email": "zoe@elsewhere.example"}

    for body in (unknown, no_metadata, someone_else):
        assert post(POSTMARK_URL, body).status_code == 200

    delivery.refresh_from_db()
    assert delivery.bounced_at is None
    assert Contact.objects.get(pk=delivery.contact_id).email_status == EmailStatus.SUBSCRIBED
    assert (
        Event.objects.filter(event_type__name__startswith="@EMAIL_")
        .exclude(event_type__name=catalog.EMAIL_SENT)
        .count()
        == 0
    )
