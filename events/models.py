"""Events, their types and attributes, and per-contact statistics that outlive retention."""

from __future__ import annotations

from django.db import models

from contacts.models import App, Contact


class EventType(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="event_types")
    name = models.CharField(max_length=255)
    category = models.CharField(max_length=100, blank=True, default="")
    description = models.TextField(blank=True, default="")
    is_system = models.BooleanField(
        default=False, help_text="From Beacon's catalog or a built-in @ event, not discovered"
    )
    suggested_params = models.JSONField(default=list, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    segmentation_enabled = models.BooleanField(default=False)
    segmentation_enabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["app", "name"], name="event_type_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class EventAttribute(models.Model):
    class Type(models.TextChoices):
        STRING = "string", "String"
        NUMBER = "number", "Number"
        BOOLEAN = "boolean", "Boolean"
        DATE = "date", "Date"
        JSON = "json", "JSON"
        GEOLOC = "geoloc", "Location"

    event_type = models.ForeignKey(EventType, on_delete=models.CASCADE, related_name="attributes")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=10, choices=Type.choices)
    is_array = models.BooleanField(
        default=False, help_text='Each value is an array of the type (string_tags: ["a", "b"])'
    )
    declared = models.BooleanField(
        default=False, help_text="Declared by an admin (else discovered from the first value)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["event_type", "name"], name="event_attribute_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.type}{'[]' if self.is_array else ''}"


class Event(models.Model):
    """One thing a contact did. `params` are typed and used for targeting; `context` is kept for
    diagnostics only. Dates inside params are stored as fixed-width UTC ISO strings so that they
    compare correctly as text."""

    # No single-column indexes on the foreign keys: each is the prefix of an index below
    # (app: the fingerprint constraint; contact: the timeline; event_type: event_type_time), and
    # every index costs ingest (8 indexes made COPY 26,000 rows/s, 5 make it 34,000).
    # No foreign key constraints in the database either: their checks at commit cost a quarter
    # of PostgreSQL's time per ingested event. Nothing is lost: Django's cascades delete events
    # with their app, contact or type, and ingest writes each event with its ContactEventStats
    # row in the same transaction, whose constraints check the same contact and type.
    app = models.ForeignKey(
        App, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    event_type = models.ForeignKey(
        EventType,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    params = models.JSONField(default=dict)
    context = models.JSONField(default=dict)
    session_id = models.CharField(max_length=255, blank=True, default="")
    fingerprint = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["app", "fingerprint"], name="event_unique_fingerprint"),
        ]
        indexes = [
            # "contacts who did E between t1 and t2"
            models.Index(fields=["event_type", "occurred_at", "contact"], name="event_type_time"),
            # "the timeline of contact C"
            models.Index(fields=["contact", "-occurred_at"], name="event_contact_timeline"),
            # retention purge
            models.Index(fields=["occurred_at"], name="event_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type_id} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class ContactEventStats(models.Model):
    """First and last occurrence and count per contact and event type, maintained on ingest and
    kept when old events are purged: "ever did X" and first/last questions survive retention."""

    # Not indexed alone: the unique constraint's index starts with the contact, stats_type_first
    # with the type; every update from ingest writes to each index of this table.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="event_stats", db_index=False
    )
    event_type = models.ForeignKey(
        EventType, on_delete=models.CASCADE, related_name="contact_stats", db_index=False
    )
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "contact event stats"
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "event_type"], name="contact_event_stats_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["event_type", "first_at"], name="stats_type_first"),
            models.Index(fields=["event_type", "last_at"], name="stats_type_last"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}/{self.event_type_id}: {self.count}"


class ContactParamStats(models.Model):
    """Count, sum, min and max of the numbers one param took, per contact and event type,
    maintained on ingest beside ContactEventStats and kept when old events are purged.

    Lifetime aggregates ("spent 200 in all") read one row per contact here instead of the
    `params` of every event, which the time-ordered events table spreads over most of its pages.
    Only JSON numbers count (not booleans, not numeric strings), exactly as the segment engine's
    aggregates over events read them, so both give the same answer for any declared type."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="param_stats")
    # Not indexed alone: the unique constraint's index starts with it.
    event_type = models.ForeignKey(
        EventType, on_delete=models.CASCADE, related_name="contact_param_stats", db_index=False
    )
    param = models.CharField(max_length=255)
    count = models.PositiveIntegerField(help_text="Events whose param was a number")
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()

    class Meta:
        verbose_name_plural = "contact param stats"
        constraints = [
            # Its index serves the segment engine too: (type, param) then the contacts.
            models.UniqueConstraint(
                fields=["event_type", "param", "contact"], name="contact_param_stats_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}/{self.event_type_id}.{self.param}: {self.total}"
