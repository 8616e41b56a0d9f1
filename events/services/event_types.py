"""Managing event types: declaring one ahead of its first event, the segmentation allowlist
(capped per app) and attribute declarations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from contacts.models import App
from events.attributes import ARRAY_TYPES, IGNORED_PREFIX, TYPES
from events.models import EventAttribute, EventType
from events.validation import MAX_NAME_LENGTH, NUL, NUL_REASON, event_name_errors

# EventType.last_seen_at is refreshed at most this often, so that concurrent batches do not all
# queue on the same hot row.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def event_types_seen(*, types: Iterable[EventType], now: datetime) -> None:
    """Move the types' last-seen time to `now` where it is older than LAST_SEEN_RESOLUTION (a
    type never seen yet, from the catalog or declared ahead, gets its first time too): one
    UPDATE, and none when every type was seen within it."""
    threshold = now - LAST_SEEN_RESOLUTION
    stale = [t.pk for t in types if t.last_seen_at is None or t.last_seen_at < threshold]
    if stale:
        EventType.objects.filter(
            Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=threshold), pk__in=stale
        ).update(last_seen_at=now, first_seen_at=Coalesce("first_seen_at", now))


@transaction.atomic
def event_type_set_segmentation(*, event_type: EventType, enabled: bool) -> EventType:
    """Enable or disable an event type for segmentation; at most SEGMENTATION_MAX_EVENTS enabled
    per app. Enabling records the time (segments count the whole stored history regardless)."""
    # Lock the app row so two concurrent enables cannot both pass the cap, and decide from the
    # stored row, not from the caller's copy (a form may have changed it already).
    App.objects.select_for_update().filter(pk=event_type.app_id).first()
    stored = EventType.objects.get(pk=event_type.pk)
    if enabled == stored.segmentation_enabled:
        event_type.segmentation_enabled = stored.segmentation_enabled
        event_type.segmentation_enabled_at = stored.segmentation_enabled_at
        return event_type
    if enabled:
        limit = settings.SEGMENTATION_MAX_EVENTS
        enabled_count = EventType.objects.filter(
            app_id=event_type.app_id, segmentation_enabled=True
        ).count()
        if enabled_count >= limit:
            raise ValidationError(
                {
                    "segmentation_enabled": [
                        f"at most {limit} event types may be enabled for segmentation; "
                        f"{enabled_count} already are: disable one first"
                    ]
                }
            )
    event_type.segmentation_enabled = enabled
    event_type.segmentation_enabled_at = timezone.now() if enabled else None
    event_type.save(update_fields=["segmentation_enabled", "segmentation_enabled_at"])
    return event_type


def event_attribute_validate(*, name: str, type_: str, is_array: bool = False) -> None:
    """Raise a ValidationError (by field) unless the declaration can be saved."""
    if type_ not in TYPES:
        raise ValidationError({"type": [f"must be one of {', '.join(TYPES)}"]})
    if not name or len(name) > 255:
        raise ValidationError({"name": ["must be 1 to 255 characters"]})
    if name.startswith(IGNORED_PREFIX):
        raise ValidationError(
            {"name": [f"{IGNORED_PREFIX} params are stored as sent, never typed: rename it"]}
        )
    if is_array and type_ not in ARRAY_TYPES:
        raise ValidationError(
            {"is_array": [f"an array holds {', '.join(ARRAY_TYPES)} values, not {type_}"]}
        )


def event_attribute_declare(
    *, event_type: EventType, name: str, type_: str, is_array: bool = False
) -> EventAttribute:
    """Declare (or correct) an attribute's type, and whether it holds an array of it; later
    values are coerced to it."""
    event_attribute_validate(name=name, type_=type_, is_array=is_array)
    attribute, _ = EventAttribute.objects.update_or_create(
        event_type=event_type,
        name=name,
        defaults={"type": type_, "is_array": is_array, "declared": True},
    )
    return attribute


def event_type_name_validate(*, app: App, name: str) -> None:
    """Raise a ValidationError on `name` unless a new event type may take it: the tracking API's
    rules for names, no built-in @ name, and not one of the app's event types already."""
    reasons = event_name_errors(name)
    if not reasons and name.startswith("@"):
        # The tracking API lets a client send a few built-in names; declaring is for its own.
        reasons = ["names starting with @ are reserved for built-in events"]
    if not reasons and NUL in name:
        reasons = [NUL_REASON]
    if not reasons and EventType.objects.filter(app=app, name=name).exists():
        reasons = [f"an event type named {name} already exists"]
    if reasons:
        raise ValidationError({"name": reasons})


def event_attribute_declarations_errors(attributes) -> dict[str, list[str]]:
    """Why a list of {"name", "type", "is_array" (optional)} declarations can't be saved, by
    "attributes.<index>.<key>" (indexes from 0, as in the request's JSON); {} if it can. Each
    one is checked as event_attribute_declare checks it."""
    if not isinstance(attributes, list):
        return {"attributes": ["must be a list of {name, type} objects"]}
    errors, seen = {}, set()
    for index, declaration in enumerate(attributes):
        where = f"attributes.{index}"
        if not isinstance(declaration, dict) or not (
            {"name", "type"} <= set(declaration) <= {"name", "type", "is_array"}
        ):
            errors[where] = ["must be an object with a name, a type and optionally is_array"]
            continue
        name, is_array = declaration["name"], declaration.get("is_array", False)
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
            errors[f"{where}.name"] = [f"must be a string of 1 to {MAX_NAME_LENGTH} characters"]
        elif NUL in name:
            errors[f"{where}.name"] = [NUL_REASON]
        elif not isinstance(is_array, bool):
            errors[f"{where}.is_array"] = ["must be true or false"]
        elif name in seen:
            errors[f"{where}.name"] = [f"{name} is declared twice"]
        else:
            seen.add(name)
            try:
                event_attribute_validate(name=name, type_=declaration["type"], is_array=is_array)
            except ValidationError as exc:
                errors.update({f"{where}.{key}": r for key, r in exc.message_dict.items()})
    return errors


@transaction.atomic
def event_type_create(
    *, app: App, name: str, description: str = "", attributes: list[dict] | None = None
) -> EventType:
    """Declare an event type before any event of it is sent, with the types of its attributes
    ([{"name": ..., "type": ..., "is_array": False}]): its first event is typed by them as a
    later one is. It is not enabled for segmentation (nor counted against the cap) until someone
    enables it."""
    attributes = [] if attributes is None else attributes
    errors = event_attribute_declarations_errors(attributes)
    if NUL in description:
        errors["description"] = [NUL_REASON]
    try:
        event_type_name_validate(app=app, name=name)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    try:
        # A savepoint: the same name stored meanwhile (an event of it, or another declaration)
        # fails the unique constraint here, and is reported as the check above reports it.
        with transaction.atomic():
            event_type = EventType.objects.create(
                app=app, name=name, description=description.strip()
            )
    except IntegrityError:
        raise ValidationError({"name": [f"an event type named {name} already exists"]}) from None
    EventAttribute.objects.bulk_create(
        EventAttribute(
            event_type=event_type,
            name=a["name"],
            type=a["type"],
            is_array=a.get("is_array", False),
            declared=True,
        )
        for a in attributes
    )
    return event_type


def event_type_update(*, event_type: EventType, category: str, description: str) -> EventType:
    """Edit how an event type is described to marketers (its name is what clients send)."""
    event_type.category, event_type.description = category.strip(), description.strip()
    event_type.save(update_fields=["category", "description"])
    return event_type
