"""Campaigns (what to send, to whom, when, on which channel), Deliveries (one push to one device,
or one email to one contact: the database row is the timer, the lock and the log), each app's
email settings, the VAPID key pair web pushes are signed with, and each app's
credentials for the mobile push services (FCM, APNs, OneSignal)."""

from __future__ import annotations

from django.db import models

from contacts.models import App, Contact, Device
from events.models import EventType
from segments.models import Segment


class Channel(models.TextChoices):
    PUSH = "push", "Push notification"
    EMAIL = "email", "Email"


class Campaign(models.Model):
    Channel = Channel

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        ARCHIVED = "archived", "Archived"

    class Kind(models.TextChoices):
        BROADCAST = "broadcast", "Broadcast"
        EVENT = "event", "Event-triggered"
        SEGMENT_ENTRY = "segment_entry", "Segment entry"

    class Urgency(models.TextChoices):
        VERY_LOW = "very-low", "Very low"
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"

    class Reentry(models.TextChoices):
        ALWAYS = "always", "Every time"
        ONCE = "once", "At most once per contact"
        HOURS = "hours", "At most once per N hours"

    class QuietAction(models.TextChoices):
        DELAY = "delay", "Deliver at the end of the quiet hours"
        DROP = "drop", "Drop"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    kind = models.CharField(max_length=15, choices=Kind.choices)
    channel = models.CharField(
        max_length=5, choices=Channel.choices, default=Channel.PUSH, db_default=Channel.PUSH
    )

    # The message; its texts are Liquid templates ({{ event.amount }}, {{ contact.x }}). `title`
    # is a push's title or an email's subject.
    title = models.CharField(max_length=500)
    body = models.TextField(blank=True, default="")
    url = models.CharField(max_length=2000, blank=True, default="")
    icon = models.CharField(max_length=2000, blank=True, default="")
    image = models.CharField(max_length=2000, blank=True, default="")
    # Up to two action buttons: [{"id", "title", "action": "open_url" | "track_event", "url",
    # "event"}] (campaigns/buttons.py checks them)
    buttons = models.JSONField(default=list, blank=True)
    ttl_seconds = models.PositiveIntegerField(default=86_400)
    urgency = models.CharField(max_length=8, choices=Urgency.choices, default=Urgency.NORMAL)
    # An email's parts (campaigns/services/email_messages.py): the preheader (the line inboxes
    # show after the subject), the HTML body and its plain-text alternative (empty: made from
    # the HTML); opens (a pixel) and clicks (links through Beacon) are tracked unless turned off.
    preheader = models.CharField(max_length=255, blank=True, default="", db_default="")
    html_body = models.TextField(blank=True, default="", db_default="")
    text_body = models.TextField(blank=True, default="", db_default="")
    track_opens = models.BooleanField(default=True, db_default=True)
    track_clicks = models.BooleanField(default=True, db_default=True)

    audience_segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audience_of",
        help_text="Empty: every contact",
    )

    # Broadcast: at send_at (empty: when activated), to the audience's members at that time.
    send_at = models.DateTimeField(null=True, blank=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Event-triggered.
    trigger_event = models.CharField(max_length=255, blank=True, default="")
    trigger_where = models.JSONField(default=list, blank=True)
    delay_seconds = models.PositiveIntegerField(default=0)
    cancel_event = models.CharField(max_length=255, blank=True, default="")
    cancel_match_param = models.CharField(
        max_length=255,
        blank=True,
        default="",
        help_text="Cancel only when this param of the cancel event equals the trigger's",
    )
    recheck_audience = models.BooleanField(
        default=False, help_text="Send only if still in the audience segment at send time"
    )

    # Segment entry.
    entry_segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="entry_of"
    )
    entry_cursor = models.BigIntegerField(
        default=0, editable=False, help_text="Last SegmentChange id matched"
    )

    reentry = models.CharField(max_length=6, choices=Reentry.choices, default=Reentry.ALWAYS)
    reentry_hours = models.PositiveIntegerField(null=True, blank=True)
    quiet_start = models.TimeField(null=True, blank=True, help_text="In the contact's timezone")
    quiet_end = models.TimeField(null=True, blank=True)
    quiet_action = models.CharField(
        max_length=5, choices=QuietAction.choices, default=QuietAction.DELAY
    )

    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["app", "status", "kind"], name="campaign_app_status")]

    def __str__(self) -> str:
        return self.name


