"""Validating a condition tree against the grammar (docs/segments.md) and the app: every error is
reported under the JSON path of the node that caused it, e.g.
{"conditions.conditions[1].period.unit": ["must be one of minute, hour, day, week, month"]}."""

from __future__ import annotations

from datetime import date, datetime

from django.core.exceptions import ValidationError

from contacts.models import App
from events.attributes import ARRAY_TYPES
from events.formats import is_ignored, kind
from events.models import EventAttribute, EventType
from segments.conditions.periods import (
    CALENDAR_PERIODS,
    DAY_TEXT,
    PERIOD_TYPES,
    RELATIVE_DATE_OPERATORS,
    RELATIVE_DATE_UNITS,
    STREAK_UNITS,
    UNITS,
)
from segments.conditions.tree import (
    ARRAY_ONLY_OPS,
    ARRAY_OPS,
    CONTACT_DATE_FIELDS,
    CONTACT_TEXT_FIELDS,
    filter_type,
    segment_ids,
    value_type,
)

COUNT_OPS = ("=", "!=", ">", ">=", "<", "<=")
OPERATORS_BY_TYPE = {
    "number": (*COUNT_OPS, "between", "in", "not_in", "exists", "not_exists"),
    "date": (*COUNT_OPS, "between", *RELATIVE_DATE_OPERATORS, "exists", "not_exists"),
    "string": (
        "=",
        "!=",
        "contains",
        "not_contains",
        "starts_with",
        "in",
        "not_in",
        "exists",
        "not_exists",
    ),
    "boolean": ("=", "!=", "exists", "not_exists"),
    "json": ("exists", "not_exists"),
    "geoloc": ("within", "not_within", "exists", "not_exists"),
}
# An array attribute ("string[]") takes the array operators, with values of its elements' type.
OPERATORS_BY_TYPE.update({f"{type_}[]": ARRAY_OPS for type_ in ARRAY_TYPES})
IGNORED_REASON = "ignore_ params are stored as sent, never typed: they cannot be used in conditions"
NODE_KEYS = {
    "and": {"type", "conditions"},
    "or": {"type", "conditions"},
    "not": {"type", "condition"},
    "event": {"type", "event", "performed", "count", "period", "where", "aggregate"},
    "first_event": {"type", "event", "period"},
    "last_event": {"type", "event", "period"},
    "streak": {"type", "event", "periods", "unit", "where"},
    "contact": {"type", "field", "op", "value"},
    "device": {"type", "platform", "push_permission_granted"},
    "segment": {"type", "segment"},
}
MAX_NODES = 200
MAX_DEPTH = 12
MAX_STREAK_PERIODS = 60
MAX_RELATIVE_AMOUNT = 1000  # units of a within_last / within_next date filter
_EARLIEST_DAY, _LATEST_DAY = "0001-01-02", "9999-12-30"  # as events.attributes' range


def conditions_validate(*, app: App, conditions, segment_id: int | None = None) -> None:
    """Raise ValidationError({path: [reasons]}) unless `conditions` is a valid tree for `app`.
    `segment_id` is the segment being saved (to refuse cycles through it)."""
    checker = _Checker(app, conditions)
    checker.node(conditions, "conditions", depth=1)
    if not checker.errors:
        checker.cycles(conditions, segment_id)
    if checker.errors:
        raise ValidationError(checker.errors)


