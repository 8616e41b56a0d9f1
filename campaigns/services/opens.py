"""Opens: the service worker reports a click with the delivery's open token (carried in the push
payload; it is the only credential a notification has)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaigns.models import Delivery
from events import catalog
from events.services.builtin import BuiltinEvent, events_record_builtin


def delivery_open(*, token: str, now: datetime | None = None) -> Delivery | None:
    """Record the first open of the delivery with this token; None if no delivery has it.
    Reports after the first change nothing (a double click, a retried report)."""
    now = now or timezone.now()
    delivery = Delivery.objects.select_related("campaign__app").filter(open_token=token).first()
    if delivery is None:
        return None
    with transaction.atomic():
        first = Delivery.objects.filter(pk=delivery.pk, opened_at__isnull=True).update(
            opened_at=now
        )
        if first:
            params = {"campaign_id": delivery.campaign_id, "delivery_id": delivery.pk}
            event = BuiltinEvent(
                contact_id=delivery.contact_id,
                name=catalog.NOTIFICATION_OPENED,
                params=params,
                occurred_at=now,
                key=str(delivery.pk),
            )
            events_record_builtin(app=delivery.campaign.app, events=[event])
    delivery.refresh_from_db(fields=["opened_at"])
    return delivery
