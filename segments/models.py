"""Dynamic segments: a condition tree (docs/segments.md), the contacts in it now, and the history
of entries and exits (for size over time, and for campaigns triggered on entry)."""

from __future__ import annotations

from django.db import models

from contacts.models import App, Contact


class Segment(models.Model):
    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=500, blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    conditions = models.JSONField(help_text="The condition tree (docs/segments.md)")
    member_count = models.PositiveIntegerField(default=0)
    last_computed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EvaluationMark(models.Model):
    """A contact whose events of one type changed since segments last looked at it: written in
    the events' own transaction (segments' subscriber to events/hooks.py), deleted by
    segments_evaluate_pending once it has re-evaluated the contact. Durable, so a lost nudge or
    a broker outage only delays an update (a sweep drains the marks every second).

    Plain ids, no foreign keys (as campaigns' TriggerMark): ingest pays no constraint checks,
    and a mark whose contact was erased meanwhile evaluates nothing."""

    app_id = models.BigIntegerField()
    contact_id = models.BigIntegerField()
    event_type_id = models.BigIntegerField()

    class Meta:
        constraints = [
            # Also the drain's index: it takes marks in contact order.
            models.UniqueConstraint(
                fields=["contact_id", "event_type_id"], name="evaluation_mark_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}/{self.event_type_id}"


class SegmentMembership(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="segment_memberships"
    )
    entered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "contact"], name="segment_membership_unique"
            ),
        ]
        indexes = [models.Index(fields=["contact"], name="segment_membership_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id}"


class SegmentChange(models.Model):
    """One entry or exit; the history survives the contact (for size over time)."""

    class Kind(models.TextChoices):
        ENTERED = "entered", "Entered"
        EXITED = "exited", "Exited"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="changes")
    contact_id = models.BigIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["segment", "at"], name="segment_change_time"),
            models.Index(fields=["contact_id", "at"], name="segment_change_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.kind} {self.segment_id} at {self.at:%Y-%m-%d %H:%M}"
