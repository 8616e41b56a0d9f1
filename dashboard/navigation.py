"""The admin's menu by task rather than by Django app: what a marketer works with first, the set-up
next, and the tables Beacon keeps for itself last, for superusers only.

A model is placed by its label; a model no section names (a new table, a third-party app's) is
internal until someone places it, so nothing reaches a marketer's menu by accident.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model


@dataclass(frozen=True)
class Section:
    key: str
    name: str
    models: tuple[str, ...]  # labels, in menu order


SECTIONS = (
    Section("audience", "Audience", ("contacts.contact", "contacts.device", "segments.segment")),
    Section("messaging", "Messaging", ("campaigns.campaign", "campaigns.delivery")),
    Section(
        "data",
        "Data",
        (
            "events.event",
            "events.eventtype",
            "events.eventattribute",
            "dashboard.insight",
            "transfers.importjob",  # imports of contacts and events (Admins)
        ),
    ),
    # The roles give these to Admins only (contacts/services/roles.py); users and groups to no
    # role: superusers manage people.
    Section(
        "settings",
        "Settings",
        (
            "contacts.app",
            "contacts.apikey",
            "contacts.identifierrule",
            "campaigns.pushpolicy",
            "campaigns.emailsettings",
            "campaigns.messagingpolicy",
            "campaigns.fcmcredentials",
            "campaigns.apnscredentials",
            "campaigns.onesignalcredentials",
            "campaigns.vapidkeypair",
            "auth.user",
            "auth.group",
        ),
    ),
)
INTERNAL = Section("internal", "Internal", ())

_PLACED = {label: section for section in SECTIONS for label in section.models}


def section_of(model: type[Model]) -> Section:
    return _PLACED.get(model._meta.label_lower, INTERNAL)


def is_internal(model: type[Model]) -> bool:
    return section_of(model) is INTERNAL


def sections_arrange(model_dicts: list[dict], *, url_of) -> list[dict]:
    """Django's per-model menu entries (`AdminSite._build_app_dict`'s) grouped into the sections,
    in their order, as app entries the admin's templates show; empty sections are left out.
    `url_of(section)` is the section's own page."""
    by_label = {entry["model"]._meta.label_lower: entry for entry in model_dicts}
    internal = sorted(
        (entry for label, entry in by_label.items() if label not in _PLACED),
        key=lambda entry: entry["name"],
    )
    arranged = []
    for section in SECTIONS:
        entries = [by_label[label] for label in section.models if label in by_label]
        if entries:
            arranged.append(_app_entry(section, entries, url_of(section)))
    if internal:
        arranged.append(_app_entry(INTERNAL, internal, url_of(INTERNAL)))
    return arranged


def section_get(key: str) -> Section | None:
    return next((s for s in (*SECTIONS, INTERNAL) if s.key == key), None)


def _app_entry(section: Section, entries: list[dict], url: str) -> dict:
    return {
        "name": section.name,
        "app_label": section.key,
        "app_url": url,
        "has_module_perms": True,
        "models": entries,
    }