class PushPolicy(models.Model):
    """App-wide sending rules, across campaigns."""

    class IosProvider(models.TextChoices):
        FCM = "fcm", "Firebase Cloud Messaging"
        APNS = "apns", "APNs directly"
        ONESIGNAL = "onesignal", "OneSignal"

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="push_policy")
    daily_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many pushes per contact per day (empty: no cap)",
    )
    ios_provider = models.CharField(
        "iOS provider",
        max_length=10,
        choices=IosProvider.choices,
        default=IosProvider.FCM,
        help_text="Sends to iOS devices that were registered without a push_provider",
    )

    class Meta:
        verbose_name_plural = "push policies"

    def __str__(self) -> str:
        return f"push policy of {self.app}"


class MessagingPolicy(models.Model):
    """An app's rule across channels: at most `daily_cap` messages (pushes and emails together)
    per contact per day. Each channel also has its own cap (PushPolicy, EmailSettings)."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="messaging_policy")
    daily_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many messages, pushes and emails together, per contact per day "
        "(empty: no cap)",
    )

    class Meta:
        verbose_name_plural = "messaging policies"

    def __str__(self) -> str:
        return f"messaging policy of {self.app}"


class EmailSettings(models.Model):
    """How an app's emails go out: who they are from, where replies go, and the app-wide rules
    across email campaigns (a daily cap per contact, a send rate)."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="email_settings")
    from_name = models.CharField(max_length=200, blank=True, default="")
    from_email = models.EmailField(help_text="The address emails are sent from")
    reply_to = models.EmailField(blank=True, default="", help_text="Empty: replies go to From")
    daily_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many emails per contact per day (empty: no cap)",
    )
    max_per_second = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many emails per second for the app, all workers together "
        "(empty: as fast as the mail server takes them)",
    )
    # The send rate's timeline: when the next email may go (campaigns/services/email_rate.py)
    rate_next_at = models.DateTimeField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "email settings"
        verbose_name_plural = "email settings"

    def __str__(self) -> str:
        return f"email settings of {self.app}"


class Delivery(models.Model):
    Channel = Channel

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="+")
    # No single-column indexes where a composite one starts with the column: each row is written
    # three times on its way to sent (claim, take-over, outcome), each time in every index.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    # A push goes to a device; an email to the contact's address (no device).
    channel = models.CharField(
        max_length=5, choices=Channel.choices, default=Channel.PUSH, db_default=Channel.PUSH
    )
    device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    # What caused it: "event:<id>", "broadcast:<campaign id>", "entry:<change id>", "test:<uuid>".
    # Unique with campaign and device (a push) or contact (an email): a replayed trigger
    # schedules nothing twice.
    source = models.CharField(max_length=80)
    is_test = models.BooleanField(
        default=False, help_text="A test send: now, whatever the campaign's status and rules"
    )
    trigger_event_id = models.BigIntegerField(null=True, blank=True)
    event_params = models.JSONField(default=dict, blank=True, help_text="The trigger's params")
    cancel_key = models.CharField(max_length=255, null=True, blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    reason = models.CharField(max_length=200, blank=True, default="", help_text="Why skipped")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    claim = models.UUIDField(null=True, blank=True, help_text="Who holds the row while sending")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    open_token = models.CharField(max_length=43)  # unique: a constraint (no LIKE index)
    opened_at = models.DateTimeField(null=True, blank=True)
    # An email's: the address it went to, its first click, and whether it led to an
    # unsubscribe or bounced (campaigns/services/email_tracking.py).
    address = models.CharField(max_length=254, blank=True, default="", db_default="")
    clicked_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True, help_text="As an ESP reported it")
    # The ESP's id of the message (anymail's message_id), which its webhooks name
    message_id = models.CharField(max_length=255, blank=True, default="", db_default="")
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "source", "device"], name="delivery_unique_per_device"
            ),
            models.UniqueConstraint(
                fields=["campaign", "source", "contact"],
                condition=models.Q(channel="email"),
                name="delivery_unique_email",
            ),
            models.UniqueConstraint(fields=["open_token"], name="delivery_open_token"),
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="scheduled"),
                name="delivery_due",
            ),
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="delivery_lease",
            ),
            models.Index(fields=["campaign", "status"], name="delivery_campaign_status"),
            # also serves the contact's deliveries by status (re-entry, cancel): a few per contact
            models.Index(fields=["contact", "sent_at"], name="delivery_contact_sent"),
            # an ESP's webhook finds its email (only emails sent through an ESP have one)
            models.Index(
                fields=["message_id"],
                condition=~models.Q(message_id=""),
                name="delivery_message_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} -> {self.contact_id} ({self.status})"


class VapidKeyPair(models.Model):
    """The VAPID key pair every web push is signed with and browsers subscribe with, shared by all
    hosts (campaigns/vapid.py). One active row; a rotation retires it and forgets its private key,
    keeping the row as a record of when the browsers subscribed before had to subscribe again."""

    # URL-safe base64 (no padding) of the uncompressed P-256 point: the `applicationServerKey`
    public_key = models.CharField(max_length=100)
    # URL-safe base64 (no padding) of the raw 32-byte private value; blank once retired
    private_key = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "VAPID key pair"
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two processes creating the first pair at once keep one: the other's insert fails.
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="vapid_key_pair_one_active",
            ),
        ]

    def __str__(self) -> str:
        return f"VAPID key pair of {self.created_at:%Y-%m-%d %H:%M}"


