"""Sending a claim of deliveries: the rules that apply at send time, the message, the push, and
what each answer means for the row, the device and the contact's timeline.

1. take the rows over under this task's own claim id (nothing if another task has them);
2. per row, the send-time rules: still in the audience (if asked), the app's daily cap, quiet
   hours in the contact's timezone (deliver later, or drop);
3. render the Liquid templates and send the pushes, PUSH_SEND_CONCURRENCY at a time; as they
   are answered, mark the rows the push service accepted (a PushedMark row under our claim, one
   small INSERT per group of answers), before the freed slots take the next pushes; then the
   emails, over one connection, marked the same way (email_sending.py);
4. write the outcomes with conditional updates (only rows still under our claim), drop our
   marks, invalidate gone subscriptions, and record @NOTIFICATION_SENT / @NOTIFICATION_FAILED /
   @OPT_OUT (@EMAIL_SENT / @EMAIL_BOUNCED), in one transaction for the claim.

Why the mark: at any instant at most PUSH_SEND_CONCURRENCY pushes are accepted (or on their way)
and unmarked, so a worker killed mid-claim sends at most that many twice once the lease brings
its rows back (recording only at step 4, a kill repeated every push accepted since the claim
began, up to CLAIM_BATCH). A marked row is never sent again: the lease leaves it to
`deliveries_record_pushed`, which records it as sent with its events. Step 4 stays once per
claim: recording each group whole (its transaction, events and stats) cost up to twice the
worker's CPU per push. The marks have a table of their own because marking the row itself
(`sent_at`, which an index covers) rewrote it and its indexes once more per push: the marks
cost PostgreSQL 0.04 ms per push instead of 0.10, and 13% of the rate instead of 22%
(docs/reliability.md).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Subquery
from django.utils import timezone

from campaigns.buttons import button_templates, buttons_rendered
from campaigns.models import Campaign, Channel, Delivery, PushedMark
from campaigns.providers import device_providers
from campaigns.providers.base import (
    MAX_ATTEMPTS,
    Outcome,
    PushMessage,
    SendOutcome,
    backoff_seconds,
)
from campaigns.selectors import frequency_caps_by_app
from campaigns.services.dispatch import Claim, deliveries_take_over
from campaigns.services.email_sending import emails_send
from campaigns.services.email_tracking import email_bounced
from campaigns.services.quiet_hours import quiet_until
from campaigns.services.templates import templates_render
from common.db.dialect import dialect
from common.db.executor import execute, fetch
from common.db.rows import from_row, select_list
from contacts.models import Contact, Device
from contacts.selectors import contact_email_unreachable
from events import catalog
from events.services.builtin import BuiltinEvent, events_record_builtin
from segments.models import SegmentMembership

OPEN_REPORT_PATH = "/api/v1/push/opened"
# Answers this close together are marked by one INSERT: pushes sent together mostly answer
# together, and the groups of 3 that came without waiting cost PostgreSQL twice the marks.
GROUP_WAIT_SECONDS = 0.005


@dataclass
class SendReport:
    outcomes: Counter = field(default_factory=Counter)  # sent, failed, retry, skipped, later


def deliveries_send(*, claim: Claim, now: datetime | None = None) -> SendReport:
    now = now or timezone.now()
    own, ids = deliveries_take_over(claim=claim, now=now)
    report = SendReport()
    rows = _rows(ids)
    facts = _RuleFacts.load(rows, now)
    passed = [row for row in rows if _passes_rules(row, own, now, report, facts)]
    emails = [row for row in passed if row.channel == Delivery.Channel.EMAIL]
    messages, results = _messages([row for row in passed if row.channel != Delivery.Channel.EMAIL])
    to_send = [row for row in passed if row.pk in messages]
    # Providers are found here, once, not by the send threads racing to make the first one.
    providers = device_providers(row.device for row in to_send)
    for answered in _answers(to_send, messages, providers):
        _mark_pushed(own, answered, now)
        results += answered
    for answered in emails_send(emails, now):
        _mark_pushed(own, answered, now)
        results += answered
    _record(own, results, now, report)
    return report


def deliveries_record_pushed(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Rows whose push was accepted (a PushedMark under the row's claim) but whose worker died
    before recording it (step 4), past the lease: record them as sent, with their events, under
    the claim they were left with (a worker that was only slow then finds them recorded, and its
    events are the same keys). Run by the periodic dispatch, which otherwise sends rows of
    expired claims again. Also drops the marks no row is sending under any more (the row was
    deleted meanwhile)."""
    now = now or timezone.now()
    expired = now - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    mark = PushedMark.objects.filter(delivery_id=OuterRef("pk"), claim=OuterRef("claim"))
    left = (
        Delivery.objects.filter(status=Delivery.Status.SENDING, claimed_at__lt=expired)
        .filter(Exists(mark))
        .annotate(pushed_at=Subquery(mark.values("pushed_at")))
    )
    rows = sorted(left.select_related("campaign__app")[:limit], key=lambda row: str(row.claim))
    report = SendReport()
    for claim, group in groupby(rows, key=lambda row: str(row.claim)):
        group = list(group)
        sent = [(row, SendOutcome(Outcome.SENT)) for row in group]
        _record(claim, sent, group[0].pushed_at, report)
    sending = Delivery.objects.filter(
        pk=OuterRef("delivery_id"), claim=OuterRef("claim"), status=Delivery.Status.SENDING
    )
    PushedMark.objects.filter(pushed_at__lt=expired).exclude(Exists(sending)).delete()
    return len(rows)


