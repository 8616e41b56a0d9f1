"""Writes on contacts: identify (update), merge and erase."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.services.email_subscription import contact_email_status_set
from contacts.services.profile_fields import (
    checked_custom_fields,
    checked_email_status,
    cleaned_email,
    cleaned_external_id,
    cleaned_phone,
    merged_custom_fields,
)
from contacts.signals import contact_deleting, contacts_changed, contacts_merged

UPDATABLE_FIELDS = ("email", "phone", "external_id", "custom_fields", "email_status")


def contact_update(*, contact: Contact, data: dict, via: str = "api") -> Contact:
    """Identify a contact: set the given fields of `data` (email, phone, external_id) and merge
    `custom_fields` into the existing ones, a null value removing its key. None clears a field.
    `email_status` sets the email subscription, recorded as changed `via` the API (or the
    admin): the app's own word, which may also subscribe again a bounced address."""
    unknown = set(data) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    data = dict(data)
    if (status := data.pop("email_status", None)) is not None:
        checked_email_status(status)
        if contact_email_status_set(
            contact_id=contact.pk, status=status, via=via, at=timezone.now()
        ):
            contact.refresh_from_db(fields=["email_status", "email_status_at", "email_status_via"])
    changes = {name: _cleaned(name, value) for name, value in data.items()}
    if "custom_fields" in changes:
        changes["custom_fields"] = _merged_custom_fields(contact, changes["custom_fields"])
    if changes.get("external_id") is not None:
        _check_external_id_free(contact, changes["external_id"])
    for name, value in changes.items():
        setattr(contact, name, value)
    try:
        with transaction.atomic():
            contact.save(update_fields=list(changes))
    except IntegrityError:
        # Another request took the external id between the check and the save.
        raise _external_id_taken() from None
    if changes:
        app, ids = contact.app, [contact.pk]
        transaction.on_commit(
            lambda: contacts_changed.send(sender=Contact, app=app, contact_ids=ids), robust=True
        )
    return contact


def contact_delete(*, contact: Contact) -> None:
    """Erase a contact; its events, devices and per-event stats go with it (cascade)."""
    with transaction.atomic():
        contact_deleting.send(sender=Contact, contact=contact)
        contact.delete()


_CLEANERS = {
    "email": cleaned_email,
    "phone": cleaned_phone,
    "external_id": cleaned_external_id,
    "custom_fields": checked_custom_fields,
}


def _cleaned(name: str, value):
    return _CLEANERS[name](value)


def _merged_custom_fields(contact: Contact, updates: dict) -> dict:
    return merged_custom_fields(contact.custom_fields, updates)


def _check_external_id_free(contact: Contact, external_id: str) -> None:
    taken = Contact.objects.filter(app_id=contact.app_id, external_id=external_id).exclude(
        pk=contact.pk
    )
    if taken.exists():
        raise _external_id_taken()


def _external_id_taken() -> ValidationError:
    return ValidationError({"external_id": ["is already used by another contact of this app"]})


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
    contact_deleting.send(sender=Contact, contact=source)
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