class TriggeringEventType(models.Model):
    """An event type that an active campaign starts or cancels on: the statement that leaves
    trigger marks joins this table, in the events' transaction, so ingest marks exactly these.
    Kept by campaign_activate/pause in their transaction (services/campaigns.py)."""

    event_type = models.OneToOneField(
        EventType, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    def __str__(self) -> str:
        return str(self.event_type_id)


class TriggerMark(models.Model):
    """An event that campaigns have not matched yet: written in the events' own transaction (the
    hook campaigns subscribes to events/hooks.py with) for the TriggeringEventType types,
    deleted by the matcher once it has scheduled or cancelled what the event asks for. The
    durable half of "a trigger is never lost": the broker only nudges the matcher, a periodic
    sweep finds whatever a lost nudge left here.

    Plain ids, no foreign keys: ingest pays no constraint checks, and a mark whose event was
    erased meanwhile is simply dropped by the matcher."""

    app_id = models.BigIntegerField()
    event_id = models.BigIntegerField()
    contact_id = models.BigIntegerField()
    event_type_id = models.BigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        # The table events created before campaigns owned the model: kept, so that moving the
        # model changed no data and no running process's SQL.
        db_table = "events_triggermark"
        indexes = [models.Index(fields=["contact_id"], name="trigger_mark_contact")]

    def __str__(self) -> str:
        return f"event {self.event_id}"


class PushCredentials(models.Model):
    """What every provider's credentials keep: the secret, encrypted at rest with
    PUSH_CREDENTIALS_KEYS (campaigns/credentials.py) and never shown back, and how to recognise
    it instead: a fingerprint and when it was set. Written by services/credentials.py only."""

    encrypted_secret = models.TextField(help_text="A Fernet token; the plain secret is not stored")
    secret_fingerprint = models.CharField(max_length=40)
    secret_set_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class FcmCredentials(PushCredentials):
    """A Firebase service account (its JSON key, encrypted) that sends through FCM HTTP v1."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="fcm_credentials")
    project_id = models.CharField(max_length=30, help_text="From the service account's JSON")
    client_email = models.CharField(max_length=254, help_text="From the service account's JSON")

    class Meta:
        verbose_name = "FCM credentials"
        verbose_name_plural = "FCM credentials"

    def __str__(self) -> str:
        return f"FCM credentials of {self.app}"


class ApnsCredentials(PushCredentials):
    """An APNs token-based authentication key (the .p8 file, encrypted) and where it sends."""

    class Environment(models.TextChoices):
        PRODUCTION = "production", "Production"
        SANDBOX = "sandbox", "Sandbox (development builds)"

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="apns_credentials")
    key_id = models.CharField(max_length=10, help_text="The 10-character id of the .p8 key")
    team_id = models.CharField(max_length=10, help_text="The 10-character Apple team id")
    bundle_id = models.CharField(max_length=255, help_text="The app's bundle id (apns-topic)")
    environment = models.CharField(
        max_length=10, choices=Environment.choices, default=Environment.PRODUCTION
    )

    class Meta:
        verbose_name = "APNs credentials"
        verbose_name_plural = "APNs credentials"

    def __str__(self) -> str:
        return f"APNs credentials of {self.app}"


class OneSignalCredentials(PushCredentials):
    """A OneSignal app id and its REST API key (encrypted)."""

    app = models.OneToOneField(App, on_delete=models.CASCADE, related_name="onesignal_credentials")
    onesignal_app_id = models.UUIDField(verbose_name="OneSignal app id")

    class Meta:
        verbose_name = "OneSignal credentials"
        verbose_name_plural = "OneSignal credentials"

    def __str__(self) -> str:
        return f"OneSignal credentials of {self.app}"


class PushedMark(models.Model):
    """A push the push service accepted whose outcome is not recorded yet (campaigns/services/
    sending.py): written as it is answered, deleted when the claim's outcomes are. Its own
    insert-only table, so that a mark rewrites no delivery row and none of its indexes; plain ids,
    no foreign key (as TriggerMark). A mark counts only while its delivery is still sending
    under the same claim."""

    delivery_id = models.BigIntegerField(primary_key=True)
    claim = models.UUIDField()
    pushed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"delivery {self.delivery_id}"