def _rows(ids: list[int]) -> list[Delivery]:
    """The claim's rows with their contacts and devices, in one binary query with instances built
    as ingest builds its rows (common/db/rows.from_row): the ORM's select_related took a seventh
    of a send task's CPU building three models per row. The few campaigns (and their apps) are
    loaded once and shared, not built again for every row."""
    condition, params = dialect().any_of("d.id", "bigint", ids)
    sql = (
        f"SELECT {select_list(Delivery, 'd')}, {select_list(Contact, 'c')}, "
        f"{select_list(Device, 'v')} FROM {Delivery._meta.db_table} d "
        f"JOIN {Contact._meta.db_table} c ON c.id = d.contact_id "
        f"LEFT JOIN {Device._meta.db_table} v ON v.id = d.device_id "
        f"WHERE {condition} ORDER BY d.id"
    )
    contact_at = len(Delivery._meta.concrete_fields)
    device_at = contact_at + len(Contact._meta.concrete_fields)
    rows = []
    for values in fetch(sql, params, binary=True):
        row = from_row(Delivery, values[:contact_at])
        row.contact = from_row(Contact, values[contact_at:device_at])
        row.device = None if values[device_at] is None else from_row(Device, values[device_at:])
        rows.append(row)
    campaigns = Campaign.objects.select_related("app").in_bulk({row.campaign_id for row in rows})
    for row in rows:
        row.campaign = campaigns[row.campaign_id]
    return rows


_pool: ThreadPoolExecutor | None = None


def _send_pool() -> ThreadPoolExecutor:
    """The process's send threads. Kept across tasks, so that each thread's keep-alive
    connections to the push services (campaigns/providers/webpush.py) are reused."""
    global _pool
    if _pool is None or _pool._max_workers != settings.PUSH_SEND_CONCURRENCY:
        _pool = ThreadPoolExecutor(
            max_workers=settings.PUSH_SEND_CONCURRENCY, thread_name_prefix="push"
        )
    return _pool


def _forget_pool() -> None:
    """A forked child (a Celery prefork worker) starts without its parent's threads."""
    global _pool
    _pool = None


os.register_at_fork(after_in_child=_forget_pool)


def _answers(
    rows: list[Delivery], messages: dict[int, PushMessage], providers: dict
) -> Iterator[list[tuple[Delivery, SendOutcome]]]:
    """Sends the rows' pushes PUSH_SEND_CONCURRENCY at a time and yields them in groups as they
    are answered: the first answer, with those that come within GROUP_WAIT_SECONDS of it. A
    freed slot takes the next push only when the caller asks for the next group, after marking
    this one: the bound on accepted but unmarked pushes, which a kill can repeat."""
    pool, slots = _send_pool(), settings.PUSH_SEND_CONCURRENCY
    waiting = iter(rows)
    in_flight: dict[Future, Delivery] = {}
    while True:
        for row in waiting:
            in_flight[pool.submit(_push, row, messages[row.pk], providers)] = row
            if len(in_flight) >= slots:
                break
        if not in_flight:
            return
        done, others = wait(in_flight, return_when=FIRST_COMPLETED)
        if others:
            done |= wait(others, timeout=GROUP_WAIT_SECONDS).done
        yield [(in_flight.pop(future), future.result()) for future in done]


