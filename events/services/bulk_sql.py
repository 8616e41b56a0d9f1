"""Set-based SQL for the ingest hot path: one statement per batch, whatever its size.

On PostgreSQL each column travels as one binary array parameter (`unnest(%b::bigint[], ...)`,
bound server-side), so the statement text stays small and constant: psycopg's client-side
conversion of a 9,000-placeholder VALUES list costs ~15 ms, text arrays need escaping per element,
and Django's bulk_update builds a CASE per row and field. SQLite (the development default) gets
an equivalent VALUES list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection

from contacts.models import Contact
from events.models import ContactEventStats, ContactParamStats, Event, EventType, TriggerMark

Column = tuple[str, str]  # (name, PostgreSQL type)


def _is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def _greatest() -> str:
    return "GREATEST" if _is_postgresql() else "MAX"


def _least() -> str:
    return "LEAST" if _is_postgresql() else "MIN"


def _true() -> str:
    return "true" if _is_postgresql() else "1"


def _adapt_for_sqlite(value, pg_type: str):
    if pg_type == "timestamptz" and value is not None:
        return connection.ops.adapt_datetimefield_value(value)
    return value


def values_source(columns: Sequence[Column], rows: Sequence[tuple]) -> tuple[str, list]:
    """A FROM-clause source named `v` with the given columns, and its parameters."""
    names = ", ".join(name for name, _ in columns)
    if _is_postgresql() and len(rows) == 1:
        # One row (a single tracked event): scalars, which psycopg dumps in C; it dumps an array
        # parameter in Python, ~10 us each before its first element (~30 per single event).
        placeholders = ", ".join(f"%b::{pg_type}" for _, pg_type in columns)
        return f"(VALUES ({placeholders})) AS v({names})", list(rows[0])
    if _is_postgresql():  # psycopg adapts every column as it is, once per array
        arrays = [list(values) for values in zip(*rows, strict=True)]
        placeholders = ", ".join(f"%b::{pg_type}[]" for _, pg_type in columns)
        return f"unnest({placeholders}) AS v({names})", arrays
    row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
    selected = ", ".join(f"column{i + 1} AS {name}" for i, (name, _) in enumerate(columns))
    params = [
        _adapt_for_sqlite(value, t)
        for row in rows
        for value, (_, t) in zip(row, columns, strict=True)
    ]
    return f"(SELECT {selected} FROM (VALUES {', '.join([row_sql] * len(rows))})) AS v", params


def _execute(sql: str, params: list, *, fetch: bool = False) -> list[tuple]:
    """Run on the current connection and transaction; server-side binding on PostgreSQL, with
    psycopg's errors turned into Django's (the retry in ingest tells them apart)."""
    if not _is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else []
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch else []


@contextmanager
def pipeline():
    """On PostgreSQL, statements run in this block travel together: the server is waited for
    only when a result is fetched (psycopg's pipeline mode), so writes that return nothing,
    followed by one that returns rows, cost one round trip instead of one each."""
    if not _is_postgresql():
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


@dataclass(frozen=True)
class Read:
    """A PostgreSQL query and what its rows (binary) become; see `read_together`."""

    sql: str
    params: list
    result: Callable[[list[tuple]], Any]


def read_together(*reads: Read) -> list:
    """Each read's result, all in one round trip on PostgreSQL (pipeline mode: the queries are
    sent at once and the server is waited for once). A transaction's BEGIN still goes first on
    its own: psycopg waits for it even in pipeline mode."""
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        cursors = [psycopg.Cursor(connection.connection) for _ in reads]
        for cursor, read in zip(cursors, reads, strict=True):
            cursor.execute(read.sql, read.params, binary=True)
        rows = [cursor.fetchall() for cursor in cursors]
    return [read.result(found) for read, found in zip(reads, rows, strict=True)]


def _json(expression: str) -> str:
    return f"{expression}::jsonb" if _is_postgresql() else expression


def stored_fingerprints(app_id: int, fingerprints: list[str]) -> dict[str, tuple[int, str | None]]:
    """fingerprint -> (contact id, contact's anonymous id) for those already stored."""
    if not fingerprints:
        return {}
    if _is_postgresql():
        return read_together(stored_fingerprints_read(app_id, fingerprints))[0]
    events, contacts = Event._meta.db_table, Contact._meta.db_table
    placeholders = ", ".join(["%s"] * len(fingerprints))
    sql = (
        f"SELECT e.fingerprint, e.contact_id, c.anonymous_id FROM {events} e "
        f"JOIN {contacts} c ON c.id = e.contact_id "
        f"WHERE e.app_id = %s AND e.fingerprint IN ({placeholders})"
    )
    return _by_fingerprint(_execute(sql, [app_id, *fingerprints], fetch=True))


def stored_fingerprints_read(app_id: int, fingerprints: list[str]) -> Read:
    """`stored_fingerprints` on PostgreSQL: a join on unnest(), one index probe per fingerprint,
    whatever the table's size (`fingerprint = ANY(array)` made the planner scan the table once
    it held 100,000s of rows)."""
    events, contacts = Event._meta.db_table, Contact._meta.db_table
    sql = (
        f"SELECT e.fingerprint, e.contact_id, c.anonymous_id "
        f"FROM unnest(%b::text[]) AS f(fingerprint) "
        f"JOIN {events} e ON e.app_id = %s AND e.fingerprint = f.fingerprint "
        f"JOIN {contacts} c ON c.id = e.contact_id"
    )
    return Read(sql, [fingerprints, app_id], _by_fingerprint)


def _by_fingerprint(rows: list[tuple]) -> dict[str, tuple[int, str | None]]:
    return {
        fingerprint: (contact_id, anonymous_id) for fingerprint, contact_id, anonymous_id in rows
    }


EVENT_COLUMNS: list[Column] = [
    ("app_id", "bigint"),
    ("contact_id", "bigint"),
    ("event_type_id", "bigint"),
    ("occurred_at", "timestamptz"),
    ("received_at", "timestamptz"),
    ("params", "text"),
    ("context", "text"),
    ("session_id", "text"),
    ("fingerprint", "text"),
]


def insert_events(rows: Sequence[tuple], *, app_id: int, marked_at) -> list[tuple[int, str, bool]]:
    """Insert event rows, skipping stored fingerprints, and leave a trigger mark for each new
    event whose type has `triggers_campaigns` (read in this statement, so a flag committed
    before it is always seen); return (id, fingerprint, marked) of the new rows."""
    table = Event._meta.db_table
    source, params = values_source(EVENT_COLUMNS, rows)
    columns = [name for name, _ in EVENT_COLUMNS]
    selected = [_json(f"v.{c}") if c in ("params", "context") else f"v.{c}" for c in columns]
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
    insert = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selected)} FROM {source} "
        f"WHERE true ON CONFLICT (app_id, fingerprint) DO NOTHING "
    )
    if not _is_postgresql():
        return _insert_then_mark(insert, params, app_id=app_id, marked_at=marked_at)
    types, marks = EventType._meta.db_table, TriggerMark._meta.db_table
    sql = (
        f"WITH new AS ({insert} RETURNING id, fingerprint, contact_id, event_type_id), "
        f"marked AS (INSERT INTO {marks} (app_id, event_id, contact_id, event_type_id, "
        f"created_at) SELECT %s, new.id, new.contact_id, new.event_type_id, %s FROM new "
        f"JOIN {types} t ON t.id = new.event_type_id WHERE t.triggers_campaigns "
        f"RETURNING event_id) "
        f"SELECT new.id, new.fingerprint, marked.event_id IS NOT NULL "
        f"FROM new LEFT JOIN marked ON marked.event_id = new.id"
    )
    return _execute(sql, [*params, app_id, marked_at], fetch=True)


