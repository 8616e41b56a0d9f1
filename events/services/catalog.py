"""Installing the system event catalog and built-in events into a new app."""

from __future__ import annotations

from contacts.models import App
from events import catalog
from events.models import EventAttribute, EventType


def event_catalog_install(*, app: App) -> int:
    """Preload the catalog's event types and the built-ins' typed attributes (idempotent);
    return how many event types were added."""
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
    _declare_built_in_attributes(app)
    return len(missing)


def _declare_built_in_attributes(app: App) -> None:
    """Record the built-ins' params with their types (catalog.BUILT_IN_ATTRIBUTES), so that
    segments and the builder know them before the first event. Not `declared`, which says an
    admin declared it; one that exists already (an admin's) is kept."""
    types = EventType.objects.filter(app=app, name__in=catalog.BUILT_IN_ATTRIBUTES)
    EventAttribute.objects.bulk_create(
        [
            EventAttribute(event_type=event_type, name=name, type=type_)
            for event_type in types
            for name, type_ in catalog.BUILT_IN_ATTRIBUTES[event_type.name].items()
        ],
        ignore_conflicts=True,
    )
