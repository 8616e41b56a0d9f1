"""Compile a condition tree (docs/segments.md) into ONE query over contacts.

Every condition becomes a semi-join `contact.id IN (subquery)` (or its negation), which both
databases run as one pass over the relevant index range rather than one probe per contact:
- event counts: `SELECT contact_id FROM events WHERE type AND period AND filters GROUP BY
  contact_id HAVING count op N`; when zero events satisfy the count (`< 3`, `= 0`), the
  condition is NOT IN the contacts whose count fails it;
- lifetime counts and first/last event: the per-contact stats (they outlive retention);
- streaks: events of the N periods bucketed with a CASE, `HAVING COUNT(DISTINCT bucket) = N`.

`contact_ids` restricts every subquery to a few contacts: the incremental update after an event
evaluates the tree for just those contacts.

Nothing in the SQL depends on `now`: the bounds of periods are open parameters (Instant), bound at
each evaluation, so that compiled.py can compile a tree once and evaluate it many times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import reduce
from zoneinfo import ZoneInfo

from django.db.models import (
    Avg,
    Case,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from contacts.models import App, Device
from events.attributes import format_instant
from events.formats import kind
from events.models import ContactEventStats, ContactParamStats, Event, EventType
from segments.conditions.geo import circle
from segments.conditions.parameters import ContactIds, Instant, Slot
from segments.conditions.periods import (
    DAY_OPERATORS,
    date_bounds,
    names_days,
    period_bounded,
    period_interval,
    streak_intervals,
)
from segments.conditions.predicates import (
    ArrayPredicate,
    GeoWithin,
    JsonValue,
    Predicate,
    text_column,
)
from segments.conditions.tree import (
    CONTACT_DATE_FIELDS,
    CONTACT_TEXT_FIELDS,
    count_spec,
    event_names,
    filter_type,
    segment_ids,
)

TRUE = Q(pk__isnull=False)
FALSE = Q(pk__in=[])
_LOOKUPS = {"=": "exact", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
_OPERATORS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}
AGGREGATES = {"sum": Sum, "avg": Avg, "min": Min, "max": Max}
# The same aggregates over a lifetime, read from the per-contact param stats.
LIFETIME_AGGREGATES = {
    "sum": F("total"),
    "avg": ExpressionWrapper(F("total") / F("count"), output_field=FloatField()),
    "min": F("minimum"),
    "max": F("maximum"),
}
MAX_SEGMENT_DEPTH = 10


@dataclass
class CompileContext:
    """What the SQL of a tree depends on, besides the tree: nothing here depends on `now`.

    `contact_ids` restricts every subquery: a list, a ContactIds parameter, or None (all)."""

    app_id: int
    contact_ids: list[int] | ContactIds | None = None
    type_ids: dict[str, int] = field(default_factory=dict)
    attribute_types: dict[tuple[str, str], str] = field(default_factory=dict)
    segments: dict[int, dict] = field(default_factory=dict)
    # How to compute the moments of the open Instant parameters from (now, timezone).
    recipes: list[Callable[[datetime, ZoneInfo], list[datetime | None]]] = field(
        default_factory=list
    )
    # (now, timezone) when the filters are applied at one known moment (explain, campaign
    # triggers: plain querysets, never compiled): a date filter naming days then gets its
    # bounds at once instead of open parameters.
    at: tuple[datetime, ZoneInfo] | None = None

    def moments(self, recipe, present: list[bool]) -> list[Instant | None]:
        """Open parameters for the moments `recipe(now, tz)` computes, None where `present` says
        a bound is absent (whether a period has a bound never depends on `now`)."""
        self.recipes.append(recipe)
        index = len(self.recipes) - 1
        return [Instant(index, at) if bound else None for at, bound in enumerate(present)]

    def interval(self, period) -> tuple[Instant | None, Instant | None]:
        start, end = self.moments(
            lambda now, tz: list(period_interval(period, now, tz)), list(period_bounded(period))
        )
        return start, end

    def streak(self, periods: int, unit: str) -> list[tuple[Instant, Instant]]:
        def recipe(now, tz):
            return [moment for pair in streak_intervals(periods, unit, now, tz) for moment in pair]

        moments = self.moments(recipe, [True] * (2 * periods))
        return list(zip(moments[::2], moments[1::2], strict=True))

    def day_bounds(self, op: str, value) -> list[Instant]:
        """The bounds of a date filter that names days (periods.date_bounds), as instants."""
        count = 1 if DAY_OPERATORS[op] in ("<", ">=") else 2
        return self.moments(lambda now, tz: date_bounds(op, value, now, tz), [True] * count)

    def day_bound_texts(self, op: str, value) -> list:
        """The same bounds as the fixed-width UTC text dates are stored as in params: open
        Slots marked "text" (CompiledTree.bind formats them), or the texts at `at`."""
        if self.at is not None:
            return [format_instant(moment) for moment in date_bounds(op, value, *self.at)]
        count = len(self.day_bounds(op, value))
        index = len(self.recipes) - 1
        return [Slot((index, position, "text")) for position in range(count)]


def segment_context(
    app: App,
    conditions: dict,
    contact_ids=None,
    *,
    trees: dict[int, dict] | None = None,
    at: datetime | None = None,
) -> CompileContext:
    """What compiling `conditions` needs: event type ids, attribute types, referenced trees.
    `trees`: every segment's tree of the app, when the caller has them (spares a query).
    `at`: the moment filters are applied at, for callers that filter querysets directly."""
    context = CompileContext(
        app_id=app.pk,
        contact_ids=list(contact_ids) if contact_ids is not None else None,
        at=(at, ZoneInfo(app.timezone)) if at is not None else None,
    )
    _load_segments(app, conditions, context, trees)
    every_tree = [conditions, *context.segments.values()]
    names = {name for tree in every_tree for name in event_names(tree)}
    if names:
        # One query: the types, each with its attributes (a type without any: one NULL row).
        rows = EventType.objects.filter(app=app, name__in=names).values_list(
            "name", "pk", "attributes__name", "attributes__type", "attributes__is_array"
        )
        for event_name, type_id, param, type_, is_array in rows:
            context.type_ids[event_name] = type_id
            if param is not None:
                context.attribute_types[(event_name, param)] = kind(type_, is_array)
    return context


def _load_segments(app: App, conditions: dict, context: CompileContext, trees) -> None:
    """Load the trees of referenced segments, transitively (validation refuses cycles)."""
    from segments.models import Segment

    pending = segment_ids(conditions)
    for _ in range(MAX_SEGMENT_DEPTH):
        pending -= set(context.segments)
        if not pending:
            return
        if trees is None:
            segments = Segment.objects.filter(app=app, pk__in=pending)
            found = dict(segments.values_list("pk", "conditions"))
        else:
            found = {pk: trees[pk] for pk in pending if pk in trees}
        context.segments.update(found)
        pending = {pk for tree in found.values() for pk in segment_ids(tree)}


def compile_node(node: dict, context: CompileContext) -> Q:
    kind = node["type"]
    if kind == "and":
        return reduce(lambda a, b: a & b, (compile_node(n, context) for n in node["conditions"]))
    if kind == "or":
        return reduce(lambda a, b: a | b, (compile_node(n, context) for n in node["conditions"]))
    if kind == "not":
        return ~compile_node(node["condition"], context)
    return _COMPILERS[kind](node, context)


# Events -----------------------------------------------------------------------------------
def events_in_window(
    context: CompileContext, type_id: int, interval=(None, None)
) -> QuerySet[Event]:
    events = Event.objects.filter(event_type_id=type_id)
    start, end = interval
    if start is not None:
        events = events.filter(occurred_at__gte=start)
    if end is not None:
        events = events.filter(occurred_at__lt=end)
    if context.contact_ids is not None:
        events = events.filter(contact_id__in=context.contact_ids)
    return events


def _stats(context: CompileContext, type_id: int) -> QuerySet[ContactEventStats]:
    stats = ContactEventStats.objects.filter(event_type_id=type_id)
    if context.contact_ids is not None:
        stats = stats.filter(contact_id__in=context.contact_ids)
    return stats


def apply_where(
    events: QuerySet, event_name: str, filters: list, context: CompileContext
) -> QuerySet:
    for spec in filters or []:
        declared = context.attribute_types.get((event_name, spec["param"]))
        events = events.filter(_param_predicate("params", spec, declared, context))
    return events


def _param_predicate(column: str, spec: dict, declared: str | None, context: CompileContext):
    """A filter on a JSON key typed by its attribute (a value of another type reads as missing);
    an unknown key is typed by the filter (tree.filter_type), or, for exists / not_exists, any
    type."""
    op, value = spec["op"], spec.get("value")
    if declared is None and op in ("exists", "not_exists"):
        type_ = "any"
    else:
        type_ = filter_type(declared, spec)
    if type_ == "geoloc":  # within / not_within, or exists / not_exists: is it a location
        area = circle(value["lat"], value["lon"], value["km"]) if "within" in op else None
        return GeoWithin(column, spec["param"], area, negated=op.startswith("not_"))
    if type_.endswith("[]"):
        element = type_.removesuffix("[]")
        read = JsonValue(column, spec["param"], "array")
        return ArrayPredicate(read, op, _operand(value, element), element)
    read = JsonValue(column, spec["param"], type_)
    if type_ == "date" and names_days(op, value):
        bounds = context.day_bound_texts(op, value)
        return Predicate(read, DAY_OPERATORS[op], bounds if len(bounds) == 2 else bounds[0])
    return Predicate(read, op, _operand(value, type_))


def _operand(value, type_: str):
    if type_ == "date" and value is not None:
        if isinstance(value, list):
            return [format_instant(datetime.fromisoformat(v)) for v in value]
        return format_instant(datetime.fromisoformat(value))
    return value


def _count_q(field_name: str, op: str, value) -> Q:
    if op == "!=":
        return ~Q(**{field_name: value})
    return Q(**{f"{field_name}__{_LOOKUPS[op]}": value})


def _compile_event(node: dict, context: CompileContext) -> Q:
    matched = _event_match(node, context)
    return matched if node.get("performed", True) else ~matched


def _event_match(node: dict, context: CompileContext) -> Q:
    op, value = count_spec(node)
    zero_matches = _OPERATORS[op](0, value)
    type_id = context.type_ids.get(node["event"])
    if type_id is None:  # never seen: everyone has count 0
        return TRUE if zero_matches and not node.get("aggregate") else FALSE
    interval = context.interval(node.get("period"))
    if interval == (None, None) and not node.get("where") and node.get("aggregate"):
        return _lifetime_aggregate(node, context, type_id)
    if interval == (None, None) and not node.get("where"):
        stats = _stats(context, type_id)
        if zero_matches:
            return ~Q(pk__in=stats.exclude(_count_q("count", op, value)).values("contact_id"))
        return Q(pk__in=stats.filter(_count_q("count", op, value)).values("contact_id"))
    events = apply_where(
        events_in_window(context, type_id, interval), node["event"], node.get("where"), context
    )
    if not node.get("aggregate") and (op, value) == (">=", 1):
        return Q(pk__in=events.values("contact_id"))
    grouped = events.values("contact_id").annotate(counted=Count("pk"))
    if aggregate := node.get("aggregate"):
        function = AGGREGATES[aggregate["fn"]]
        grouped = grouped.annotate(
            aggregated=function(JsonValue("params", aggregate["param"], "number"))
        )
        having = (
            _count_q("counted", op, value)
            & Q(aggregated__isnull=False)
            & _count_q("aggregated", aggregate["op"], aggregate["value"])
        )
        return Q(pk__in=grouped.filter(having).values("contact_id"))
    if zero_matches:
        return ~Q(pk__in=grouped.exclude(_count_q("counted", op, value)).values("contact_id"))
    return Q(pk__in=grouped.filter(_count_q("counted", op, value)).values("contact_id"))


def _lifetime_aggregate(node: dict, context: CompileContext, type_id: int) -> Q:
    """A lifetime aggregate without filters reads one param stats row per contact (and the
    event stats for a count other than "at least once"), never the events' params."""
    aggregate = node["aggregate"]
    numbers = param_stats(context, type_id, aggregate["param"]).alias(
        aggregated=LIFETIME_AGGREGATES[aggregate["fn"]]
    )
    matched = Q(
        pk__in=numbers.filter(_count_q("aggregated", aggregate["op"], aggregate["value"])).values(
            "contact_id"
        )
    )
    op, value = count_spec(node)
    if (op, value) == (">=", 1):  # a param stats row means at least one event
        return matched
    counted = _stats(context, type_id).filter(_count_q("count", op, value))
    return matched & Q(pk__in=counted.values("contact_id"))