def _insert_then_mark(insert: str, params: list, *, app_id: int, marked_at):
    """SQLite has no INSERT in a WITH clause: the same in three statements."""
    returning = "RETURNING id, fingerprint, contact_id, event_type_id"
    new = _execute(insert + returning, params, fetch=True)
    type_ids = sorted({type_id for *_, type_id in new})
    triggering = set()
    if type_ids:
        placeholders = ", ".join(["%s"] * len(type_ids))
        sql = (
            f"SELECT id FROM {EventType._meta.db_table} "
            f"WHERE triggers_campaigns AND id IN ({placeholders})"
        )
        triggering = {type_id for (type_id,) in _execute(sql, type_ids, fetch=True)}
    marks = [
        (app_id, event_id, contact_id, type_id, marked_at)
        for event_id, _, contact_id, type_id in new
        if type_id in triggering
    ]
    if marks:
        insert_trigger_marks(marks)
    return [
        (event_id, fingerprint, type_id in triggering) for event_id, fingerprint, _, type_id in new
    ]


STATS_COLUMNS: list[Column] = [
    ("contact_id", "bigint"),
    ("event_type_id", "bigint"),
    ("first_at", "timestamptz"),
    ("last_at", "timestamptz"),
    ("count", "integer"),
]


def upsert_stats(rows: Sequence[tuple]) -> None:
    """Add (contact, type, first, last, count) rows to the per-contact stats."""
    table = ContactEventStats._meta.db_table
    source, params = values_source(STATS_COLUMNS, rows)
    sql = (
        f"INSERT INTO {table} (contact_id, event_type_id, first_at, last_at, count, "
        f"needs_evaluation) SELECT v.contact_id, v.event_type_id, v.first_at, v.last_at, "
        f"v.count, {_true()} FROM {source} "
        f"WHERE true ON CONFLICT (contact_id, event_type_id) DO UPDATE SET "
        f"count = {table}.count + excluded.count, needs_evaluation = {_true()}, "
        f"first_at = {_least()}({table}.first_at, excluded.first_at), "
        f"last_at = {_greatest()}({table}.last_at, excluded.last_at)"
    )
    _execute(sql, params)


