"""Every raw statement runs here, through Django's connection.

A statement gets what the ORM's get: the per-request health check and reconnect, Django's error
wrapping (so a failed connection is closed at the end of the request instead of being handed to
the next one), `execute_wrappers`, and `connection.queries` / CaptureQueriesContext. On
PostgreSQL the cursor is psycopg's server-side-binding `Cursor` (Django's own is a client-side
`ClientCursor`): binary array parameters (`%b`), statements prepared after
DATABASE_PREPARE_THRESHOLD runs, and binary results (C loaders for numbers and timestamps). It
is wrapped exactly as Django wraps the cursors it makes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg.pq import Format

from common.db.dialect import dialect


@contextmanager
def cursor(*, binary: bool = False) -> Iterator:
    """A cursor on the current connection and transaction; `binary`: results in binary."""
    with _open_cursor(binary=binary) as wrapped:
        yield wrapped


def _open_cursor(*, binary: bool = False):
    # The connection itself, looked up once: each attribute read through django.db.connection
    # (a proxy to a thread-local) cost ~2 us, and a single event opens a dozen cursors.
    db = connections[DEFAULT_DB_ALIAS]
    if not dialect().server_side_binding:
        return db.cursor()
    # What BaseDatabaseWrapper._cursor() does, with psycopg's own cursor class.
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = psycopg.Cursor(db.connection)
    if binary:
        raw.format = Format.BINARY
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


def execute(sql: str, params: list) -> None:
    with cursor() as c:
        c.execute(sql, params)


def execute_counted(sql: str, params: list) -> Callable[[], int]:
    """Run a write and return a function telling how many rows it changed. In a `pipeline()`
    block PostgreSQL's answer arrives only with the block's closing sync, which is what lets
    the write cost no round trip of its own: call the function after the block (on commit)."""
    c = _open_cursor()
    c.execute(sql, params)

    @functools.cache
    def rowcount() -> int:
        with c:  # the cursor stays open until then: the pipeline hands it its result
            return c.rowcount

    return rowcount


def fetch(sql: str, params: list, *, binary: bool = False) -> list[tuple]:
    with cursor(binary=binary) as c:
        c.execute(sql, params)
        return c.fetchall()


def pipeline():
    """Statements run in this block travel together on PostgreSQL: the server is waited for
    only when a result is fetched (psycopg's pipeline mode), so writes that return nothing,
    followed by one that returns rows, cost one round trip instead of one each."""
    if not dialect().server_side_binding:
        return nullcontext()
    db = connections[DEFAULT_DB_ALIAS]
    db.close_if_health_check_failed()
    db.ensure_connection()
    return _wrapped_pipeline(db)


@contextmanager
def _wrapped_pipeline(db):
    with db.wrap_database_errors, db.connection.pipeline():
        yield


@dataclass(frozen=True)
class Read:
    """A query (binary results on PostgreSQL) and what its rows become; see `read_together`."""

    sql: str
    params: list
    result: Callable[[list[tuple]], Any]


def read_together(*reads: Read) -> list:
    """Each read's result; on PostgreSQL all in one round trip (pipeline mode: the queries are
    sent at once and the server is waited for once). A transaction's BEGIN still goes first on
    its own: psycopg waits for it even in pipeline mode."""
    with pipeline(), _cursors(len(reads)) as cursors:
        for c, read in zip(cursors, reads, strict=True):
            c.execute(read.sql, read.params)
        rows = [c.fetchall() for c in cursors]
    return [read.result(found) for read, found in zip(reads, rows, strict=True)]


@contextmanager
def _cursors(count: int):
    with ExitStack() as stack:
        yield [stack.enter_context(cursor(binary=True)) for _ in range(count)]
