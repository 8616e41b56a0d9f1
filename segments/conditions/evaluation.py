"""The transaction a tree is evaluated in over all the contacts (full refresh, preview)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from common.db.dialect import dialect


@contextmanager
def full_evaluation() -> Iterator[None]:
    """A transaction without JIT compilation on PostgreSQL.

    The planner turns JIT on by cost, and a tree over all contacts costs much (it reads a large
    part of the events), but that time goes to reading pages, not to evaluating expressions:
    EXPLAIN ANALYZE on the segments bench shows about 0.1 s of JIT compilation per query and no
    gain (docs/performance.md). SET LOCAL ends with the transaction."""
    with transaction.atomic():
        if jit_off := dialect().jit_off_sql:
            with connection.cursor() as cursor:
                cursor.execute(jit_off)
        yield
