"""Sending a claim's emails (campaigns/services/sending.py hands them over after the send-time
rules): each message built for its row, all sent over one connection of the configured backend
at the pace of the app's send rate (email_rate.py), and the answers yielded in groups so the
caller marks them as it does pushes' (a worker killed mid-claim sends at most one group again)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError

from campaigns.models import Delivery, EmailSettings
from campaigns.providers.base import Outcome, SendOutcome
from campaigns.providers.email import EmailTransport
from campaigns.services.email_messages import email_message_build
from campaigns.services.email_rate import EmailPacer

NO_SETTINGS = "the app has no email settings: set its From address (Settings > Email settings)"


def emails_send(
    rows: list[Delivery], now: datetime
) -> Iterator[list[tuple[Delivery, SendOutcome]]]:
    if not rows:
        return
    by_app = {
        s.app_id: s for s in EmailSettings.objects.filter(app_id__in={r.app_id for r in rows})
    }
    pacer = EmailPacer(
        rates={app_id: s.max_per_second for app_id, s in by_app.items() if s.max_per_second},
        left=Counter(row.app_id for row in rows),
        now=now,
    )
    group: list[tuple[Delivery, SendOutcome]] = []
    with EmailTransport() as transport:
        for row in rows:
            email_settings = by_app.get(row.app_id)
            later = pacer.wait(row.app_id) if email_settings is not None else None
            if later is not None:  # the app's rate has no slot soon: back to the queue
                wait = max((later - pacer.clock()).total_seconds(), 0)
                outcome = SendOutcome(Outcome.LATER, retry_after=wait)
            else:
                outcome = _send_one(row, email_settings, transport)
            group.append((row, outcome))
            if len(group) >= settings.PUSH_SEND_CONCURRENCY:
                yield group
                group = []
    if group:
        yield group


def _send_one(row: Delivery, email_settings, transport: EmailTransport) -> SendOutcome:
    if email_settings is None:
        return SendOutcome(Outcome.FAILED, error=NO_SETTINGS)
    try:
        message = email_message_build(
            row=row, email_settings=email_settings, address=row.contact.email
        )
    except ValidationError as exc:
        reasons = "; ".join(f"{field} {' '.join(why)}" for field, why in exc.message_dict.items())
        return SendOutcome(Outcome.FAILED, error=f"the message {reasons}")
    return transport.send(message)