PARAM_STATS_COLUMNS: list[Column] = [
    ("contact_id", "bigint"),
    ("event_type_id", "bigint"),
    ("param", "text"),
    ("count", "integer"),
    ("total", "double precision"),
    ("minimum", "double precision"),
    ("maximum", "double precision"),
]


def upsert_param_stats(rows: Sequence[tuple]) -> None:
    """Add (contact, type, param, count, sum, min, max) rows to the per-contact param stats."""
    table = ContactParamStats._meta.db_table
    source, params = values_source(PARAM_STATS_COLUMNS, rows)
    columns = ", ".join(name for name, _ in PARAM_STATS_COLUMNS)
    sql = (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT {', '.join(f'v.{name}' for name, _ in PARAM_STATS_COLUMNS)} FROM {source} "
        f"WHERE true ON CONFLICT (event_type_id, param, contact_id) DO UPDATE SET "
        f"count = {table}.count + excluded.count, total = {table}.total + excluded.total, "
        f"minimum = {_least()}({table}.minimum, excluded.minimum), "
        f"maximum = {_greatest()}({table}.maximum, excluded.maximum)"
    )
    _execute(sql, params)


CONTACT_COLUMNS: list[Column] = [
    ("id", "bigint"),
    ("external_id", "text"),
    ("anonymous_id", "text"),
    ("first_seen_at", "timestamptz"),
    ("last_seen_at", "timestamptz"),
    ("timezone", "text"),
    ("language", "text"),
    ("country", "text"),
]


def update_contacts(rows: Sequence[tuple]) -> None:
    """Write identity and last-seen fields; seen times only ever widen (concurrent batches)."""
    table = Contact._meta.db_table
    source, params = values_source(CONTACT_COLUMNS, rows)
    first = f"COALESCE({table}.first_seen_at, v.first_seen_at)"
    last = f"COALESCE({table}.last_seen_at, v.last_seen_at)"
    sql = (
        f"UPDATE {table} SET external_id = v.external_id, anonymous_id = v.anonymous_id, "
        f"first_seen_at = {_least()}({first}, v.first_seen_at), "
        f"last_seen_at = {_greatest()}({last}, v.last_seen_at), "
        f"timezone = v.timezone, language = v.language, country = v.country "
        f"FROM {source} WHERE {table}.id = v.id"
    )
    _execute(sql, params)


MARK_COLUMNS: list[Column] = [
    ("app_id", "bigint"),
    ("event_id", "bigint"),
    ("contact_id", "bigint"),
    ("event_type_id", "bigint"),
    ("created_at", "timestamptz"),
]


def insert_trigger_marks(rows: Sequence[tuple]) -> None:
    """Leave (app, event, contact, type, now) marks for the campaigns matcher."""
    source, params = values_source(MARK_COLUMNS, rows)
    columns = ", ".join(name for name, _ in MARK_COLUMNS)
    sql = (
        f"INSERT INTO {TriggerMark._meta.db_table} ({columns}) "
        f"SELECT {', '.join(f'v.{name}' for name, _ in MARK_COLUMNS)} FROM {source}"
    )
    _execute(sql, params)