class _Checker:
    def __init__(self, app: App, tree):
        self.app = app
        self.errors: dict[str, list[str]] = {}
        self.count = 0
        names = _names(tree)
        self.types = {t.name: t for t in EventType.objects.filter(app=app, name__in=names)}
        self.attributes = {
            (a.event_type.name, a.name): kind(a.type, a.is_array)
            for a in EventAttribute.objects.filter(
                event_type__in=self.types.values()
            ).select_related("event_type")
        }

    def fail(self, path: str, reason: str) -> None:
        self.errors.setdefault(path, []).append(reason)

    def node(self, node, path: str, depth: int) -> None:
        self.count += 1
        if self.count > MAX_NODES:
            return self.fail(path, f"a tree may have at most {MAX_NODES} nodes")
        if depth > MAX_DEPTH:
            return self.fail(path, f"a tree may be at most {MAX_DEPTH} levels deep")
        if not isinstance(node, dict):
            return self.fail(path, "must be an object")
        kind = node.get("type")
        if kind not in NODE_KEYS:
            return self.fail(f"{path}.type", f"must be one of {', '.join(NODE_KEYS)}")
        for key in sorted(set(node) - NODE_KEYS[kind]):
            self.fail(f"{path}.{key}", f"is not a field of a {kind} condition")
        getattr(self, f"_{kind}")(node, path, depth)

    # Groups ------------------------------------------------------------------------------
    def _and(self, node, path, depth):
        children = node.get("conditions")
        if not isinstance(children, list) or not children:
            return self.fail(f"{path}.conditions", "must be a non-empty list of conditions")
        for index, child in enumerate(children):
            self.node(child, f"{path}.conditions[{index}]", depth + 1)

    _or = _and

    def _not(self, node, path, depth):
        if "condition" not in node:
            return self.fail(f"{path}.condition", "is required")
        self.node(node["condition"], f"{path}.condition", depth + 1)

    # Event conditions ----------------------------------------------------------------------
    def _event(self, node, path, depth):
        self.event_name(node, path)
        if not isinstance(node.get("performed", True), bool):
            self.fail(f"{path}.performed", "must be true or false")
        if "count" in node:
            self.count_spec(node["count"], f"{path}.count")
        self.period(node.get("period"), f"{path}.period")
        self.filters(node, path)
        if "aggregate" in node:
            self.aggregate(node, f"{path}.aggregate")

    def _first_event(self, node, path, depth):
        self.event_name(node, path)
        self.period(node.get("period"), f"{path}.period")

    _last_event = _first_event

    def _streak(self, node, path, depth):
        self.event_name(node, path)
        periods = node.get("periods")
        if not _is_int(periods) or not 1 <= periods <= MAX_STREAK_PERIODS:
            self.fail(f"{path}.periods", f"must be a whole number from 1 to {MAX_STREAK_PERIODS}")
        if node.get("unit") not in STREAK_UNITS:
            self.fail(f"{path}.unit", f"must be one of {', '.join(STREAK_UNITS)}")
        self.filters(node, path)

    def event_name(self, node, path) -> None:
        name = node.get("event")
        if not isinstance(name, str) or not name:
            return self.fail(f"{path}.event", "is required: an event name")
        event_type = self.types.get(name)
        if event_type is None:
            return self.fail(f"{path}.event", f"unknown event {name!r}")
        if not event_type.segmentation_enabled:
            self.fail(
                f"{path}.event",
                f"event {name!r} is not enabled for segmentation: enable it in Event types "
                "(only allowlisted events may be used in segments)",
            )

    def count_spec(self, count, path) -> None:
        if not isinstance(count, dict):
            return self.fail(path, 'must be an object like {"op": ">=", "value": 1}')
        if count.get("op") not in COUNT_OPS:
            self.fail(f"{path}.op", f"must be one of {', '.join(COUNT_OPS)}")
        if not _is_int(count.get("value")) or count["value"] < 0:
            self.fail(f"{path}.value", "must be a whole number, 0 or more")

    def period(self, period, path) -> None:
        if period is None:
            return
        if isinstance(period, str):
            if period not in ("lifetime", *CALENDAR_PERIODS):
                shorthands = ", ".join(("lifetime", *CALENDAR_PERIODS))
                self.fail(path, f"must be a period object, or one of {shorthands}")
            return
        if not isinstance(period, dict) or period.get("type") not in PERIOD_TYPES:
            return self.fail(f"{path}.type", f"must be one of {', '.join(PERIOD_TYPES)}")
        allowed = {"type"}
        if period["type"] in ("last", "older_than"):
            allowed |= {"amount", "unit"}
            if not _is_int(period.get("amount")) or period["amount"] < 1:
                self.fail(f"{path}.amount", "must be a whole number, 1 or more")
            if period.get("unit") not in UNITS:
                self.fail(f"{path}.unit", f"must be one of {', '.join(UNITS)}")
        elif period["type"] == "between":
            allowed |= {"from", "to"}
            start, end = _instant(period.get("from")), _instant(period.get("to"))
            if start is None:
                self.fail(f"{path}.from", "must be an RFC 3339 time with an offset")
            if end is None:
                self.fail(f"{path}.to", "must be an RFC 3339 time with an offset")
            if start and end and start >= end:
                self.fail(f"{path}.to", "must be after from")
        for key in sorted(set(period) - allowed):
            self.fail(f"{path}.{key}", f"is not a field of a {period['type']} period")

    def filters(self, node, path) -> None:
        filters = node.get("where", [])
        if not isinstance(filters, list):
            return self.fail(f"{path}.where", "must be a list of filters")
        for index, spec in enumerate(filters):
            where = f"{path}.where[{index}]"
            if not isinstance(spec, dict) or not isinstance(spec.get("param"), str):
                self.fail(where, 'must be like {"param": "amount", "op": ">", "value": 100}')
                continue
            if is_ignored(spec["param"]):
                self.fail(f"{where}.param", IGNORED_REASON)
                continue
            declared = self.attributes.get((node.get("event"), spec["param"]))
            self.filter_value(spec, filter_type(declared, spec), where)

    def filter_value(self, spec, type_: str, path: str) -> None:
        op, value = spec.get("op"), spec.get("value")
        allowed = OPERATORS_BY_TYPE[type_]
        if op not in allowed:
            label = f"{type_[:-2]} array" if type_.endswith("[]") else type_
            return self.fail(
                f"{path}.op",
                f"{op!r} does not apply to a {label} value; use one of {', '.join(allowed)}",
            )
        if op in ("exists", "not_exists"):
            return
        element = type_.removesuffix("[]")  # an array's operators take values of its elements
        if op in ("within", "not_within"):
            return self.circle(value, f"{path}.value")
        if op in RELATIVE_DATE_OPERATORS:
            return self.relative_days(value, f"{path}.value")
        if op in ("in", "not_in", *ARRAY_ONLY_OPS):
            values, shape = value, "a non-empty list"
            ok = isinstance(value, list) and value
        elif op == "between":
            values, shape = value, "a list [low, high]"
            ok = isinstance(value, list) and len(value) == 2
        else:
            values, shape, ok = [value], "a value", True
        if not ok:
            return self.fail(f"{path}.value", f"must be {shape}")
        for item in values:
            if reason := _type_error(item, element):
                return self.fail(f"{path}.value", reason)
            if element != type_ and element == "date" and _instant(item) is None:
                return self.fail(
                    f"{path}.value",
                    "must be an RFC 3339 time with an offset: an array of dates holds instants",
                )

    def circle(self, value, path: str) -> None:
        if not isinstance(value, dict) or set(value) != {"lat", "lon", "km"}:
            return self.fail(path, 'must be like {"lat": 48.85, "lon": 2.35, "km": 10}')
        for key, low, high in (("lat", -90, 90), ("lon", -180, 180)):
            if _type_error(value[key], "number") or not low <= value[key] <= high:
                self.fail(f"{path}.{key}", f"must be a number from {low} to {high}")
        km = value["km"]
        if _type_error(km, "number") or not 0 < km < float("inf"):
            self.fail(f"{path}.km", "must be a number of kilometres above 0")

    def relative_days(self, value, path: str) -> None:
        if not isinstance(value, dict) or set(value) != {"amount", "unit"}:
            return self.fail(path, 'must be like {"amount": 3, "unit": "day"}')
        amount = value["amount"]
        if not _is_int(amount) or not 1 <= amount <= MAX_RELATIVE_AMOUNT:
            self.fail(f"{path}.amount", f"must be a whole number from 1 to {MAX_RELATIVE_AMOUNT}")
        if value["unit"] not in RELATIVE_DATE_UNITS:
            self.fail(f"{path}.unit", f"must be one of {', '.join(RELATIVE_DATE_UNITS)}")

    def aggregate(self, node, path) -> None:
        aggregate = node["aggregate"]
        if not isinstance(aggregate, dict):
            return self.fail(path, "must be an object")
        if aggregate.get("fn") not in ("sum", "avg", "min", "max"):
            self.fail(f"{path}.fn", "must be one of sum, avg, min, max")
        if not isinstance(aggregate.get("param"), str):
            self.fail(f"{path}.param", "is required: a number param")
        elif is_ignored(aggregate["param"]):
            self.fail(f"{path}.param", IGNORED_REASON)
        elif self.attributes.get((node.get("event"), aggregate["param"]), "number") != "number":
            self.fail(f"{path}.param", f"{aggregate['param']!r} is not a number attribute")
        if aggregate.get("op") not in COUNT_OPS:
            self.fail(f"{path}.op", f"must be one of {', '.join(COUNT_OPS)}")
        if _type_error(aggregate.get("value"), "number"):
            self.fail(f"{path}.value", "must be a number")

    # Contacts, devices, segments -----------------------------------------------------------
    def _contact(self, node, path, depth):
        name = node.get("field")
        if name in CONTACT_DATE_FIELDS:
            type_ = "date"
        elif name in CONTACT_TEXT_FIELDS:
            type_ = "string"
        elif isinstance(name, str) and name.startswith("custom.") and len(name) > 7:
            type_ = value_type(node.get("value"))
        else:
            fields = ", ".join([*CONTACT_TEXT_FIELDS, *CONTACT_DATE_FIELDS, "custom.<name>"])
            return self.fail(f"{path}.field", f"must be one of {fields}")
        self.filter_value(node, type_, path)

    def _device(self, node, path, depth):
        if node.get("platform") not in (None, "web", "android", "ios"):
            self.fail(f"{path}.platform", "must be one of web, android, ios")
        if node.get("push_permission_granted") not in (None, True, False):
            self.fail(f"{path}.push_permission_granted", "must be true or false")

    def _segment(self, node, path, depth):
        from segments.models import Segment

        if not _is_int(node.get("segment")):
            return self.fail(f"{path}.segment", "must be a segment id")
        if not Segment.objects.filter(app=self.app, pk=node["segment"]).exists():
            self.fail(f"{path}.segment", f"no segment {node['segment']} in this app")

    def cycles(self, tree, segment_id: int | None) -> None:
        """Refuse a tree that reaches `segment_id` (or loops) through segment conditions."""
        from segments.models import Segment

        seen, pending = set(), set(segment_ids(tree))
        while pending:
            if segment_id in pending:
                return self.fail("conditions", "a segment cannot include itself, even indirectly")
            seen |= pending
            trees = Segment.objects.filter(app=self.app, pk__in=pending).values_list(
                "conditions", flat=True
            )
            pending = {pk for t in trees for pk in segment_ids(t)} - seen


