"""Writes on contacts: identify (update), merge and erase."""

from __future__ import annotations

from django.db import transaction

from contacts.models import Contact
from contacts.signals import contacts_merged


@transaction.atomic
def contact_merge(*, source: Contact, target: Contact) -> Contact:
    """Move everything of `source` (events, devices, per-event stats, via the contacts_merged
    subscribers and the reverse relations) to `target`, then delete `source`."""
    for attribute in ("email", "phone"):
        if not getattr(target, attribute) and getattr(source, attribute):
            setattr(target, attribute, getattr(source, attribute))
    target.custom_fields = {**(source.custom_fields or {}), **(target.custom_fields or {})}
    target.first_seen_at = _earliest(target.first_seen_at, source.first_seen_at)
    target.last_seen_at = _latest(target.last_seen_at, source.last_seen_at)
    source.devices.update(contact=target)
    contacts_merged.send(sender=Contact, source=source, target=target)
    source_id, anonymous_id = source.pk, source.anonymous_id
    source.delete()
    source.pk = source_id  # callers map the old id to the target
    if target.anonymous_id is None:
        target.anonymous_id = anonymous_id
    target.save()
    return target


def _earliest(a, b):
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def _latest(a, b):
    return max(x for x in (a, b) if x is not None) if (a or b) else None
