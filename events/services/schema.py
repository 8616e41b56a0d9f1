"""The event schema a batch needs: its event types by name, with their attributes.

Read afresh for every batch, in one query (binary results and `from_row`, no ORM:
the two ORM queries this replaces cost a quarter of a single event's CPU). Nothing is cached
between requests, on purpose: an attribute declared or corrected, or a type deleted, by any
process, is seen by the next batch that
starts after that change commits. A per-process cache with a short TTL was measured and
dropped: it let ingest apply an attribute's old type for up to its TTL after a change made
elsewhere, which the segment tests (rightly) refuse, and the fresh read costs one round trip
and ~0.1 ms of CPU.
"""

from __future__ import annotations

from common.db.dialect import dialect
from common.db.executor import Read, read_together
from common.db.rows import from_row, select_list
from contacts.models import App
from events.models import EventAttribute, EventType

Types = dict[str, EventType]
Attributes = dict[tuple[int, str], EventAttribute]


def schema_get(*, app: App, names: set[str]) -> tuple[Types, Attributes]:
    """The app's stored types among `names` (missing ones are not created) and the attributes of
    those types, keyed by (type id, name)."""
    if not names:
        return {}, {}
    return read_together(schema_read(app_id=app.id, names=names))[0]


def schema_read(*, app_id: int, names: set[str]) -> Read:
    """`schema_get` as a read that can share a round trip with others."""
    condition, params = dialect().any_of("t.name", "text", sorted(names))
    sql = (
        f"SELECT {select_list(EventType, 't')}, {select_list(EventAttribute, 'a')} "
        f"FROM {EventType._meta.db_table} t LEFT JOIN {EventAttribute._meta.db_table} a "
        f"ON a.event_type_id = t.id WHERE t.app_id = %s AND {condition}"
    )
    return Read(sql, [app_id, *params], _schema_from_rows)


def _schema_from_rows(rows: list[tuple]) -> tuple[Types, Attributes]:
    split = len(EventType._meta.concrete_fields)
    by_id: dict[int, EventType] = {}
    attributes: Attributes = {}
    for row in rows:
        type_id = row[0]
        if type_id not in by_id:
            by_id[type_id] = from_row(EventType, row[:split])
        if row[split] is not None:  # the LEFT JOIN found an attribute
            attribute = from_row(EventAttribute, row[split:])
            attributes[(type_id, attribute.name)] = attribute
    return {t.name: t for t in by_id.values()}, attributes