def _push(row: Delivery, message: PushMessage, providers: dict) -> SendOutcome:
    return providers[row.device_id].send(row.device, message)


# 2. Send-time rules ---------------------------------------------------------------------------
@dataclass
class _RuleFacts:
    """What the send-time rules read, loaded once for a claim's rows (a query or two per claim
    instead of one or two per row): the apps' caps (each channel's and the one across channels,
    in one query), what the capped contacts were sent in the last day, the rechecked audiences."""

    # (app id, channel) -> the channel's daily cap; (app id, None) -> the cap across channels
    caps: dict[tuple[int, str | None], int | None]
    sent_last_day: Counter  # (contact id, channel) -> sent in the last day (capped ones only)
    members: set[tuple[int, int]]  # (segment id, contact id) of the segments rechecked

    @classmethod
    def load(cls, rows: list[Delivery], now: datetime) -> _RuleFacts:
        rows = [row for row in rows if not row.is_test]
        caps = {}
        for app_id, app_caps in frequency_caps_by_app(app_ids={r.app_id for r in rows}).items():
            caps[app_id, Channel.PUSH], caps[app_id, Channel.EMAIL] = app_caps.push, app_caps.email
            caps[app_id, None] = app_caps.any
        capped = {
            row.contact_id
            for row in rows
            if caps[row.app_id, row.channel] is not None or caps[row.app_id, None] is not None
        }
        recheck = {
            (row.campaign.audience_segment_id, row.contact_id)
            for row in rows
            if row.campaign.recheck_audience and row.campaign.audience_segment_id is not None
        }
        return cls(caps, _sent_last_day(capped, now), _members(recheck))


