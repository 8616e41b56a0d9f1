"""Building blocks for the campaign tests: subscribed contacts through the real ingest, and
campaigns through the real services."""

from __future__ import annotations

from datetime import datetime

from campaigns.models import Campaign
from campaigns.services.campaigns import campaign_activate, campaign_create
from contacts.models import Contact
from events.services.ingest import events_ingest

KEYS = {
    "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1Xbjh"
    "azAkj7I99e8QcYP7DkM",
    "auth": "tBHItJI5svbpez7KI4CCXg",
}


def subscribe(
    app, user: str, *, endpoint: str | None = None, granted: bool = True, subscription=None
) -> Contact:
    """A contact with one web push device (as the browser SDK registers it)."""
    subscription = subscription or {
        "endpoint": endpoint or f"https://push.example/{user}",
        "keys": KEYS,
    }
    result = events_ingest(
        app=app,
        payloads=[
            {
                "event_name": "page_viewed",
                "app_user_id": user,
                "device_token": subscription,
                "platform": "web",
                "push_permission_granted": granted,
            }
        ],
    )[0]
    assert not result.errors, result.errors
    return Contact.objects.get(pk=result.contact_id)


def track(app, user: str, name: str, *, at: datetime | None = None, **params) -> int:
    """Ingest one event; return its contact id."""
    payload = {"event_name": name, "app_user_id": user, "params": params}
    if at is not None:
        payload["event_time"] = at.isoformat()
    result = events_ingest(app=app, payloads=[payload])[0]
    assert not result.errors, result.errors
    return result.contact_id


def active_campaign(app, **fields) -> Campaign:
    defaults = {"name": "After purchase", "kind": Campaign.Kind.EVENT, "title": "Thanks!"}
    if fields.get("kind", Campaign.Kind.EVENT) == Campaign.Kind.EVENT:
        defaults["trigger_event"] = "purchase_completed"
    campaign = campaign_create(app=app, **{**defaults, **fields})
    return campaign_activate(campaign=campaign)
