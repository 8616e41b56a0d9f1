"""Profiles written by the customer's own id: the upsert by external id (one or up to 1,000 a
call, the API's PUT and batch, the contacts import) and identify traits (Segment's identify).

Each call runs a fixed number of statements whatever the number of profiles: one SELECT ... FOR
UPDATE of the contacts concerned, one INSERT of the new ones and one UPDATE of the changed ones
(set-based SQL through common/db, the same on PostgreSQL and SQLite). Two requests creating the
same new external id at once: the second INSERT fails on the unique (app, external_id) index
once the first commits; the step is rolled back to its savepoint and redone, and then finds the
other's row and updates it (the way ingest's pipeline retries).

Changed contacts are announced with `contacts_changed` on commit (segments recompute them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from common.db.dialect import Column, dialect
from common.db.executor import execute, fetch
from contacts.models import App, Contact
from contacts.services.profile_fields import (
    checked_custom_fields,
    checked_email_status,
    cleaned_country,
    cleaned_email,
    cleaned_external_id,
    cleaned_language,
    cleaned_phone,
    cleaned_timezone,
    merged_custom_fields,
)
from contacts.signals import contacts_changed

MAX_PROFILES = 1000  # a call of contacts_profile_upsert_bulk (and a request of the batch API)
RETRIES = 3  # attempts when a concurrent request created one of the same external ids first

PROFILE_CLEANERS: dict[str, Callable] = {
    "email": cleaned_email,
    "phone": cleaned_phone,
    "custom_fields": checked_custom_fields,
    "timezone": cleaned_timezone,
    "language": cleaned_language,
    "country": cleaned_country,
    "email_status": checked_email_status,
}
PROFILE_FIELDS = tuple(PROFILE_CLEANERS)
# Segment's reserved identify traits stored in a column (the others go to custom_fields).
TRAIT_COLUMNS: dict[str, tuple[str, Callable]] = {
    "email": ("email", cleaned_email),
    "phone": ("phone", cleaned_phone),
    "timezone": ("timezone", cleaned_timezone),
    "language": ("language", cleaned_language),
    "locale": ("language", cleaned_language),
    "country": ("country", cleaned_country),
}
# Name traits, kept as custom fields under one spelling whatever the SDK's.
TRAIT_CUSTOM_NAMES = {
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "name": "name",
}
_SOURCES = {"import": Contact.Source.IMPORT, "admin": Contact.Source.UI}


@dataclass(frozen=True)
class ProfileResult:
    """What became of profile `index` of a bulk call: its contact, or why it was refused."""

    index: int
    contact_id: int | None = None
    created: bool = False
    errors: dict[str, list[str]] = field(default_factory=dict)


# Validation ---------------------------------------------------------------------------------


def profile_cleaned(data: dict) -> tuple[dict, dict]:
    """(the cleaned fields of `data`, {}) or ({}, {"<field>": ["<reason>"]}); every field is
    checked, so a 400 names them all."""
    if not isinstance(data, dict):
        return {}, {"non_field_errors": ["each profile must be a JSON object"]}
    cleaned, errors = {}, {}
    for name, value in data.items():
        cleaner = PROFILE_CLEANERS.get(name)
        if cleaner is None:
            errors[str(name)[:40]] = [f"unknown field; a profile has {', '.join(PROFILE_FIELDS)}"]
            continue
        try:
            cleaned[name] = cleaner(value)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    return ({}, errors) if errors else (cleaned, {})


def traits_errors(traits: dict) -> dict:
    """Why identify-style `traits` would be refused ({"<trait>": ["<reason>"]}), or {}."""
    if not isinstance(traits, dict):
        return {"traits": ["must be a JSON object"]}
    errors: dict[str, list[str]] = {}
    for name, (_, cleaner) in TRAIT_COLUMNS.items():
        if name in traits:
            _collect(errors, cleaner, traits[name], name)
    address = traits.get("address")
    if isinstance(address, dict) and "country" in address and "country" not in traits:
        _collect(errors, cleaned_country, address["country"], "address.country")
    custom = {k: v for k, v in traits.items() if k not in TRAIT_COLUMNS}
    _collect(errors, checked_custom_fields, custom, "traits")
    return errors


def _collect(errors: dict, cleaner: Callable, value, name: str) -> None:
    try:
        cleaner(value, name=name)
    except ValidationError as exc:
        errors.update(exc.message_dict)


def _trait_changes(traits: dict) -> dict:
    """Validated traits as profile changes: columns, and custom_fields updates."""
    changes: dict = {}
    address = traits.get("address")
    if isinstance(address, dict) and address.get("country") not in (None, ""):
        changes["country"] = cleaned_country(address["country"])
    custom = {}
    for name, value in traits.items():
        if name in TRAIT_COLUMNS:
            column, cleaner = TRAIT_COLUMNS[name]
            changes[column] = cleaner(value)
        else:
            custom[TRAIT_CUSTOM_NAMES.get(name, name)] = value
    if custom:
        changes["custom_fields"] = custom
    return changes


# Services -----------------------------------------------------------------------------------


def contact_profile_upsert(
    *, app: App, external_id: str, data: dict, via: str = "api"
) -> tuple[Contact, bool]:
    """Create or update the app's contact with `external_id` (see profile_cleaned for `data`);
    (the contact, whether it was created). Raises ValidationError naming the refused fields."""
    key, errors = _external_id(external_id)
    changes, field_errors = profile_cleaned(data)
    errors.update(field_errors)
    if errors:
        raise ValidationError(errors)
    stored = _stored(app=app, changes_by_id={key: changes}, via=via)
    return stored[key]


def contacts_profile_upsert_bulk(
    *, app: App, profiles: list[dict], via: str = "api"
) -> list[ProfileResult]:
    """Upsert up to MAX_PROFILES profiles, each `{"external_id": ..., <profile fields>}`, each
    stored or refused on its own: a ProfileResult per profile, in order. Profiles repeating an
    external id apply in order to the same contact (created by the first)."""
    if len(profiles) > MAX_PROFILES:
        raise ValidationError({"contacts": [f"at most {MAX_PROFILES} profiles a call"]})
    keys: list[str | None] = []
    changes_by_id: dict[str, dict] = {}
    errors_at: dict[int, dict] = {}
    for index, profile in enumerate(profiles):
        key, changes, errors = _bulk_item(profile)
        keys.append(key)
        if errors:
            errors_at[index] = errors
        else:
            changes_by_id[key] = _folded(changes_by_id.get(key), changes)
    stored = _stored(app=app, changes_by_id=changes_by_id, via=via) if changes_by_id else {}
    return _results(keys, errors_at, stored)


def _bulk_item(profile) -> tuple[str | None, dict, dict]:
    if not isinstance(profile, dict):
        return None, {}, {"non_field_errors": ["each profile must be a JSON object"]}
    data = dict(profile)
    key, errors = _external_id(data.pop("external_id", None))
    changes, field_errors = profile_cleaned(data)
    errors.update(field_errors)
    return key, changes, errors


def _results(keys: list, errors_at: dict, stored: dict) -> list[ProfileResult]:
    results, seen = [], set()
    for index, key in enumerate(keys):
        if index in errors_at:
            results.append(ProfileResult(index=index, errors=errors_at[index]))
            continue
        contact, created = stored[key]
        results.append(
            ProfileResult(index=index, contact_id=contact.pk, created=created and key not in seen)
        )
        seen.add(key)
    return results


def contacts_traits_apply(*, app: App, traits_by_contact: dict[int, dict], via: str) -> None:
    """Apply identify `traits` (validated by traits_errors) to the app's contacts by id: email,
    phone, timezone, language (or locale), country (or address.country) in their columns, names
    and every other trait merged into custom_fields (a null removing its key). One SELECT and
    one UPDATE whatever the number of contacts; another app's contact ids are ignored."""
    if not traits_by_contact:
        return
    with transaction.atomic():
        contacts = Contact.objects.select_for_update().filter(
            app=app, pk__in=list(traits_by_contact)
        )
        changed = [
            contact
            for contact in contacts
            if _applied(contact, _trait_changes(traits_by_contact[contact.pk]), via, None)
        ]
        _write(changed)
        _announce(app, [contact.pk for contact in changed])


