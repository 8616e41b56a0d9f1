"""When contacts merge, their events and per-event stats follow (segments mark the surviving
contact for re-evaluation on the same signal)."""

from __future__ import annotations

from contacts.models import Contact
from events.models import ContactEventStats, ContactParamStats, Event
from events.services.stats import saturated


def events_move_to_contact(*, source: Contact, target: Contact) -> None:
    Event.objects.filter(contact=source).update(contact=target)
    _move_event_stats(source, target)
    _move_param_stats(source, target)


def _move_event_stats(source: Contact, target: Contact) -> None:
    target_stats = {s.event_type_id: s for s in ContactEventStats.objects.filter(contact=target)}
    for stat in ContactEventStats.objects.filter(contact=source):
        mine = target_stats.get(stat.event_type_id)
        if mine is None:
            stat.contact = target
            stat.save(update_fields=["contact"])
            continue
        mine.count += stat.count
        mine.first_at = min(mine.first_at, stat.first_at)
        mine.last_at = max(mine.last_at, stat.last_at)
        mine.save(update_fields=["count", "first_at", "last_at"])
        stat.delete()


def _move_param_stats(source: Contact, target: Contact) -> None:
    target_stats = {
        (s.event_type_id, s.param): s for s in ContactParamStats.objects.filter(contact=target)
    }
    for stat in ContactParamStats.objects.filter(contact=source):
        mine = target_stats.get((stat.event_type_id, stat.param))
        if mine is None:
            stat.contact = target
            stat.save(update_fields=["contact"])
            continue
        mine.count += stat.count
        mine.total = saturated(mine.total + stat.total)  # see stats.py
        mine.minimum = min(mine.minimum, stat.minimum)
        mine.maximum = max(mine.maximum, stat.maximum)
        mine.save(update_fields=["count", "total", "minimum", "maximum"])
        stat.delete()