def _names(node) -> set[str]:
    """Event names anywhere in a tree that may be malformed."""
    if isinstance(node, list):
        return set().union(*(_names(child) for child in node))
    if not isinstance(node, dict):
        return set()
    names = {node["event"]} if isinstance(node.get("event"), str) else set()
    return names | _names(node.get("conditions")) | _names(node.get("condition"))


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _instant(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _type_error(value, type_: str) -> str | None:
    if type_ == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "must be a number"
    if type_ == "boolean" and not isinstance(value, bool):
        return "must be true or false"
    if type_ == "string" and (not isinstance(value, str) or value == ""):
        return "must be a non-empty string"
    if type_ == "date" and _instant(value) is None and not _day(value):
        return (
            "must be an RFC 3339 time with an offset, or a day YYYY-MM-DD "
            f"from {_EARLIEST_DAY} to {_LATEST_DAY} (in the app's timezone)"
        )
    return None


def _day(value) -> bool:
    if not isinstance(value, str) or not DAY_TEXT.match(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return _EARLIEST_DAY <= value <= _LATEST_DAY


def where_validate(*, app: App, event_name: str, filters, field: str = "where") -> None:
    """Raise ValidationError({field[i].key: [reasons]}) unless `filters` is a valid PARAM_FILTER
    list for `event_name` (campaign triggers share the segment grammar)."""
    checker = _Checker(app, {"type": "event", "event": event_name})
    checker.filters({"event": event_name, "where": filters}, "")
    if checker.errors:
        raise ValidationError(
            {
                field + path.removeprefix(".where"): reasons
                for path, reasons in checker.errors.items()
            }
        )
