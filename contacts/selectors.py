"""Reads on apps and contacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet

from common.db.executor import fetch
from common.db.rows import from_row, select_list
from contacts.models import ApiKey, App, Contact, Device, IdentifierRule
from contacts.services.apps import DEFAULT_IDENTIFIER_RULES, hash_api_key


def api_key_lookup(*, raw_key: str) -> ApiKey | None:
    """The active key with this value (and its app), or None. Read on every API request, never
    cached (a revoked key fails at once): one binary query without the ORM, whose version cost a
    fifth of a single event's CPU."""
    sql = (
        f"SELECT {select_list(ApiKey, 'k')}, {select_list(App, 'a')} "
        f"FROM {ApiKey._meta.db_table} k JOIN {App._meta.db_table} a ON a.id = k.app_id "
        f"WHERE k.key_hash = %s AND k.revoked_at IS NULL"
    )
    rows = fetch(sql, [hash_api_key(raw_key)], binary=True)
    if not rows:
        return None
    split = len(ApiKey._meta.concrete_fields)
    key = from_row(ApiKey, rows[0][:split])
    key.app = from_row(App, rows[0][split:])
    return key


def contact_list(*, app: App) -> QuerySet[Contact]:
    """The app's contacts, newest first, with their devices prefetched: one more query per page,
    not one per contact."""
    devices = Device.objects.order_by("id")
    return (
        Contact.objects.filter(app=app)
        .prefetch_related(Prefetch("devices", queryset=devices))
        .order_by("-id")
    )


def contact_get(*, app: App, contact_id: int) -> Contact | None:
    return contact_list(app=app).filter(pk=contact_id).first()


def contacts_new_count(*, apps: QuerySet[App], now: datetime) -> dict[str, int]:
    """Contacts created in the last day and the last 7 days (a range of the app_created index)."""
    day, week = now - timedelta(days=1), now - timedelta(days=7)
    return Contact.objects.filter(app__in=apps, created_at__gte=week).aggregate(
        day=Count("pk", filter=Q(created_at__gte=day)), week=Count("pk")
    )


def devices_reachable(*, app_id: int) -> QuerySet[Device]:
    """The app's devices a push can reach now: permission granted, not invalidated, and for a
    browser a subscription to encrypt for (mobile devices need only their token)."""
    return Device.objects.filter(
        Q(subscription__isnull=False) | ~Q(platform=Device.Platform.WEB),
        app_id=app_id,
        push_permission_granted=True,
        invalidated_at__isnull=True,
    )


def contacts_emailable(*, app_id: int) -> QuerySet[Contact]:
    """The app's contacts an email may go to: an address, and subscribed (not unsubscribed,
    bounced or complained)."""
    return Contact.objects.filter(
        app_id=app_id, email__gt="", email_status=Contact.EmailStatus.SUBSCRIBED
    )


def contacts_email_reach(*, app_id: int, contact_ids) -> tuple[dict[int, str], dict[int, str]]:
    """For `contact_ids`: (contact id -> the address an email may go to, contact id -> why no
    email may go to it)."""
    rows = Contact.objects.filter(app_id=app_id, pk__in=list(contact_ids))
    addresses, reasons = {}, {}
    for contact in rows.only("pk", "email", "email_status"):
        if reason := contact_email_unreachable(contact):
            reasons[contact.pk] = reason
        else:
            addresses[contact.pk] = contact.email
    return addresses, reasons


def contact_email_unreachable(contact: Contact) -> str | None:
    """Why no email may go to the contact now (no address, unsubscribed, ...), or None."""
    if not contact.email:
        return "no email address"
    if contact.email_status != Contact.EmailStatus.SUBSCRIBED:
        return f"email {Contact.EmailStatus(contact.email_status).label.lower()}"
    return None


def devices_reachable_count(*, apps: QuerySet[App]) -> int:
    """Devices a push can reach: permission granted, not invalidated (a partial index)."""
    return Device.objects.filter(
        app__in=apps, push_permission_granted=True, invalidated_at__isnull=True
    ).count()


@dataclass(frozen=True)
class IdentityStep:
    """One line of the identity order: what in an event names its contact, and how."""

    step: int
    source: str  # "event field", "parameter" or "" (the fallback)
    names: tuple[str, ...]
    contact_field: str
    note: str = ""


def identity_default_steps() -> list[IdentityStep]:
    """The built-in order in which an event finds its contact (contacts/services/identity.py),
    with the default parameter rules every app gets (DEFAULT_IDENTIFIER_RULES), grouped by the
    contact field they map to. The app's custom rules take their place among the parameters."""
    labels = dict(IdentifierRule.Field.choices)
    grouped: dict[tuple[str, str], list[str]] = {}
    for param, field, custom_field in DEFAULT_IDENTIFIER_RULES:
        grouped.setdefault((field, custom_field), []).append(param)
    parameter_notes = {
        IdentifierRule.Field.CONTACT_ID: "an existing contact only",
        IdentifierRule.Field.EMAIL: "compared in lower case",
        IdentifierRule.Field.DEVICE_TOKEN: "the contact whose device has this token",
    }
    parameters = [
        IdentityStep(
            2,
            "parameter",
            tuple(params),
            f"{labels[field]} “{custom_field}”" if custom_field else labels[field],
            parameter_notes.get(field, ""),
        )
        for (field, custom_field), params in grouped.items()
    ]
    return [
        IdentityStep(1, "event field", ("app_user_id",), labels[IdentifierRule.Field.EXTERNAL_ID]),
        *parameters,
        IdentityStep(2, "parameter", (), "", "your custom rules, below, by priority"),
        IdentityStep(
            3, "event field", ("device_token",), "Push token", "the contact whose device it is"
        ),
        IdentityStep(4, "event field", ("anonymous_id",), "Anonymous ID"),
        IdentityStep(5, "", (), "", "none of these: a new anonymous contact"),
    ]
