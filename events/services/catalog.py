"""Installing the system event catalog and built-in events into a new app, and into every app at
each deploy."""

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
    # ignore_conflicts: at a deploy, the running processes may record a built-in meanwhile
    EventType.objects.bulk_create(missing, ignore_conflicts=True)
    _declare_built_in_attributes(app)
    return len(missing)


def event_catalog_sync() -> int:
    """Install the catalog into every app (`manage.py beacon_setup`, at each deploy); return how
    many event types were added.

    An app created before a built-in (or a catalog entry, or a built-in's param) was added to
    events/catalog.py lacks it until it is first recorded: the segment builder and the event
    type list don't offer it, and its params are typed by the first value seen. This runs the
    live catalog rather than a data migration's frozen copy, so each later addition reaches the
    existing apps at the next deploy with no migration of its own. Nothing is removed or
    retyped: an existing event type or attribute is kept as it is."""
    return sum(event_catalog_install(app=app) for app in App.objects.order_by("pk"))


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