def _external_id(value) -> tuple[str | None, dict]:
    try:
        key = cleaned_external_id(value)
    except ValidationError as exc:
        return None, exc.message_dict
    if key is None:
        return None, {"external_id": ["this field is required"]}
    return key, {}


def _folded(earlier: dict | None, later: dict) -> dict:
    """Two profiles of the same external id as one (the later wins, custom fields merge)."""
    if earlier is None:
        return later
    folded = {**earlier, **later}
    if "custom_fields" in earlier and "custom_fields" in later:
        folded["custom_fields"] = {**earlier["custom_fields"], **later["custom_fields"]}
    return folded


# Storage ------------------------------------------------------------------------------------


def _stored(*, app: App, changes_by_id: dict[str, dict], via: str) -> dict:
    """external id -> (contact, created), created or updated; retried when a concurrent request
    created one of them between our read and our insert."""
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return _stored_once(app, changes_by_id, via)
        except IntegrityError:
            if attempt == RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _stored_once(app: App, changes_by_id: dict[str, dict], via: str) -> dict:
    now = timezone.now()
    existing = {
        contact.external_id: contact
        for contact in Contact.objects.select_for_update().filter(
            app=app, external_id__in=list(changes_by_id)
        )
    }
    stored, changed, new = {}, [], []
    for key, changes in changes_by_id.items():
        contact = existing.get(key)
        if contact is None:
            contact = _new_contact(app, key, via, now)
            _applied(contact, changes, via, now)
            new.append(contact)
        elif _applied(contact, changes, via, now):
            changed.append(contact)
        stored[key] = (contact, key not in existing)
    _insert(new)
    _write(changed)
    _announce(app, [contact.pk for contact in new + changed])
    return stored


