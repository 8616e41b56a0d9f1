"""Why a contact is (or is not) in a segment: the segment's tree, each node annotated with
whether it holds for the contact and the value behind it (a count, a time, a field's value).

"holds" comes from the SQL engine itself (the node compiled alone, restricted to the contact), so
an explanation can never disagree with membership; "value" is read with small queries for that
one contact, over the same windows and filters the engine uses.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import Case, Value, When
from django.utils import timezone

from contacts.models import Contact, Device
from events.models import ContactEventStats
from segments.conditions.compiled import segment_contacts
from segments.conditions.compiler import (
    AGGREGATES,
    LIFETIME_AGGREGATES,
    MAX_SEGMENT_DEPTH,
    CompileContext,
    apply_where,
    events_in_window,
    param_stats,
    segment_context,
)
from segments.conditions.periods import period_interval, streak_intervals
from segments.conditions.predicates import JsonValue
from segments.conditions.tree import CONTACT_DATE_FIELDS


def segment_explain(*, segment, contact: Contact, now: datetime | None = None) -> dict:
    """{"segment", "contact", "member", "now", "explanation"} for `contact` at `now`."""
    now = now or timezone.now()
    explanation = _Explainer(segment.app, contact, now, segment.conditions).node(
        segment.conditions, depth=0
    )
    return {
        "segment": segment.pk,
        "contact": contact.pk,
        "member": explanation["holds"],
        "now": now.isoformat(),
        "explanation": explanation,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


class _Explainer:
    def __init__(self, app, contact: Contact, now: datetime, conditions: dict):
        self.app, self.contact, self.now = app, contact, now
        self.tz = ZoneInfo(app.timezone)
        # Event type ids, attribute types and referenced segments' trees, loaded once.
        self.context: CompileContext = segment_context(app, conditions, [contact.pk], at=now)

    def node(self, node: dict, depth: int) -> dict:
        kind = node["type"]
        annotated = dict(node)
        if kind in ("and", "or"):
            annotated["conditions"] = [self.node(child, depth) for child in node["conditions"]]
            value = None
        elif kind == "not":
            annotated["condition"] = self.node(node["condition"], depth)
            value = None
        else:
            value = getattr(self, f"_{kind}")(node, depth)
        annotated["holds"] = self.holds(node)
        annotated["value"] = value
        return annotated

    def holds(self, node: dict) -> bool:
        contacts = segment_contacts(
            app=self.app, conditions=node, now=self.now, contact_ids=[self.contact.pk]
        )
        return contacts.exists()

    # Event conditions ----------------------------------------------------------------------
    def _stats(self, event_name: str) -> ContactEventStats | None:
        type_id = self.context.type_ids.get(event_name)
        if type_id is None:
            return None
        return ContactEventStats.objects.filter(
            event_type_id=type_id, contact_id=self.contact.pk
        ).first()

    def _event(self, node: dict, depth: int) -> dict:
        """The count of the events the condition counts (and their aggregate, if it has one).
        Like the engine, lifetime counts and aggregates without filters come from the
        per-contact stats."""
        aggregate = node.get("aggregate")
        type_id = self.context.type_ids.get(node["event"])
        interval = period_interval(node.get("period"), self.now, self.tz)
        value = {"count": 0, "from": _iso(interval[0]), "to": _iso(interval[1])}
        if aggregate:
            value["aggregate"] = None
        if type_id is None:
            return value
        if interval == (None, None) and not node.get("where"):
            stats = self._stats(node["event"])
            value["count"] = stats.count if stats is not None else 0
            if aggregate:
                numbers = param_stats(self.context, type_id, aggregate["param"])
                value["aggregate"] = (
                    numbers.annotate(value=LIFETIME_AGGREGATES[aggregate["fn"]])
                    .values_list("value", flat=True)
                    .first()
                )
            return value
        events = apply_where(
            events_in_window(self.context, type_id, interval),
            node["event"],
            node.get("where"),
            self.context,
        )
        value["count"] = events.count()
        if aggregate:
            function = AGGREGATES[aggregate["fn"]]
            result = events.aggregate(
                value=function(JsonValue("params", aggregate["param"], "number"))
            )
            value["aggregate"] = result["value"]
        return value

    def _first_event(self, node: dict, depth: int) -> str | None:
        stats = self._stats(node["event"])
        if stats is None:
            return None
        return _iso(stats.first_at if node["type"] == "first_event" else stats.last_at)

    _last_event = _first_event

    def _streak(self, node: dict, depth: int) -> list[dict]:
        """Each complete period of the streak, oldest first, with whether it had an event."""
        intervals = streak_intervals(node["periods"], node["unit"], self.now, self.tz)
        hit: set[int] = set()
        type_id = self.context.type_ids.get(node["event"])
        if type_id is not None:
            events = events_in_window(self.context, type_id, (intervals[0][0], intervals[-1][1]))
            events = apply_where(events, node["event"], node.get("where"), self.context)
            bucket = Case(
                *(
                    When(occurred_at__gte=start, occurred_at__lt=end, then=Value(index))
                    for index, (start, end) in enumerate(intervals)
                )
            )
            buckets = events.annotate(bucket=bucket).values_list("bucket", flat=True)
            hit = set(buckets.order_by().distinct())
        return [
            {"start": _iso(start), "end": _iso(end), "matched": index in hit}
            for index, (start, end) in enumerate(intervals)
        ]

    # Contacts, devices, segments -----------------------------------------------------------
    def _contact(self, node: dict, depth: int):
        field_name = node["field"]
        if field_name in CONTACT_DATE_FIELDS:
            return _iso(getattr(self.contact, CONTACT_DATE_FIELDS[field_name]))
        if field_name.startswith("custom."):
            return (self.contact.custom_fields or {}).get(field_name.removeprefix("custom."))
        return getattr(self.contact, field_name)

    def _device(self, node: dict, depth: int) -> int:
        """The number of the contact's valid devices that match."""
        devices = Device.objects.filter(contact_id=self.contact.pk, invalidated_at__isnull=True)
        if node.get("platform"):
            devices = devices.filter(platform=node["platform"])
        if node.get("push_permission_granted") is not None:
            devices = devices.filter(push_permission_granted=node["push_permission_granted"])
        return devices.count()

    def _segment(self, node: dict, depth: int) -> dict | None:
        """The referenced segment's own explanation (its conditions, evaluated now)."""
        tree = self.context.segments.get(node["segment"])
        if tree is None or depth >= MAX_SEGMENT_DEPTH:
            return None
        return {"segment": node["segment"], "explanation": self.node(tree, depth + 1)}
