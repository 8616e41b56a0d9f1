"""Claiming due deliveries for sending, and taking back the ones a dead worker held.

A claim moves rows from scheduled to sending with a fresh claim id (SKIP LOCKED on PostgreSQL, so
claimers never wait on each other; SQLite has one writer at a time). The send task then takes the
rows over under its own claim id with a conditional update, so a task the broker delivers twice
sends nothing twice. A row whose claim is older than the lease goes back to scheduled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from campaigns.models import Campaign, Delivery, PushedMark, TriggerMark
from campaigns.providers.base import MAX_ATTEMPTS

CLAIM_BATCH = 50  # rows per send task
# Rows held in sending at most (claimed and queued, or being sent): a broadcast flows through the
# queue a few claims at a time, each finished send task asking for more, so that its backlog
# stays in the database (never past the lease in the broker) and a trigger's claim is not queued
# behind thousands of pushes.
MAX_IN_FLIGHT = 500


@dataclass(frozen=True)
class Claim:
    claim_id: str
    delivery_ids: list[int]


def deliveries_claim_due(*, limit: int = 500, now: datetime | None = None) -> list[Claim]:
    """Claim up to `limit` due rows, in claims of at most CLAIM_BATCH rows each, while fewer
    than MAX_IN_FLIGHT rows are in sending."""
    now = now or timezone.now()
    in_flight = Delivery.objects.filter(status=Delivery.Status.SENDING).count()
    limit = min(limit, MAX_IN_FLIGHT - in_flight)
    claims = []
    while limit > 0:
        claim = _claim(min(limit, CLAIM_BATCH), now)
        if not claim.delivery_ids:
            break
        claims.append(claim)
        limit -= len(claim.delivery_ids)
    return claims


def _claim(size: int, now: datetime) -> Claim:
    claim_id = str(uuid.uuid4())
    with transaction.atomic():
        due = (
            Delivery.objects.filter(status=Delivery.Status.SCHEDULED, due_at__lte=now)
            .filter(Q(campaign__status=Campaign.Status.ACTIVE) | Q(is_test=True))
            # a cancel (or other trigger) that arrived for the contact is handled first
            .exclude(Exists(TriggerMark.objects.filter(contact_id=OuterRef("contact_id"))))
            .order_by("due_at")
            .select_for_update(skip_locked=True, of=("self",))
        )
        ids = list(due.values_list("pk", flat=True)[:size])
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SCHEDULED).update(
            status=Delivery.Status.SENDING,
            claim=claim_id,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    return Claim(claim_id, ids)


def deliveries_take_over(*, claim: Claim, now: datetime | None = None) -> tuple[str, list[int]]:
    """The send task's own claim on the rows still held by `claim` (none if the task ran
    already, or the lease expired and the rows went to another claim)."""
    now = now or timezone.now()
    own = str(uuid.uuid4())
    Delivery.objects.filter(
        pk__in=claim.delivery_ids, status=Delivery.Status.SENDING, claim=claim.claim_id
    ).update(claim=own, claimed_at=now)
    # by primary key: `claim` has no index (one more index to write at every claim and send)
    taken = Delivery.objects.filter(pk__in=claim.delivery_ids, claim=own)
    ids = list(taken.values_list("pk", flat=True))
    return own, ids


def deliveries_release_expired(*, now: datetime | None = None) -> int:
    """Rows a worker claimed and never finished: retry them, or give up after MAX_ATTEMPTS.
    Not those it marked pushed (a PushedMark under the row's claim): they are recorded, not
    sent again (sending.deliveries_record_pushed)."""
    now = now or timezone.now()
    pushed = PushedMark.objects.filter(delivery_id=OuterRef("pk"), claim=OuterRef("claim"))
    expired = Delivery.objects.filter(
        status=Delivery.Status.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS),
    ).exclude(Exists(pushed))
    failed = expired.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Delivery.Status.FAILED,
        claim=None,
        last_error=f"gave up: claimed {MAX_ATTEMPTS} times without an answer",
    )
    return failed + expired.update(status=Delivery.Status.SCHEDULED, claim=None, due_at=now)
