"""Set-based SQL for the ingest hot path: one statement per batch, whatever its size, the same
code on PostgreSQL and SQLite (common/db/dialect.py says how each database spells it)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from common.db.dialect import Column, dialect
from common.db.executor import Read, execute, fetch, read_together
from contacts.models import Contact
from events.models import ContactEventStats, ContactParamStats, Event


def stored_fingerprints(app_id: int, fingerprints: list[str]) -> dict[str, tuple[int, str | None]]:
    """fingerprint -> (contact id, contact's anonymous id) for those already stored."""
    if not fingerprints:
        return {}
    return read_together(stored_fingerprints_read(app_id, fingerprints))[0]


def stored_fingerprints_read(app_id: int, fingerprints: list[str]) -> Read:
    """`stored_fingerprints` as a read that can share a round trip with others: a join on the
    fingerprints, one index probe each, whatever the table's size (on PostgreSQL,
    `fingerprint = ANY(array)` made the planner scan the table once it held 100,000s of rows)."""
    events, contacts = Event._meta.db_table, Contact._meta.db_table
    source, params = dialect().values_source(
        [("fingerprint", "text")], [(f,) for f in fingerprints]
    )
    sql = (
        f"SELECT e.fingerprint, e.contact_id, c.anonymous_id FROM {source} "
        f"JOIN {events} e ON e.app_id = %s AND e.fingerprint = v.fingerprint "
        f"JOIN {contacts} c ON c.id = e.contact_id"
    )
    return Read(sql, [*params, app_id], _by_fingerprint)


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


def insert_events(rows: Sequence[tuple]) -> list[tuple[int, str, int, int]]:
    """Insert event rows, skipping stored fingerprints; return (id, fingerprint, contact id,
    type id) of the new rows (what `events.hooks.events_stored` is told)."""
    table = Event._meta.db_table
    source, params = dialect().values_source(EVENT_COLUMNS, rows)
    columns = [name for name, _ in EVENT_COLUMNS]
    selected = [
        dialect().json(f"v.{c}") if c in ("params", "context") else f"v.{c}" for c in columns
    ]
    # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selected)} FROM {source} "
        f"WHERE true ON CONFLICT (app_id, fingerprint) DO NOTHING "
        f"RETURNING id, fingerprint, contact_id, event_type_id"
    )
    return fetch(sql, params)


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
    source, params = dialect().values_source(STATS_COLUMNS, rows)
    sql = (
        f"INSERT INTO {table} (contact_id, event_type_id, first_at, last_at, count) "
        f"SELECT v.contact_id, v.event_type_id, v.first_at, v.last_at, v.count FROM {source} "
        f"WHERE true ON CONFLICT (contact_id, event_type_id) DO UPDATE SET "
        f"count = {table}.count + excluded.count, "
        f"first_at = {dialect().least}({table}.first_at, excluded.first_at), "
        f"last_at = {dialect().greatest}({table}.last_at, excluded.last_at)"
    )
    execute(sql, params)


PARAM_STATS_COLUMNS: list[Column] = [
    ("contact_id", "bigint"),
    ("event_type_id", "bigint"),
    ("param", "text"),
    ("count", "integer"),
    ("total", "double precision"),
    ("minimum", "double precision"),
    ("maximum", "double precision"),
]


# The largest double, as SQL text both databases read back exactly (repr round-trips).
_MAX_TOTAL = repr(sys.float_info.max)


def upsert_param_stats(rows: Sequence[tuple]) -> None:
    """Add (contact, type, param, count, sum, min, max) rows to the per-contact param stats.

    The sum saturates at +-the largest double (events/services/stats.py says why): the CASE
    compares before it adds, since PostgreSQL raises on an overflowing `+` (SQLite would give
    Infinity), and the comparisons themselves cannot overflow."""
    table = ContactParamStats._meta.db_table
    source, params = dialect().values_source(PARAM_STATS_COLUMNS, rows)
    columns = ", ".join(name for name, _ in PARAM_STATS_COLUMNS)
    old, new, top = f"{table}.total", "excluded.total", _MAX_TOTAL
    total = (
        f"CASE WHEN {new} > 0 AND {old} > {top} - {new} THEN {top} "
        f"WHEN {new} < 0 AND {old} < -{top} - {new} THEN -{top} ELSE {old} + {new} END"
    )
    sql = (
        f"INSERT INTO {table} ({columns}) "
        f"SELECT {', '.join(f'v.{name}' for name, _ in PARAM_STATS_COLUMNS)} FROM {source} "
        f"WHERE true ON CONFLICT (event_type_id, param, contact_id) DO UPDATE SET "
        f"count = {table}.count + excluded.count, total = {total}, "
        f"minimum = {dialect().least}({table}.minimum, excluded.minimum), "
        f"maximum = {dialect().greatest}({table}.maximum, excluded.maximum)"
    )
    execute(sql, params)


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
    source, params = dialect().values_source(CONTACT_COLUMNS, rows)
    first = f"COALESCE({table}.first_seen_at, v.first_seen_at)"
    last = f"COALESCE({table}.last_seen_at, v.last_seen_at)"
    sql = (
        f"UPDATE {table} SET external_id = v.external_id, anonymous_id = v.anonymous_id, "
        f"first_seen_at = {dialect().least}({first}, v.first_seen_at), "
        f"last_seen_at = {dialect().greatest}({last}, v.last_seen_at), "
        f"timezone = v.timezone, language = v.language, country = v.country "
        f"FROM {source} WHERE {table}.id = v.id"
    )
    execute(sql, params)
