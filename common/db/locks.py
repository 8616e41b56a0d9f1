"""Transaction-scoped locks on arbitrary keys, for writers that would otherwise collide."""

from __future__ import annotations

from collections.abc import Sequence

from common.db.dialect import dialect
from common.db.executor import fetch


def lock_keys(keys: Sequence[str], *, seed: int) -> bool:
    """Lock the keys (hashed with `seed`, e.g. an app id) until the transaction ends, waiting for
    any transaction holding one. Taken in hash order, so two callers never hold each other's.
    Returns whether locks were taken: on SQLite none are needed (its IMMEDIATE transactions hold
    the database's one write lock from BEGIN, so no two writers run at once)."""
    if not dialect().advisory_locks:
        return False
    # The subquery's sort runs before the locks (OFFSET 0 keeps it from being flattened).
    sql = (
        "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended(t, %s) AS k "
        "FROM unnest(%s::text[]) AS t ORDER BY k OFFSET 0) AS keys"
    )
    fetch(sql, [seed, list(keys)])
    return True
