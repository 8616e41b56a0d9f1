"""What differs between PostgreSQL (production) and SQLite (development, `make test`) in Beacon's
raw SQL, in one object per database, so that each operation is one function running the same
code on both: `dialect().values_source(...)`, `dialect().greatest`, ...

This module holds the data layer's one vendor check (`dialect_for()`; `dialect()` is the
default database's).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections

Column = tuple[str, str]  # (name, PostgreSQL type)


class PostgreSQL:
    vendor = "postgresql"
    server_side_binding = True  # psycopg's Cursor: %b parameters, binary results, pipelines
    inserts_in_with = True  # INSERT ... RETURNING inside a WITH clause
    advisory_locks = True
    greatest, least, true = "GREATEST", "LEAST", "true"
    jit_off_sql = "SET LOCAL jit = off"  # until the transaction ends
    # A statement grouping ~100,000 rows (an insight split by a param) hashes and sorts them in
    # memory rather than in temporary files (stock work_mem is 4 MB): bench/insights.py, 1.23 s
    # -> 0.84 s.
    wide_grouping_sql = "SET LOCAL work_mem = '64MB'"
    # A SELECT of one column `id` from one parameter, id_list(ids): the statement text stays
    # the same whatever the number of ids.
    id_rows_sql = "SELECT unnest(%s::bigint[]) AS id"

    def id_list(self, ids: Iterable[int]) -> list[int]:
        return list(ids)

    def timestamp(self, value: datetime) -> datetime:
        """A timestamptz parameter (psycopg adapts an aware datetime itself)."""
        return value

    def json_array_contains(self, column: str, value: object) -> tuple[str, list]:
        """The JSON array in `column` has `value` as an element."""
        return f"{column} @> %s::jsonb", [json.dumps([value])]

    def json(self, expression: str) -> str:
        return f"{expression}::jsonb"

    def json_text(self, expression: str) -> str:
        """A JSON column read as text (from_row parses it; psycopg would parse it in Python)."""
        return f"{expression}::text"

    def values_source(self, columns: Sequence[Column], rows: Sequence[tuple]) -> tuple[str, list]:
        """A FROM-clause source named `v` with the given columns, and its parameters: one binary
        array parameter per column (`unnest`), so the statement text stays small and constant
        whatever the row count (psycopg's conversion of a 9,000-placeholder VALUES list cost
        ~15 ms)."""
        names = ", ".join(name for name, _ in columns)
        if len(rows) == 1:
            # One row (a single tracked event): scalars, which psycopg dumps in C; it dumps an
            # array parameter in Python, ~10 us each before its first element.
            placeholders = ", ".join(f"%b::{pg_type}" for _, pg_type in columns)
            return f"(VALUES ({placeholders})) AS v({names})", list(rows[0])
        arrays = [list(values) for values in zip(*rows, strict=True)]
        placeholders = ", ".join(f"%b::{pg_type}[]" for _, pg_type in columns)
        return f"unnest({placeholders}) AS v({names})", arrays

    def any_of(self, expression: str, pg_type: str, values: Sequence) -> tuple[str, list]:
        """`expression` is one of `values`: one array parameter, whatever their number."""
        return f"{expression} = ANY(%s::{pg_type}[])", [list(values)]


class SQLite:
    vendor = "sqlite"
    server_side_binding = False
    inserts_in_with = False
    advisory_locks = False  # none needed: one writer at a time (IMMEDIATE transactions)
    greatest, least, true = "MAX", "MIN", "1"
    jit_off_sql = None  # no JIT compiler to turn off
    wide_grouping_sql = None  # no per-statement memory limit to raise
    id_rows_sql = "SELECT value AS id FROM json_each(%s)"

    def id_list(self, ids: Iterable[int]) -> str:
        return json.dumps(list(ids))  # no arrays: a JSON array, read by json_each

    def timestamp(self, value: datetime) -> str:
        """A timestamptz parameter: the text form Django's SQLite backend stores."""
        return _adapt(value, "timestamptz")

    def json_array_contains(self, column: str, value: object) -> tuple[str, list]:
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = %s)", [value]

    def json(self, expression: str) -> str:
        return expression

    def json_text(self, expression: str) -> str:
        return expression  # stored as text

    def values_source(self, columns: Sequence[Column], rows: Sequence[tuple]) -> tuple[str, list]:
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        selected = ", ".join(f"column{i + 1} AS {name}" for i, (name, _) in enumerate(columns))
        params = [
            _adapt(value, pg_type)
            for row in rows
            for value, (_, pg_type) in zip(row, columns, strict=True)
        ]
        values = ", ".join([row_sql] * len(rows))
        return f"(SELECT {selected} FROM (VALUES {values})) AS v", params

    def any_of(self, expression: str, pg_type: str, values: Sequence) -> tuple[str, list]:
        placeholders = ", ".join(["%s"] * len(values))
        return f"{expression} IN ({placeholders})", [_adapt(v, pg_type) for v in values]


def _adapt(value, pg_type: str):
    if pg_type == "timestamptz" and value is not None:
        return connection.ops.adapt_datetimefield_value(value)
    return value


_DIALECTS = {"postgresql": PostgreSQL(), "sqlite": SQLite()}


def dialect_for(db_connection) -> PostgreSQL | SQLite:
    """The dialect of `db_connection` (an ORM compiler's connection, say)."""
    return _DIALECTS[db_connection.vendor]


def dialect() -> PostgreSQL | SQLite:
    """The dialect of the default database (its engine is fixed for the life of the process)."""
    return _default_dialect()


@functools.cache
def _default_dialect() -> PostgreSQL | SQLite:
    # Asked a few dozen times per tracked event: reading `vendor` through django.db.connection
    # (a proxy to a thread-local) each time cost more than the rest of this module.
    return dialect_for(connections[DEFAULT_DB_ALIAS])
