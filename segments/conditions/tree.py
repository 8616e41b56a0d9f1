"""Walking condition trees: what a tree refers to, and the grammar's shared vocabularies."""

from __future__ import annotations

from collections.abc import Iterator

CONTACT_TEXT_FIELDS = ("email", "phone", "external_id", "country", "language", "timezone")
CONTACT_DATE_FIELDS = {"created_at": "created_at", "last_seen": "last_seen_at"}
EVENT_CONDITIONS = ("event", "first_event", "last_event", "streak")
DEFAULT_COUNT = {"op": ">=", "value": 1}
# An array param has the value (contains), lacks it, has any of a list, has none of a list.
ARRAY_OPS = ("contains", "not_contains", "contains_any", "not_contains_any", "exists", "not_exists")
ARRAY_ONLY_OPS = ("contains_any", "not_contains_any")


def nodes(tree: dict) -> Iterator[dict]:
    """Every node of a (validated) tree, depth first."""
    yield tree
    for child in tree.get("conditions", []) if tree.get("type") in ("and", "or") else []:
        yield from nodes(child)
    if tree.get("type") == "not":
        yield from nodes(tree["condition"])


def event_names(tree: dict) -> set[str]:
    return {node["event"] for node in nodes(tree) if node["type"] in EVENT_CONDITIONS}


def segment_ids(tree: dict) -> set[int]:
    return {node["segment"] for node in nodes(tree) if node["type"] == "segment"}


def uses_contact_fields(tree: dict) -> bool:
    return any(node["type"] in ("contact", "device") for node in nodes(tree))


def count_spec(node: dict) -> tuple[str, int]:
    count = node.get("count") or DEFAULT_COUNT
    return count["op"], count["value"]


def value_type(value) -> str:
    """The type of a filter on an unknown attribute or a custom field, from its value."""
    sample = value[0] if isinstance(value, list) and value else value
    if isinstance(sample, bool):
        return "boolean"
    if isinstance(sample, int | float):
        return "number"
    return "string"


def filter_type(declared: str | None, spec: dict) -> str:
    """The type a param filter compares as: the attribute's (an array's is "string[]",
    events.formats.kind), else "geoloc" for a distance operator, else the filter value's (an
    array of it for the operators only arrays have)."""
    if declared is not None:
        return declared
    if spec.get("op") in ("within", "not_within"):
        return "geoloc"
    if spec.get("op") in ARRAY_ONLY_OPS:  # an array of what the list holds: "string[]"
        return f"{value_type(spec.get('value'))}[]"
    return value_type(spec.get("value"))
