"""In-transaction subscribers to stored events.

`events_ingested` (events/signals.py) is sent after commit: fine for a nudge, too late for a
durable mark. A later stage that must write something in the very transaction that stores the
events (campaigns' trigger marks) subscribes here, in its AppConfig.ready; events never names it.

Every path that inserts events (ingest, the built-in events) calls `events_stored` in its
transaction, inside its `pipeline()` block, once the events are inserted: a subscriber's
set-based write that returns nothing then travels with the block's closing sync on PostgreSQL
instead of costing a round trip of its own. A subscriber that raises rolls the events back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple


class StoredEvent(NamedTuple):
    id: int
    contact_id: int
    event_type_id: int


# (app id, the events this transaction just inserted, the time they were received)
EventsStoredHook = Callable[[int, Sequence[StoredEvent], datetime], None]

_hooks: dict[str, EventsStoredHook] = {}


def on_events_stored(hook: EventsStoredHook, *, uid: str) -> None:
    """Subscribe `hook`; `uid` makes a second registration (a reloaded AppConfig) a no-op."""
    _hooks.setdefault(uid, hook)


def events_stored(app_id: int, events: Sequence[StoredEvent], now: datetime) -> None:
    """Run every subscriber on the events just inserted (none: nothing to tell)."""
    if not events:
        return
    for hook in _hooks.values():
        hook(app_id, events, now)