def _members(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    if not pairs:
        return set()
    memberships = SegmentMembership.objects.filter(
        segment_id__in={segment for segment, _ in pairs},
        contact_id__in={contact for _, contact in pairs},
    )
    return set(memberships.values_list("segment_id", "contact_id")) & pairs


def _passes_rules(
    row: Delivery, own: str, now: datetime, report: SendReport, facts: _RuleFacts
) -> bool:
    if row.is_test:
        return True
    campaign = row.campaign
    if campaign.recheck_audience and campaign.audience_segment_id is not None:
        if (campaign.audience_segment_id, row.contact_id) not in facts.members:
            return _skip(row, own, "no longer in the audience segment", report)
    if row.channel == Channel.EMAIL and (reason := contact_email_unreachable(row.contact)):
        return _skip(row, own, reason, report)  # unsubscribed (or bounced) since scheduled
    cap, any_cap = facts.caps[row.app_id, row.channel], facts.caps[row.app_id, None]
    if cap is not None and facts.sent_last_day[row.contact_id, row.channel] >= cap:
        noun = "emails" if row.channel == Channel.EMAIL else "pushes"
        return _skip(row, own, f"daily cap of {cap} {noun} reached", report)
    sent = sum(facts.sent_last_day[row.contact_id, channel] for channel in Channel.values)
    if any_cap is not None and sent >= any_cap:
        return _skip(row, own, f"daily cap of {any_cap} messages (push and email) reached", report)
    if campaign.quiet_start is not None:
        until = quiet_until(campaign, _timezone_of(row), now)
        if until is not None and campaign.quiet_action == Campaign.QuietAction.DROP:
            return _skip(row, own, "quiet hours", report)
        if until is not None:
            _update(row, own, status=Delivery.Status.SCHEDULED, claim=None, due_at=until)
            report.outcomes["later"] += 1
            return False
    if cap is not None or any_cap is not None:  # a later row of the same claim counts this one
        facts.sent_last_day[row.contact_id, row.channel] += 1
    return True


def _sent_last_day(contact_ids: set[int], now: datetime) -> Counter:
    if not contact_ids:
        return Counter()
    sent = Delivery.objects.filter(
        contact_id__in=contact_ids,
        status=Delivery.Status.SENT,
        is_test=False,
        sent_at__gte=now - timedelta(days=1),
    )
    counts = sent.values_list("contact_id", "channel").annotate(n=Count("pk")).order_by()
    return Counter({(contact_id, channel): n for contact_id, channel, n in counts})


def _timezone_of(row: Delivery) -> str:
    device_zone = row.device.timezone if row.device is not None else ""
    return row.contact.timezone or device_zone or row.campaign.app.timezone


def _skip(row: Delivery, own: str, reason: str, report: SendReport) -> bool:
    _update(row, own, status=Delivery.Status.SKIPPED, claim=None, reason=reason)
    report.outcomes["skipped"] += 1
    return False


# 3. The message ---------------------------------------------------------------------------
def _messages(rows: list[Delivery]) -> tuple[dict[int, PushMessage], list]:
    """Each row's message; a row whose templates fail on its values (`divided_by: 0`) fails
    alone, with the reason, instead of failing the whole claim."""
    messages, unrenderable = {}, []
    for row in rows:
        try:
            messages[row.pk] = _message(row)
        except ValidationError as exc:
            reasons = "; ".join(
                f"{field} {' '.join(why)}" for field, why in exc.message_dict.items()
            )
            unrenderable.append((row, SendOutcome(Outcome.FAILED, error=f"the message {reasons}")))
    return messages, unrenderable


def _message(row: Delivery) -> PushMessage:
    campaign = row.campaign
    text = templates_render(
        {
            "title": campaign.title,
            "body": campaign.body,
            "url": campaign.url,
            **button_templates(campaign.buttons),
        },
        contact=row.contact,
        event_params=row.event_params,
    )
    return PushMessage(
        title=text["title"],
        body=text["body"],
        url=text["url"],
        icon=campaign.icon,
        image=campaign.image,
        buttons=buttons_rendered(campaign.buttons, text),
        ttl=campaign.ttl_seconds,
        urgency=campaign.urgency,
        # One topic per delivery: a retry after a lost answer replaces the undelivered first
        # copy in the push service instead of showing the notification twice.
        topic=f"d{row.pk}",
        data={
            "open_url": settings.BEACON_PUBLIC_URL.rstrip("/") + OPEN_REPORT_PATH,
            "open_token": row.open_token,
            "campaign_id": campaign.pk,
            "delivery_id": row.pk,  # for an app that reports the open as an event
        },
    )


def _mark_pushed(own: str, answered: list[tuple[Delivery, SendOutcome]], now: datetime) -> None:
    """Mark the rows the push service accepted: never to be sent again (see the module's doc).
    An upsert: a row sent again (its lease expired while a slow worker still held it) may have
    an older claim's mark. Raw SQL: the ORM's bulk_create cost ~0.05 ms per push in Python."""
    pushed = [row.pk for row, outcome in answered if outcome.kind == Outcome.SENT]
    if not pushed:
        return
    claim = _claim_value(own)
    source, params = dialect().values_source(MARK_COLUMNS, [(pk, claim, now) for pk in pushed])
    execute(
        f"INSERT INTO {PushedMark._meta.db_table} (delivery_id, claim, pushed_at) "
        f"SELECT v.delivery_id, v.claim, v.pushed_at FROM {source} WHERE true "
        "ON CONFLICT (delivery_id) DO UPDATE SET claim = excluded.claim, "
        "pushed_at = excluded.pushed_at",
        params,
    )


MARK_COLUMNS = [("delivery_id", "bigint"), ("claim", "uuid"), ("pushed_at", "timestamptz")]


def _claim_value(own: str):
    """A claim id as the database stores it (SQLite: 32 hex digits)."""
    return PushedMark._meta.get_field("claim").get_db_prep_value(own, connection)


# 4. Outcomes ------------------------------------------------------------------------------
def _record(own: str, results, now: datetime, report: SendReport) -> None:
    events: dict[int, list[BuiltinEvent]] = {}  # app id -> its events
    sent = [row for row, outcome in results if outcome.kind == Outcome.SENT]
    with transaction.atomic():
        sent_ids = [row.pk for row in sent]
        Delivery.objects.filter(pk__in=sent_ids, claim=own).update(
            status=Delivery.Status.SENT, claim=None, sent_at=now, last_error=""
        )
        _unmark(own, sent_ids)
        _record_message_ids(results)
        report.outcomes["sent"] += len(sent)
        for row in sent:  # an address changed since the row was scheduled (the log shows it)
            if row.channel == Channel.EMAIL and row.address != row.contact.email:
                Delivery.objects.filter(pk=row.pk).update(address=row.contact.email)
        for row in sent:
            params = {"campaign_id": row.campaign_id, "delivery_id": row.pk}
            name = catalog.EMAIL_SENT if row.channel == Channel.EMAIL else catalog.NOTIFICATION_SENT
            events.setdefault(row.app_id, []).append(_event(row, name, params, now))
        for row, outcome in results:
            if outcome.kind != Outcome.SENT:
                events.setdefault(row.app_id, []).extend(
                    _apply_failure(row, own, outcome, now, report)
                )
        for app_id, app_events in events.items():
            app = next(row.campaign.app for row, _ in results if row.app_id == app_id)
            events_record_builtin(app=app, events=app_events)


def _unmark(own: str, ids: list[int]) -> None:
    """Drop the marks of the rows whose outcomes are being recorded (in the same transaction)."""
    if ids:
        condition, params = dialect().any_of("delivery_id", "bigint", ids)
        execute(
            f"DELETE FROM {PushedMark._meta.db_table} WHERE {condition} AND claim = %s",
            [*params, _claim_value(own)],
        )


MESSAGE_ID_COLUMNS = [("id", "bigint"), ("message_id", "text")]


def _record_message_ids(results) -> None:
    """The ESP's id of each email it accepted (an anymail backend's answer; SMTP gives none),
    which its webhooks name (campaigns/services/email_tracking.py): one UPDATE for the claim."""
    ids = [
        (row.pk, outcome.answer[:255])
        for row, outcome in results
        if outcome.kind == Outcome.SENT and row.channel == Channel.EMAIL and outcome.answer
    ]
    if ids:
        table = Delivery._meta.db_table
        source, params = dialect().values_source(MESSAGE_ID_COLUMNS, ids)
        execute(
            f"UPDATE {table} SET message_id = v.message_id FROM {source} WHERE {table}.id = v.id",
            params,
        )


def _apply_failure(row, own, outcome: SendOutcome, now, report) -> list[BuiltinEvent]:
    """A retry (with backoff, bounded) or a permanent failure; a gone subscription also
    invalidates its device."""
    if outcome.kind == Outcome.LATER:
        due = now + timedelta(seconds=outcome.retry_after or 0)
        attempts = F("attempts") - 1  # not sent: the claim's attempt does not count
        _update(
            row, own, status=Delivery.Status.SCHEDULED, claim=None, due_at=due, attempts=attempts
        )
        report.outcomes["later"] += 1
        return []
    if outcome.kind == Outcome.RETRY and row.attempts < MAX_ATTEMPTS:
        due = now + timedelta(seconds=outcome.retry_after or backoff_seconds(row.attempts))
        _update(
            row,
            own,
            status=Delivery.Status.SCHEDULED,
            claim=None,
            due_at=due,
            last_error=outcome.error,
        )
        report.outcomes["retry"] += 1
        return []
    error = outcome.error
    if outcome.kind == Outcome.RETRY:
        error = f"gave up after {row.attempts} attempts: {error}"
    _update(row, own, status=Delivery.Status.FAILED, claim=None, last_error=error)
    report.outcomes["failed"] += 1
    params = {"campaign_id": row.campaign_id, "delivery_id": row.pk, "reason": error[:200]}
    if row.channel == Channel.EMAIL:
        if outcome.kind != Outcome.GONE:
            return []
        return [email_bounced(row=row, reason=error, now=now)]
    recorded = [_event(row, catalog.NOTIFICATION_FAILED, params, now)]
    if outcome.kind == Outcome.GONE:
        key = str(row.pk)
        recorded.append(
            device_gone(device_id=row.device_id, contact_id=row.contact_id, now=now, key=key)
        )
    return recorded


def device_gone(*, device_id: int, contact_id: int, now: datetime, key: str) -> BuiltinEvent:
    """Invalidate a device whose subscription the push service reports gone (404/410); return
    the @OPT_OUT event to record for its contact (`key` makes it unique: the send it follows)."""
    Device.objects.filter(pk=device_id, invalidated_at__isnull=True).update(
        invalidated_at=now, push_permission_granted=False
    )
    return BuiltinEvent(
        contact_id=contact_id,
        name=catalog.OPT_OUT,
        params={"subtype": "invalidated"},
        occurred_at=now,
        key=f"{key}:{catalog.OPT_OUT}",
    )


def _event(row: Delivery, name: str, params: dict, now: datetime) -> BuiltinEvent:
    return BuiltinEvent(
        contact_id=row.contact_id, name=name, params=params, occurred_at=now, key=f"{row.pk}:{name}"
    )


def _update(row: Delivery, own: str, **fields) -> bool:
    """Write only if the row is still ours (the lease may have expired meanwhile)."""
    return Delivery.objects.filter(pk=row.pk, claim=own).update(**fields) == 1