def param_stats(context: CompileContext, type_id: int, param: str) -> QuerySet[ContactParamStats]:
    numbers = ContactParamStats.objects.filter(event_type_id=type_id, param=param)
    if context.contact_ids is not None:
        numbers = numbers.filter(contact_id__in=context.contact_ids)
    return numbers


def _compile_first_last(node: dict, context: CompileContext) -> Q:
    type_id = context.type_ids.get(node["event"])
    if type_id is None:
        return FALSE
    column = "first_at" if node["type"] == "first_event" else "last_at"
    stats = _stats(context, type_id)
    start, end = context.interval(node.get("period"))
    if start is not None:
        stats = stats.filter(**{f"{column}__gte": start})
    if end is not None:
        stats = stats.filter(**{f"{column}__lt": end})
    return Q(pk__in=stats.values("contact_id"))


def _compile_streak(node: dict, context: CompileContext) -> Q:
    type_id = context.type_ids.get(node["event"])
    if type_id is None:
        return FALSE
    intervals = context.streak(node["periods"], node["unit"])
    events = events_in_window(context, type_id, (intervals[0][0], intervals[-1][1]))
    events = apply_where(events, node["event"], node.get("where"), context)
    bucket = Case(
        *(
            When(occurred_at__gte=start, occurred_at__lt=end, then=Value(index))
            for index, (start, end) in enumerate(intervals)
        )
    )
    periods_hit = events.values("contact_id").annotate(hit=Count(bucket, distinct=True))
    return Q(pk__in=periods_hit.filter(hit=len(intervals)).values("contact_id"))


