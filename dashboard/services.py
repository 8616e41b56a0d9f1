"""Writes on insights (the dashboard's saved charts): create, update, delete.

Each write checks the whole chart against the app: the event type is the app's, the param is a
number attribute of that type (for sum, average, min and max), the split param a string
attribute, the segment the app's, and the period a valid one of at most MAX_POINTS buckets
(dashboard/periods.py)."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from contacts.models import App
from dashboard.models import Insight
from dashboard.periods import range_errors
from events.models import EventAttribute, EventType
from segments.models import Segment

EDITABLE_FIELDS = (
    "name",
    "event_type",
    "measure",
    "param",
    "period",
    "date_from",
    "date_to",
    "granularity",
    "split_param",
    "top_n",
    "segment",
    "position",
    "on_dashboard",
)
MAX_TOP = 10


@transaction.atomic
def insight_create(
    *,
    app: App,
    name: str,
    event_type: EventType,
    measure: str = Insight.Measure.COUNT,
    param: str = "",
    period: str = Insight.Period.MONTH,
    date_from: date | None = None,
    date_to: date | None = None,
    granularity: str = Insight.Granularity.DAY,
    split_param: str = "",
    top_n: int = 5,
    segment: Segment | None = None,
    position: int | None = None,
    on_dashboard: bool = True,
) -> Insight:
    """A chart of `app`; without a position it goes last on the dashboard."""
    fields = {
        "name": name,
        "event_type": event_type,
        "measure": measure,
        "param": param,
        "period": period,
        "date_from": date_from,
        "date_to": date_to,
        "granularity": granularity,
        "split_param": split_param,
        "top_n": top_n,
        "segment": segment,
        "position": position,
        "on_dashboard": on_dashboard,
    }
    insight_validate(app=app, **fields)
    if position is None:
        last = Insight.objects.filter(app=app).aggregate(last=Max("position"))["last"]
        fields["position"] = 0 if last is None else last + 1
    return Insight.objects.create(app=app, **_cleaned(fields))


@transaction.atomic
def insight_update(*, insight: Insight, **fields) -> Insight:
    if unknown := set(fields) - set(EDITABLE_FIELDS):
        raise ValidationError({name: ["cannot be changed"] for name in sorted(unknown)})
    merged = {name: fields.get(name, getattr(insight, name)) for name in EDITABLE_FIELDS}
    insight_validate(app=insight.app, **merged)
    for name, value in _cleaned(merged).items():
        setattr(insight, name, value)
    insight.save()
    return insight


def insight_delete(*, insight: Insight) -> None:
    insight.delete()


def insight_validate(
    *,
    app: App,
    name: str,
    event_type: EventType | None,
    measure: str,
    param: str,
    period: str,
    date_from: date | None,
    date_to: date | None,
    granularity: str,
    split_param: str,
    top_n: int,
    segment: Segment | None,
    position: int | None = None,
    on_dashboard: bool = True,
) -> None:
    """Raise a ValidationError naming each wrong field and why (the admin's form shows them by
    field, the API as its 400)."""
    errors: dict[str, list[str]] = {}
    if not (name or "").strip():
        errors["name"] = ["may not be blank"]
    if event_type is None or event_type.app_id != app.pk:
        errors["event_type"] = ["is not an event type of this app"]
        event_type = None
    errors.update(_measure_errors(event_type, measure, param or ""))
    errors.update(_split_errors(event_type, split_param or "", top_n))
    errors.update(_period_errors(period, granularity, date_from, date_to))
    if segment is not None and segment.app_id != app.pk:
        errors["segment"] = ["is not a segment of this app"]
    if position is not None and position < 0:
        errors["position"] = ["may not be negative"]
    if errors:
        raise ValidationError(errors)


def _measure_errors(event_type: EventType | None, measure: str, param: str) -> dict:
    if measure not in Insight.Measure.values:
        return {"measure": [f"must be one of {', '.join(Insight.Measure.values)}"]}
    if measure == Insight.Measure.COUNT:
        return {"param": ["only for sum, average, min and max"]} if param else {}
    if not param:
        return {"param": [f"is required to compute the {measure}"]}
    if event_type is not None and not _has_attribute(event_type, param, "number"):
        return {"param": [f"“{param}” is not a number attribute of {event_type.name}"]}
    return {}


def _split_errors(event_type: EventType | None, split_param: str, top_n) -> dict:
    errors = {}
    if split_param and event_type is not None:
        if not _has_attribute(event_type, split_param, "string"):
            reason = f"“{split_param}” is not a string attribute of {event_type.name}"
            errors["split_param"] = [reason]
    if not isinstance(top_n, int) or not 1 <= top_n <= MAX_TOP:
        errors["top_n"] = [f"must be a whole number from 1 to {MAX_TOP}"]
    return errors


def _period_errors(period: str, granularity: str, date_from, date_to) -> dict:
    if granularity not in Insight.Granularity.values:
        return {"granularity": [f"must be one of {', '.join(Insight.Granularity.values)}"]}
    if period not in Insight.Period.values:
        return {"period": [f"must be one of {', '.join(Insight.Period.values)}"]}
    if period != Insight.Period.RANGE:
        dates = {"date_from": date_from, "date_to": date_to}
        return {name: ["only for a from – to range"] for name, value in dates.items() if value}
    return range_errors(granularity=granularity, date_from=date_from, date_to=date_to)


def _has_attribute(event_type: EventType, name: str, type_: str) -> bool:
    return EventAttribute.objects.filter(event_type=event_type, name=name, type=type_).exists()


def _cleaned(fields: dict) -> dict:
    return {
        **fields,
        "name": fields["name"].strip(),
        "param": fields["param"] or "",
        "split_param": fields["split_param"] or "",
    }
