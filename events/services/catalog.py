"""Installing the system event catalog and built-in events into a new app."""

from __future__ import annotations

from contacts.models import App
from events import catalog
from events.models import EventType


def event_catalog_install(*, app: App) -> int:
    """Preload the catalog's event types (idempotent); return how many were added."""
    entries = [
        EventType(
            app=app,
            name=name,
            category=category,
            description=description,
            suggested_params=params,
            is_system=True,
        )
        for category, events in catalog.SYSTEM_CATALOG.items()
        for name, description, params in events
    ] + [
        EventType(
            app=app,
            name=name,
            category=catalog.BUILT_IN_CATEGORY,
            description=description,
            suggested_params=params,
            is_system=True,
        )
        for name, description, params in catalog.BUILT_IN_EVENTS
    ]
    existing = set(EventType.objects.filter(app=app).values_list("name", flat=True))
    missing = [entry for entry in entries if entry.name not in existing]
    EventType.objects.bulk_create(missing)
    return len(missing)
