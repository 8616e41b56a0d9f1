"""Managing event types: the segmentation allowlist (capped per app) and attribute declarations."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.models import App
from events.attributes import TYPES
from events.models import EventAttribute, EventType


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


def event_attribute_validate(*, name: str, type_: str) -> None:
    """Raise a ValidationError (by field) unless the declaration can be saved."""
    if type_ not in TYPES:
        raise ValidationError({"type": [f"must be one of {', '.join(TYPES)}"]})
    if not name or len(name) > 255:
        raise ValidationError({"name": ["must be 1 to 255 characters"]})


def event_attribute_declare(*, event_type: EventType, name: str, type_: str) -> EventAttribute:
    """Declare (or correct) an attribute's type; later values are coerced to it."""
    event_attribute_validate(name=name, type_=type_)
    attribute, _ = EventAttribute.objects.update_or_create(
        event_type=event_type, name=name, defaults={"type": type_, "declared": True}
    )
    return attribute


def event_type_update(*, event_type: EventType, category: str, description: str) -> EventType:
    """Edit how an event type is described to marketers (its name is what clients send)."""
    event_type.category, event_type.description = category.strip(), description.strip()
    event_type.save(update_fields=["category", "description"])
    return event_type
