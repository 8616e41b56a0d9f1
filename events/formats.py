"""Attribute formats (docs/events.md): how ingest reads a param's values, decided per attribute.

A param's format is its attribute's type, whether it holds an array of that type, and what its
name's prefix adds: an integer range (`byte_`, `short_`, `int_`, `long_`), or `ignore_` (stored as
sent, never typed). Ingest asks for a reader once per attribute and batch and then calls it for
every value: the prefix is looked up once, not per value (ingest is benchmarked).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from zoneinfo import ZoneInfo

from events.attributes import (
    ARRAY_TYPES,
    IGNORED_PREFIX,
    INTEGER_RANGES,
    NUMBER,
    coerce,
    infer_type,
    prefix_type,
)

Reader = Callable[[object], object]


class ElementError(ValueError):
    """An element of an array param that cannot be read as the attribute's type."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index


def is_ignored(name: str) -> bool:
    return name.startswith(IGNORED_PREFIX)


def kind(type_: str, is_array: bool) -> str:
    """How segments name an attribute's type: "string", or "string[]" for an array of strings."""
    return f"{type_}[]" if is_array else type_


def discovered_format(name: str, value) -> tuple[str, bool] | None:
    """The (type, is_array) a new attribute takes from its name's prefix, else from its first
    value (an unprefixed list stays json); None for a null, which tells neither yet."""
    if value is None:
        return None
    type_ = prefix_type(name)
    if type_ is None:
        return infer_type(value), False
    return type_, isinstance(value, list) and type_ in ARRAY_TYPES


def ignored_reader(value):
    """An ignore_ param's value, stored as sent."""
    return value


def value_reader(*, name: str, type_: str, is_array: bool, timezone: ZoneInfo = UTC) -> Reader:
    """The function reading a value of attribute `name` (ValueError, or ElementError naming the
    array element, with the reason). None stays None."""
    read = _scalar_reader(name, type_, timezone)
    return _array_reader(read, type_) if is_array else read


def _scalar_reader(name: str, type_: str, timezone: ZoneInfo) -> Reader:
    prefix = next((p for p in INTEGER_RANGES if name.startswith(p)), None)
    if type_ != NUMBER or prefix is None:
        return lambda value: coerce(value, type_, timezone=timezone)
    low, high = INTEGER_RANGES[prefix]

    def read_integer(value):
        number = coerce(value, NUMBER, integer=True)
        if number is not None and not low <= number <= high:
            raise ValueError(f"expected an integer from {low} to {high} ({prefix}), got {number}")
        return number

    return read_integer


def _array_reader(read: Reader, type_: str) -> Reader:
    def read_array(value):
        if value is None:
            return None
        if not isinstance(value, list):  # one value is an array of one: queries see one shape
            return [read(value)]
        items = []
        for index, item in enumerate(value):
            if item is None:
                raise ElementError(index, f"expected a {type_}, got null")
            try:
                items.append(read(item))
            except ValueError as exc:
                raise ElementError(index, str(exc)) from None
        return items

    return read_array
