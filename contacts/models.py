"""Tenants (App), their API keys, and the people they message: contacts and their devices."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


class App(models.Model):
    """A tenant: every contact, event, segment and campaign belongs to exactly one App."""

    name = models.CharField(max_length=200)
    tenant_id = models.SlugField(max_length=64, unique=True)
    timezone = models.CharField(
        max_length=64, default="UTC", help_text="IANA zone for calendar periods (today, weeks)"
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="beacon_apps"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant_id})"


class ApiKey(models.Model):
    """Only a SHA-256 hash and a visible prefix are stored; the full key is shown once."""

    class Scope(models.TextChoices):
        INGEST = "ingest", "Ingest (send events only; safe in a web page)"
        ADMIN = "admin", "Admin (the whole API)"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=10, choices=Scope.choices)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a key")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}, {self.prefix}…)"


class EmailStatus(models.TextChoices):
    SUBSCRIBED = "subscribed", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained (marked as spam)"


class Contact(models.Model):
    EmailStatus = EmailStatus

    class Source(models.TextChoices):
        API = "api", "API"
        EVENT = "event", "Event"
        UI = "ui", "UI"
        IMPORT = "import", "Import"

    # Not indexed alone: the (app, ...) indexes below start with it, and each index on this
    # table costs every contact update ingest makes.
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="contacts", db_index=False)
    external_id = models.CharField(max_length=255, null=True, blank=True)
    anonymous_id = models.CharField(max_length=255, null=True, blank=True)
    email = models.CharField(max_length=254, null=True, blank=True, help_text="Stored lower-case")
    phone = models.CharField(max_length=64, null=True, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    timezone = models.CharField(max_length=64, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Whether emails may go to `email` (campaigns send only to subscribed contacts): changed by
    # contacts/services/email_subscription.py, with when and how (a link, the one-click header,
    # the API, the admin, an ESP's bounce or complaint report).
    email_status = models.CharField(
        max_length=12,
        choices=EmailStatus.choices,
        default=EmailStatus.SUBSCRIBED,
        db_default=EmailStatus.SUBSCRIBED,
    )
    email_status_at = models.DateTimeField(null=True, blank=True)
    email_status_via = models.CharField(max_length=40, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="contact_unique_external_id",
            ),
            models.UniqueConstraint(
                fields=["app", "anonymous_id"],
                condition=models.Q(anonymous_id__isnull=False),
                name="contact_unique_anonymous_id",
            ),
        ]
        indexes = [
            models.Index(fields=["app", "email"], name="contact_app_email"),
            models.Index(fields=["app", "phone"], name="contact_app_phone"),
            models.Index(fields=["app", "last_seen_at"], name="contact_app_last_seen"),
            # the dashboard's new contacts
            models.Index(fields=["app", "created_at"], name="contact_app_created"),
        ]

    def __str__(self) -> str:
        return self.external_id or self.email or self.anonymous_id or f"contact {self.pk}"


class Device(models.Model):
    """A push target. For web push, `token` is the subscription endpoint and `subscription` the
    browser's PushSubscription JSON (endpoint and keys); for mobile push, the token the push
    service issued (an FCM registration token, an APNs device token, a OneSignal subscription id).

    `push_provider` is the service that sends to it; empty means the platform's default (web:
    web push, Android: FCM, iOS: the app's iOS provider, campaigns.PushPolicy). `installation_id`
    is the app's own stable id for the install: a new token for a known installation replaces
    the old one on this row (token rotation) instead of adding a second device."""

    class Platform(models.TextChoices):
        ANDROID = "android", "Android"
        IOS = "ios", "iOS"
        WEB = "web", "Web"

    class PushProvider(models.TextChoices):
        WEBPUSH = "webpush", "Web push"
        FCM = "fcm", "Firebase Cloud Messaging"
        APNS = "apns", "Apple Push Notification service"
        ONESIGNAL = "onesignal", "OneSignal"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="devices")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="devices")
    token = models.TextField()
    subscription = models.JSONField(null=True, blank=True)
    platform = models.CharField(max_length=10, choices=Platform.choices)
    push_provider = models.CharField(
        max_length=10,
        choices=PushProvider.choices,
        blank=True,
        default="",
        help_text="Empty: the platform's default (web push; FCM on Android; the app's iOS choice)",
    )
    installation_id = models.CharField(max_length=255, blank=True, default="")
    push_permission_granted = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64, blank=True, default="")
    language = models.CharField(max_length=8, blank=True, default="")
    country = models.CharField(max_length=2, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "token"], name="device_unique_token"),
            models.UniqueConstraint(
                fields=["app", "installation_id"],
                condition=~models.Q(installation_id=""),
                name="device_unique_installation",
            ),
        ]
        indexes = [
            # the dashboard's push-reachable devices
            models.Index(
                fields=["app"],
                condition=models.Q(push_permission_granted=True, invalidated_at__isnull=True),
                name="device_app_reachable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform} device {self.token[:24]}"


class IdentifierRule(models.Model):
    """Maps an event parameter to the contact field that identifies the event's contact.

    Parameter names match case-insensitively; values case-sensitively, except email.
    Lower `priority` is tried first.
    """

    class Field(models.TextChoices):
        CONTACT_ID = "contact_id", "Contact ID"
        EXTERNAL_ID = "external_id", "External ID"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone number"
        DEVICE_TOKEN = "device_token", "Push token"
        CUSTOM = "custom", "Custom contact field"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="identifier_rules")
    param = models.CharField(max_length=255, help_text="Event parameter name (any case)")
    field = models.CharField(max_length=20, choices=Field.choices)
    custom_field = models.CharField(
        max_length=255, blank=True, default="", help_text="For a custom field: its name"
    )
    priority = models.PositiveSmallIntegerField(default=100)
    is_default = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["priority", "id"]
        verbose_name = "mapping rule"  # what the web UI calls it
        constraints = [
            models.UniqueConstraint(Lower("param"), "app", name="identifier_rule_unique_param"),
        ]

    def __str__(self) -> str:
        target = f"custom.{self.custom_field}" if self.field == self.Field.CUSTOM else self.field
        return f"{self.param} → {target}"