# Contacts, devices, segments --------------------------------------------------------------
def _compile_contact(node: dict, context: CompileContext) -> Q:
    field_name, op, value = node["field"], node["op"], node.get("value")
    if field_name in CONTACT_DATE_FIELDS:
        return _instant_q(CONTACT_DATE_FIELDS[field_name], op, value, context)
    if field_name in CONTACT_TEXT_FIELDS:
        if field_name == "email":
            value = [v.lower() for v in value] if isinstance(value, list) else _lower(value)
        return Q(Predicate(text_column(field_name), op, value))
    name = field_name.removeprefix("custom.")
    spec = {"param": name, "op": op, "value": value}
    return Q(_param_predicate("custom_fields", spec, None, context))


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _instant_q(column: str, op: str, value, context: CompileContext) -> Q:
    """Django lookups on a datetime column (they adapt the value per database and treat NULL as
    missing, also under negation)."""
    if op in ("exists", "not_exists"):
        return Q(**{f"{column}__isnull": op == "not_exists"})
    if names_days(op, value):
        bounds, compared = context.day_bounds(op, value), DAY_OPERATORS[op]
        if compared in ("<", ">="):
            return Q(**{f"{column}__{_LOOKUPS[compared]}": bounds[0]})
        within = Q(**{f"{column}__gte": bounds[0], f"{column}__lt": bounds[1]})
        return ~within if compared == "not_range" else within
    if op == "between":
        low, high = (datetime.fromisoformat(v) for v in value)
        return Q(**{f"{column}__gte": low, f"{column}__lte": high})
    return _count_q(column, op, datetime.fromisoformat(value))


def _compile_device(node: dict, context: CompileContext) -> Q:
    devices = Device.objects.filter(app_id=context.app_id, invalidated_at__isnull=True)
    if node.get("platform"):
        devices = devices.filter(platform=node["platform"])
    if node.get("push_permission_granted") is not None:
        devices = devices.filter(push_permission_granted=node["push_permission_granted"])
    if context.contact_ids is not None:
        devices = devices.filter(contact_id__in=context.contact_ids)
    return Q(pk__in=devices.values("contact_id"))


def _compile_segment(node: dict, context: CompileContext) -> Q:
    tree = context.segments.get(node["segment"])
    return compile_node(tree, context) if tree is not None else FALSE


_COMPILERS = {
    "event": _compile_event,
    "first_event": _compile_first_last,
    "last_event": _compile_first_last,
    "streak": _compile_streak,
    "contact": _compile_contact,
    "device": _compile_device,
    "segment": _compile_segment,
}
