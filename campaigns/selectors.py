"""Reads on campaigns and deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour

from campaigns.models import (
    ApnsCredentials,
    Campaign,
    Delivery,
    FcmCredentials,
    OneSignalCredentials,
    PushCredentials,
    PushPolicy,
)
from contacts.models import App, Contact
from events.formats import kind
from events.models import Event, EventAttribute, EventType


def campaign_list(*, app: App) -> QuerySet[Campaign]:
    return Campaign.objects.filter(app=app).order_by("-created_at", "-pk")


def campaign_get(*, app: App, campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(app=app, pk=campaign_id).select_related("app").first()


def campaign_deliveries(*, campaign: Campaign) -> QuerySet[Delivery]:
    return campaign.deliveries.order_by("-created_at", "-pk")


# What happened after sending, each counted once per delivery (its first time), with its rate.
AFTER_SEND = {  # count: (when, its rate's name)
    "delivered": ("delivered_at", "delivery_rate"),  # as an ESP reported it (emails)
    "opened": ("opened_at", "open_rate"),
    "clicked": ("clicked_at", "click_rate"),
    "unsubscribed": ("unsubscribed_at", "unsubscribe_rate"),
    "bounced": ("bounced_at", "bounce_rate"),
}


def campaign_stats(*, campaign: Campaign) -> dict:
    """Deliveries per status, then deliveries (an ESP's reports), opens, clicks, unsubscribes
    and bounces (all but opens are emails') with their rates of the sent ones, in one query. A
    bounce found at send time leaves its row failed, one an ESP reports later its row sent: the
    bounce rate is of the sent and the refused at send time."""
    counts = campaign.deliveries.filter(is_test=False).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in Delivery.Status.values},
        **{
            name: Count("pk", filter=Q(**{f"{at}__isnull": False}))
            for name, (at, _) in AFTER_SEND.items()
        },
        refused=Count("pk", filter=Q(bounced_at__isnull=False) & ~Q(status=Delivery.Status.SENT)),
    )
    refused = counts.pop("refused")
    for name, (_, rate) in AFTER_SEND.items():
        base = counts["sent"] + (refused if name == "bounced" else 0)
        counts[rate] = round(counts[name] / base, 4) if base else 0.0
    return counts


def campaigns_recent(*, apps: QuerySet[App], limit: int = 5) -> list[tuple[Campaign, dict]]:
    """The newest campaigns, each with its campaign_stats (one query per campaign, on the
    (campaign, status) index)."""
    campaigns = Campaign.objects.filter(app__in=apps).select_related("app")
    recent = campaigns.order_by("-created_at", "-pk")[:limit]
    return [(campaign, campaign_stats(campaign=campaign)) for campaign in recent]


@dataclass(frozen=True)
class FrequencyCaps:
    push: int | None  # pushes per contact per day (PushPolicy)
    email: int | None  # emails (EmailSettings)
    any: int | None  # messages of both channels together (MessagingPolicy)


def frequency_caps(*, app: App) -> FrequencyCaps:
    """The app's daily caps per contact, as the send-time rules apply them."""
    return frequency_caps_by_app(app_ids=[app.pk])[app.pk]


def frequency_caps_by_app(*, app_ids) -> dict[int, FrequencyCaps]:
    """Each app's caps, in one query (the send-time rules read them once per claim)."""
    rows = App.objects.filter(pk__in=list(app_ids)).values_list(
        "pk", "push_policy__daily_cap", "email_settings__daily_cap", "messaging_policy__daily_cap"
    )
    return {pk: FrequencyCaps(push=p, email=e, any=a) for pk, p, e, a in rows}


def push_policy_get(*, app: App) -> PushPolicy:
    return PushPolicy.objects.filter(app=app).first() or PushPolicy(app=app)


# The mobile push services' credentials by service name (as PushPolicy.IosProvider names them).
PUSH_CREDENTIALS = {
    "fcm": FcmCredentials,
    "apns": ApnsCredentials,
    "onesignal": OneSignalCredentials,
}


def push_credentials_get(*, app: App, service: str) -> PushCredentials | None:
    return PUSH_CREDENTIALS[service].objects.filter(app=app).first()


def push_credentials_by_service(*, app: App) -> dict[str, PushCredentials | None]:
    """The app's credentials for each mobile push service, None where it has none."""
    return {service: push_credentials_get(app=app, service=service) for service in PUSH_CREDENTIALS}


# The campaign page and editor ---------------------------------------------------------------
ACTIVITY_BUCKETS = {
    "hour": (TruncHour, timedelta(hours=1), 48),
    "day": (TruncDay, timedelta(days=1), 30),
}


def campaign_activity(*, campaign: Campaign, now: datetime, bucket: str = "hour") -> dict:
    """Sends and opens per hour (the last 48) or per day (the last 30), UTC, for a chart:
    {"bucket", "slots": [datetime], "sent": [int], "opened": [int]}. Two GROUP BYs on the
    campaign's deliveries (test sends excluded, as in campaign_stats)."""
    trunc, step, size = ACTIVITY_BUCKETS[bucket]
    last = now.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        last = last.replace(hour=0)
    slots = [last - step * n for n in reversed(range(size))]
    index = {slot: n for n, slot in enumerate(slots)}
    deliveries = campaign.deliveries.filter(is_test=False).order_by()
    series = {}
    for name, moment in (("sent", "sent_at"), ("opened", "opened_at")):
        counts = [0] * size
        rows = (
            deliveries.filter(**{f"{moment}__gte": slots[0], f"{moment}__lte": now})
            .annotate(slot=trunc(moment, tzinfo=UTC))
            .values("slot")
            .annotate(n=Count("pk"))
        )
        for row in rows:
            if row["slot"] in index:
                counts[index[row["slot"]]] += row["n"]
        series[name] = counts
    return {"bucket": bucket, "slots": slots, **series}


def campaign_skipped_reasons(*, campaign: Campaign) -> list[tuple[str, int]]:
    """Skipped deliveries per reason, the most frequent first."""
    rows = (
        campaign.deliveries.filter(is_test=False, status=Delivery.Status.SKIPPED)
        .order_by()
        .values("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    )
    return [(row["reason"] or "no reason given", row["n"]) for row in rows]


def campaign_delivery_log(*, campaign: Campaign) -> QuerySet[Delivery]:
    """The delivery log of the campaign page: newest first, with the contact for its label."""
    return campaign_deliveries(campaign=campaign).select_related("contact")


def campaign_event_types(*, app: App) -> QuerySet[EventType]:
    """The event types a campaign may start or cancel on, with their attributes."""
    return EventType.objects.filter(app=app).prefetch_related("attributes").order_by("name")


def campaign_attribute_types(*, app: App, event_name: str) -> dict[str, str]:
    """{param: type} of an event's known attributes (declared or discovered), named as segments
    name them: "string", or "string[]" for an array of strings."""
    attributes = EventAttribute.objects.filter(event_type__app=app, event_type__name=event_name)
    return {
        name: kind(type_, is_array)
        for name, type_, is_array in attributes.values_list("name", "type", "is_array")
    }


def campaign_preview_contact(*, app: App, query: str) -> Contact | None:
    """The app's contact a marketer names in the preview: "#12" or "12" (the id), an external id
    or an email."""
    query = query.strip()
    if not query:
        return None
    contacts = Contact.objects.filter(app=app)
    if query.removeprefix("#").isdigit():
        found = contacts.filter(pk=int(query.removeprefix("#"))).first()
        if found is not None:
            return found
    return (
        contacts.filter(external_id=query).first() or contacts.filter(email__iexact=query).first()
    )


def campaign_sample_events(
    *, app: App, event_name: str, contact: Contact | None = None, limit: int = 10
) -> list[Event]:
    """The latest events of the trigger type, to preview the message with: the contact's own
    when one is chosen and has some, else anyone's. By event type first: the (event_type,
    occurred_at) index."""
    event_type = EventType.objects.filter(app=app, name=event_name).first()
    if event_type is None:
        return []
    events = Event.objects.filter(event_type=event_type).select_related("contact")
    latest = events.order_by("-occurred_at", "-id")
    own = list(latest.filter(contact=contact)[:limit]) if contact is not None else []
    return own or list(latest[:limit])


def campaign_sample_event(*, app: App, event_id: int) -> Event | None:
    return Event.objects.filter(app=app, pk=event_id).first()
