"""segment_explain's annotated tree in words, for the segment page's "why is this contact (not)
in this segment?": one row per node, indented by depth, saying what the condition asks, whether
it holds, and the figure behind it (a count, a sum, a time, a field's value)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from segments.conditions.periods import DAY_TEXT, names_days
from segments.conditions.tree import CONTACT_DATE_FIELDS

OPS = {
    "=": "exactly",
    "!=": "not exactly",
    ">": "more than",
    ">=": "at least",
    "<": "fewer than",
    "<=": "at most",
}
FILTER_OPS = {
    "contains": "contains",
    "not_contains": "does not contain",
    "contains_any": "contains any of",
    "not_contains_any": "contains none of",
    "starts_with": "starts with",
    "in": "is one of",
    "not_in": "is none of",
    "exists": "is set",
    "not_exists": "is not set",
    "between": "is between",
}
CALENDAR = {
    "today": "today",
    "yesterday": "yesterday",
    "this_week": "this week",
    "last_week": "last week",
    "this_month": "this month",
    "last_month": "last month",
}
AGGREGATES = {"sum": "sum", "avg": "average", "min": "smallest", "max": "largest"}
# A date compared with a day "YYYY-MM-DD" (a whole day in the app's timezone, docs/segments.md).
DAY_OPS = {
    "=": "is on",
    "!=": "is not on",
    "<": "is before",
    "<=": "is on or before",
    ">": "is after",
    ">=": "is on or after",
}


@dataclass(frozen=True)
class Row:
    depth: int
    holds: bool
    text: str
    figure: str


def explanation_rows(
    conditions: dict,
    explanation: dict,
    *,
    timezone: str,
    segments: dict[int, tuple[str, dict]],
    attribute_types: dict[tuple[str, str], str] | None = None,
) -> list[Row]:
    """The rows of a tree and its annotated copy (segment_explain's "explanation"), depth first.
    The tree is read beside its copy because the copy's "value" is the contact's figure, which
    hides a contact condition's own value. `segments`: the app's segments' names and trees by id,
    for the segments the tree names. `attribute_types`: the kinds of the params the trees filter
    on by (event, param), as the compiler has them: a date param's day operand reads as a day."""
    describer = _Describer(ZoneInfo(timezone), segments, attribute_types or {})
    return describer.rows(conditions, explanation, 0)


class _Describer:
    def __init__(
        self,
        tz: ZoneInfo,
        segments: dict[int, tuple[str, dict]],
        attribute_types: dict[tuple[str, str], str],
    ):
        self.tz, self.segments, self.attribute_types = tz, segments, attribute_types

    def rows(self, node: dict, annotated: dict, depth: int) -> list[Row]:
        text, figure = getattr(self, f"_{node['type']}")(node, annotated["value"])
        rows = [Row(depth, annotated["holds"], text, figure)]
        for child, annotated_child in self.children(node, annotated):
            rows += self.rows(child, annotated_child, depth + 1)
        return rows

    def children(self, node: dict, annotated: dict) -> list[tuple[dict, dict]]:
        if node["type"] in ("and", "or"):
            return list(zip(node["conditions"], annotated["conditions"], strict=False))
        if node["type"] == "not":
            return [(node["condition"], annotated["condition"])]
        if node["type"] == "segment" and annotated["value"]:
            tree = self.segments[node["segment"]][1]
            return [(tree, annotated["value"]["explanation"])]
        return []

    def when(self, moment: str | None) -> str:
        if moment is None:
            return "never"
        return datetime.fromisoformat(moment).astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    def period(self, period) -> str:
        period = {"type": period} if isinstance(period, str) else period or {"type": "lifetime"}
        kind = period["type"]
        if kind in CALENDAR:
            return CALENDAR[kind]
        if kind == "last":
            return f"in the last {_units(period['amount'], period['unit'])}"
        if kind == "older_than":
            return f"more than {_units(period['amount'], period['unit'])} ago"
        if kind == "between":
            return f"from {self.when(period['from'])} to {self.when(period['to'])}"
        return "ever"

    def where(self, node: dict) -> str:
        filters = node.get("where")
        if not filters:
            return ""
        event = node["event"]
        return ", where " + " and ".join(
            f"{spec['param']} "
            f"{_filter(spec, dated=self.attribute_types.get((event, spec['param'])) == 'date')}"
            for spec in filters
        )

    # Groups ------------------------------------------------------------------------------
    def _and(self, node, value):
        return "All of these", ""

    def _or(self, node, value):
        return "At least one of these", ""

    def _not(self, node, value):
        return "Not this", ""

    # Conditions ----------------------------------------------------------------------------
    def _event(self, node, value):
        count = node.get("count") or {"op": ">=", "value": 1}
        verb = "Did" if node.get("performed", True) else "Did not do"
        text = f"{verb} {node['event']} {_times(count)} {self.period(node.get('period'))}"
        text += self.where(node)
        figure = f"{_plural(value['count'], 'matching event')}"
        if aggregate := node.get("aggregate"):
            fn = AGGREGATES[aggregate["fn"]]
            text += f", with the {fn} of {aggregate['param']} {_op(aggregate['op'])} "
            text += f"{aggregate['value']}"
            result = value.get("aggregate")
            figure += f"; {fn} of {aggregate['param']}: {'none' if result is None else result}"
        return text, figure

    def _first_event(self, node, value):
        which = "First" if node["type"] == "first_event" else "Last"
        text = f"{which} did {node['event']} {self.period(node.get('period'))}"
        return text, f"{which.lower()} time: {self.when(value)}"

    _last_event = _first_event

    def _streak(self, node, value):
        unit = node["unit"]
        text = f"Did {node['event']} in each of the last {_units(node['periods'], unit)}"
        text += f" (complete {unit}s){self.where(node)}"
        periods = value
        matched = sum(1 for period in periods if period["matched"])
        missing = [self.when(period["start"])[:10] for period in periods if not period["matched"]]
        figure = f"{matched} of {len(periods)} {unit}s had one"
        return text, figure + (f"; none in the {unit} from {', '.join(missing)}" if missing else "")

    def _contact(self, node, value):
        field = node["field"].replace("custom.", "custom field ", 1)
        text = f"Contact's {field} {_filter(node, dated=node['field'] in CONTACT_DATE_FIELDS)}"
        return text, f"{field}: {'not set' if value in (None, '') else value}"

    def _device(self, node, value):
        platform = node.get("platform")
        text = f"Has a {platform} device" if platform else "Has a device"
        granted = node.get("push_permission_granted")
        if granted is not None:
            text += " with push permission " + ("granted" if granted else "not granted")
        return text, _plural(value, "matching device")

    def _segment(self, node, value):
        name = self.segments.get(node["segment"], (f"#{node['segment']}", None))[0]
        return f"Is in the segment “{name}”", ""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _units(amount: int, unit: str) -> str:
    return _plural(amount, unit)


def _op(op: str) -> str:
    return {"=": "=", "!=": "≠", ">": ">", ">=": "≥", "<": "<", "<=": "≤"}.get(op, op)


def _times(count: dict) -> str:
    return f"{OPS[count['op']]} {_plural(count['value'], 'time')}"


def _filter(spec: dict, *, dated: bool = False) -> str:
    """A filter in words; `dated`: it compares a date, so a day operand reads as a day."""
    op, value = spec["op"], spec.get("value")
    if op in ("exists", "not_exists"):
        return FILTER_OPS[op]
    if dated and op in (*DAY_OPS, "between") and names_days(op, value):
        return _days(op, value)
    if op == "between":
        return f"is between {value[0]} and {value[1]}"
    if op in ("within", "not_within"):
        negation = "not " if op == "not_within" else ""
        return f"is {negation}within {value['km']} km of {value['lat']}, {value['lon']}"
    if op in ("within_last", "within_next"):
        which = op.removeprefix("within_")
        return f"is today or in the {which} {_units(value['amount'], value['unit'])}"
    if op in ("in", "not_in", "contains_any", "not_contains_any"):
        return f"{FILTER_OPS[op]} {', '.join(str(item) for item in value)}"
    return f"{FILTER_OPS.get(op, _op(op))} {value}"


def _days(op: str, value) -> str:
    """A date filter naming days: "is on 24 Dec 2026", "is between 24 Dec 2026 and 31 Dec 2026,
    both included" (a bound may be an instant, which is itself included)."""
    if op == "between":
        return f"is between {_day(value[0])} and {_day(value[1])}, both included"
    return f"{DAY_OPS[op]} {_day(value)}"


def _day(value: str) -> str:
    if not DAY_TEXT.match(value):
        return value
    day = date.fromisoformat(value)
    return f"{day.day} {day:%b} {day.year}"
