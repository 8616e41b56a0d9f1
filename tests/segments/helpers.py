"""Plain helpers shared by the segment engine tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from events.models import EventAttribute, EventType
from events.services.event_types import event_attribute_declare, event_type_set_segmentation
from events.services.ingest import events_ingest
from segments.conditions.compiled import segment_contacts
from tests.segments.reference import evaluate, load_from_database

# A Monday, months before the tests run: events around it are in the past for ingest.
NOW = datetime(2026, 6, 15, 10, 30, tzinfo=UTC)
EVENT_NAMES = ("purchase", "view", "signup")
PARAM_TYPES = {
    "amount": "number",
    "category": "string",
    "vip": "boolean",
    "at": "date",
    "meta": "json",
}


def event_types_prepare(*, app, names=EVENT_NAMES, param_types=PARAM_TYPES) -> None:
    """Enable `names` (and the built-in @APP_OPEN) for segmentation, with declared params."""
    for name in (*names, "@APP_OPEN"):
        event_type, _ = EventType.objects.get_or_create(app=app, name=name)
        event_type_set_segmentation(event_type=event_type, enabled=True)
        if not name.startswith("@"):
            for param, type_ in param_types.items():
                event_attribute_declare(event_type=event_type, name=param, type_=type_)


def attribute_declare(
    *, app, name: str, type_: str, is_array: bool = False, event_names=EVENT_NAMES
) -> None:
    """Declare (or correct) a param's type on several event types at once: what
    event_attribute_declare does for one, in two statements."""
    event_types = list(EventType.objects.filter(app=app, name__in=event_names))
    attributes = EventAttribute.objects.filter(event_type__in=event_types, name=name)
    attributes.update(type=type_, is_array=is_array, declared=True)
    existing = set(attributes.values_list("event_type_id", flat=True))
    EventAttribute.objects.bulk_create(
        EventAttribute(event_type=t, name=name, type=type_, is_array=is_array, declared=True)
        for t in event_types
        if t.pk not in existing
    )


def payload(name: str, user: str, when: datetime, params: dict) -> dict:
    return {
        "event_name": name,
        "app_user_id": user,
        "event_time": when.isoformat(),
        "params": params,
    }


def ingest(*, app, payloads: list[dict]) -> None:
    results = events_ingest(app=app, payloads=payloads)
    assert [r.errors for r in results if r.errors] == []


def engine_members(*, app, conditions: dict, now: datetime, contact_ids=None) -> set[int]:
    queryset = segment_contacts(app=app, conditions=conditions, now=now, contact_ids=contact_ids)
    return set(queryset.values_list("pk", flat=True))


def reference_members(*, app, conditions: dict, now: datetime) -> set[int]:
    return evaluate(conditions, now=now, **load_from_database(app))


def event(name: str, user: str, when: datetime, /, **params) -> tuple:
    """An event for the `send` fixture: (name, user, time, params)."""
    return (name, user, when, params)
