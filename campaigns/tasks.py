"""Thin tasks: take ids, call a service. The database holds every timer and mark; these tasks
are nudged right after commit and swept periodically (config/schedules.py)."""

from __future__ import annotations

import logging

from celery import shared_task

from campaigns.services.broadcasts import broadcasts_start_due
from campaigns.services.dispatch import (
    CLAIM_BATCH,
    Claim,
    deliveries_claim_due,
    deliveries_release_expired,
)
from campaigns.services.entries import segment_entries_match
from campaigns.services.sending import deliveries_record_pushed, deliveries_send
from campaigns.services.triggers import BATCH as TRIGGER_BATCH
from campaigns.services.triggers import trigger_marks_process

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.tasks.trigger_marks_process_task")
def trigger_marks_process_task() -> int:
    scheduled, due_now = 0, False
    while True:
        batch = trigger_marks_process(limit=TRIGGER_BATCH)
        scheduled += batch.scheduled
        due_now |= batch.due_now
        # A short batch took every mark there was; marks committed since then nudge a task of
        # their own (one query and transaction less per nudge than asking again).
        if batch.marks < TRIGGER_BATCH:
            break
    if due_now:
        deliveries_dispatch()  # here, not queued: one hop less between an event and its push
    return scheduled


@shared_task(name="campaigns.tasks.deliveries_dispatch_task")
def deliveries_dispatch_task() -> int:
    """Every 2 seconds (config/schedules.py), and after each full claim of a broadcast."""
    return deliveries_dispatch(release_expired=True)


def deliveries_dispatch(*, release_expired: bool = False) -> int:
    """Claim what is due and hand each claim to a send task. Expired claims are taken back by
    the periodic run only: a lease is minutes long, and the inline runs (one per trigger batch,
    broadcast or segment entry) would pay two UPDATEs each for it."""
    if release_expired:
        deliveries_record_pushed()
        deliveries_release_expired()
    claims = deliveries_claim_due()
    for claim in claims:
        deliveries_send_task.delay(claim.claim_id, claim.delivery_ids)
    return sum(len(claim.delivery_ids) for claim in claims)


@shared_task(name="campaigns.tasks.deliveries_send_task")
def deliveries_send_task(claim_id: str, delivery_ids: list[int]) -> dict:
    report = deliveries_send(claim=Claim(claim_id, delivery_ids))
    if len(delivery_ids) == CLAIM_BATCH:  # a full claim: more may be due (a broadcast)
        deliveries_dispatch_task.delay()
    return dict(report.outcomes)


@shared_task(name="campaigns.tasks.broadcasts_start_due_task")
def broadcasts_start_due_task() -> int:
    results = broadcasts_start_due()
    if any(result.due_now for result in results):
        deliveries_dispatch()
    return sum(result.scheduled for result in results)


@shared_task(name="campaigns.tasks.segment_entries_match_task")
def segment_entries_match_task() -> int:
    result = segment_entries_match()
    if result.due_now:
        deliveries_dispatch()
    return result.scheduled