def _new_contact(app: App, external_id: str, via: str, now: datetime) -> Contact:
    return Contact(
        app=app,
        external_id=external_id,
        source=_SOURCES.get(via, Contact.Source.API),
        created_at=now,
        email_status=Contact.EmailStatus.SUBSCRIBED,
        email_status_via="",
    )


def _applied(contact: Contact, changes: dict, via: str, now: datetime | None) -> bool:
    """Set cleaned `changes` on `contact`; whether anything changed."""
    before = _row(contact)
    for name, value in changes.items():
        if name == "custom_fields":
            contact.custom_fields = merged_custom_fields(contact.custom_fields, value)
        elif name == "email_status":
            if value != contact.email_status:
                contact.email_status = value
                contact.email_status_at, contact.email_status_via = now or timezone.now(), via
        elif name in ("timezone", "language", "country"):
            setattr(contact, name, value or "")
        else:
            setattr(contact, name, value)
    return _row(contact) != before


PROFILE_COLUMNS: list[Column] = [
    ("email", "text"),
    ("phone", "text"),
    ("custom_fields", "text"),
    ("timezone", "text"),
    ("language", "text"),
    ("country", "text"),
    ("email_status", "text"),
    ("email_status_at", "timestamptz"),
    ("email_status_via", "text"),
]
_INSERT_COLUMNS: list[Column] = [
    ("app_id", "bigint"),
    ("external_id", "text"),
    ("source", "text"),
    ("created_at", "timestamptz"),
    *PROFILE_COLUMNS,
]


def _row(contact: Contact) -> tuple:
    return (
        contact.email,
        contact.phone,
        orjson.dumps(contact.custom_fields or {}).decode(),
        contact.timezone,
        contact.language,
        contact.country,
        contact.email_status,
        contact.email_status_at,
        contact.email_status_via,
    )


def _insert(contacts: list[Contact]) -> None:
    """One INSERT of the new contacts; their ids set from its RETURNING."""
    if not contacts:
        return
    rows = [(c.app_id, c.external_id, c.source, c.created_at, *_row(c)) for c in contacts]
    source, params = dialect().values_source(_INSERT_COLUMNS, rows)
    names = [name for name, _ in _INSERT_COLUMNS]
    selected = [_selected(name) for name in names]
    table = Contact._meta.db_table
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(selected)} FROM {source} "
        f"RETURNING id, external_id"
    )
    ids = dict((external_id, pk) for pk, external_id in fetch(sql, params))
    for contact in contacts:
        contact.pk = ids[contact.external_id]
        contact._state = ModelState()
        contact._state.adding, contact._state.db = False, DEFAULT_DB_ALIAS


def _write(contacts: list[Contact]) -> None:
    """One UPDATE of the profile columns of the changed contacts."""
    if not contacts:
        return
    table = Contact._meta.db_table
    columns = [("id", "bigint"), *PROFILE_COLUMNS]
    source, params = dialect().values_source(columns, [(c.pk, *_row(c)) for c in contacts])
    assignments = ", ".join(f"{name} = {_selected(name)}" for name, _ in PROFILE_COLUMNS)
    execute(f"UPDATE {table} SET {assignments} FROM {source} WHERE {table}.id = v.id", params)


def _selected(name: str) -> str:
    return dialect().json(f"v.{name}") if name == "custom_fields" else f"v.{name}"


def _announce(app: App, contact_ids: list[int]) -> None:
    if contact_ids:
        transaction.on_commit(
            lambda: contacts_changed.send(sender=Contact, app=app, contact_ids=contact_ids),
            robust=True,
        )
