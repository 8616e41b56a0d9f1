"""The per-contact stats of newly stored events: ContactEventStats (first, last, count) and
ContactParamStats (count, sum, min, max of each number param), one upsert per table.

Ingest and the built-in events both collect their new events here, so the two tables can never
disagree about which events they count.

A sum saturates at +-MAX_TOTAL (the largest double) instead of overflowing: PostgreSQL raises on
a double precision overflow, which made every later event of that contact and event type fail
(1.7e308 sent twice), and an infinite sum can't be written as JSON. A saturated sum stays put
until values of the other sign bring it back; count, min and max stay exact. The upsert
(bulk_sql.upsert_param_stats) and a merge of contacts (merge.py) saturate the same way."""

from __future__ import annotations

import math
import sys
from datetime import datetime

from events.attributes import IGNORED_PREFIX
from events.services import bulk_sql

MAX_TOTAL = sys.float_info.max


class EventStats:
    def __init__(self) -> None:
        self._events: dict[tuple[int, int], list] = {}  # (contact, type) -> [first, last, count]
        # (contact, type, param) -> [count, total, minimum, maximum]
        self._numbers: dict[tuple[int, int, str], list] = {}

    def add(self, contact_id: int, type_id: int, occurred_at: datetime, params: dict) -> None:
        entry = self._events.get(key := (contact_id, type_id))
        if entry is None:
            self._events[key] = [occurred_at, occurred_at, 1]
        else:
            if occurred_at < entry[0]:
                entry[0] = occurred_at
            elif occurred_at > entry[1]:
                entry[1] = occurred_at
            entry[2] += 1
        for name, value in params.items():
            number = _number(value)
            if number is None or name.startswith(IGNORED_PREFIX):
                continue
            numbers = self._numbers.get(key := (contact_id, type_id, name))
            if numbers is None:
                self._numbers[key] = [1, number, number, number]
                continue
            numbers[0] += 1
            numbers[1] += number
            if number < numbers[2]:
                numbers[2] = number
            elif number > numbers[3]:
                numbers[3] = number

    def write(self) -> None:
        """Add the collected stats to the stored ones (rows in key order: concurrent batches
        lock shared rows in the same order instead of deadlocking)."""
        if self._events:
            bulk_sql.upsert_stats([(*key, *entry) for key, entry in sorted(self._events.items())])
        if self._numbers:
            bulk_sql.upsert_param_stats(
                [
                    (*key, count, saturated(total), low, high)
                    for key, (count, total, low, high) in sorted(self._numbers.items())
                ]
            )


def saturated(total: float) -> float:
    """A sum of finite numbers (at worst infinite, never NaN), held within +-MAX_TOTAL."""
    return min(max(total, -MAX_TOTAL), MAX_TOTAL)


def _number(value) -> float | None:
    """A JSON number as a float (what the database's aggregates read); None for anything else,
    booleans included, and for numbers beyond a double's range."""
    if type(value) is float:
        return value if math.isfinite(value) else None
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            return None
    return None
