"""Condition trees compiled to SQL once, then bound to `now` and to the contacts at each
evaluation.

Building a tree's SQL with the ORM (Q objects, subqueries, compilation) costs milliseconds of
Python per tree: more than running it for one contact, so the incremental update spent most of
its time there. The SQL depends only on the tree, the trees it refers to, the event type ids and
attribute types they name, the app, the database vendor and whether the evaluation is restricted
to some contacts (compiler.py leaves `now` and the contacts open as parameters). So it is compiled
once per such key, in a process-wide LRU cache: a changed tree, attribute type or event type is a
new key, never a stale entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import NotSupportedError, connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from common.db.dialect import dialect
from contacts.models import App, Contact
from events.attributes import format_instant
from segments.conditions.compiler import CompileContext, compile_node, segment_context
from segments.conditions.parameters import CONTACTS, ContactIds, Slot, id_rows_param

CACHE_SIZE = 2048  # compiled trees per process: an app has a few dozen segments


def segment_contacts(
    *,
    app: App,
    conditions: dict,
    now: datetime | None = None,
    contact_ids: Iterable[int] | None = None,
) -> QuerySet[Contact]:
    """The contacts of `app` that match `conditions` at `now` (a validated tree)."""
    contacts = Contact.objects.filter(app=app)
    if contact_ids is not None:
        contact_ids = list(contact_ids)
        contacts = contacts.filter(pk__in=contact_ids)
    context = segment_context(app, conditions)
    conditions = tree_conditions(
        {"tree": conditions}, context, app=app, now=now or timezone.now(), contact_ids=contact_ids
    )
    return contacts.filter(conditions["tree"])


def tree_conditions(
    trees: dict[str, dict],
    context: CompileContext,
    *,
    app: App,
    now: datetime,
    contact_ids: list[int] | None = None,
) -> dict[str, TreeCondition]:
    """Each of the named trees as a boolean expression over contacts, at `now`, restricted to
    `contact_ids` (None: all). `context` is segment_context's for a tree holding them all,
    loaded without contact ids."""
    # The SQL is written per database (predicates.py, parameters.py).
    shared = [dialect().vendor, contact_ids is not None, _context_key(context)]
    conditions = {}
    for name, tree in trees.items():
        compiled = _compiled(json.dumps([*shared, tree], sort_keys=True))
        conditions[name] = TreeCondition(compiled.sql, compiled.bind(app, now, contact_ids))
    return conditions


class TreeCondition(RawSQL):
    """Compiled, bound SQL that refers to the contacts table by its name."""

    def __init__(self, sql: str, params: list):
        super().__init__(sql, params, output_field=BooleanField())

    def relabeled_clone(self, change_map):
        # As a subquery of another query, the contacts table would be renamed (U0, ...) and the
        # tree's own subquery aliases could clash with it: refuse rather than select wrongly.
        if Contact._meta.db_table in change_map:
            raise NotSupportedError("a segment's condition cannot be used inside a subquery")
        return self


@dataclass(frozen=True)
class CompiledTree:
    sql: str
    params: tuple
    recipes: tuple  # CompileContext.recipes: the moments of the open parameters, from now

    def bind(self, app: App, now: datetime, contact_ids: list[int] | None) -> list:
        tz = ZoneInfo(app.timezone)
        moments = [recipe(now, tz) for recipe in self.recipes]
        adapt = connection.ops.adapt_datetimefield_value
        contacts = id_rows_param(contact_ids or [], connection)

        def value(param):
            if not isinstance(param, Slot):
                return param
            if param is CONTACTS:
                return contacts
            # (recipe, position), or (recipe, position, "text") for a bound compared with
            # the fixed-width UTC text of a date in params (CompileContext.day_bound_texts)
            recipe, position, *as_text = param.key
            moment = moments[recipe][position]
            return format_instant(moment) if as_text else adapt(moment)

        return [value(param) for param in self.params]


def _context_key(context: CompileContext) -> list:
    return [
        context.app_id,
        sorted(context.type_ids.items()),
        sorted([*key, type_] for key, type_ in context.attribute_types.items()),
        sorted([pk, tree] for pk, tree in context.segments.items()),
    ]


@lru_cache(maxsize=CACHE_SIZE)
def _compiled(key: str) -> CompiledTree:
    """Compile from the key alone (its JSON holds every input), so a cached entry is exactly
    what compiling now would give."""
    _vendor, restricted, (app_id, type_ids, attributes, segments), conditions = json.loads(key)
    context = CompileContext(
        app_id=app_id,
        contact_ids=ContactIds() if restricted else None,
        type_ids=dict(type_ids),
        attribute_types={(event, param): type_ for event, param, type_ in attributes},
        segments={pk: tree for pk, tree in segments},
    )
    query = Contact.objects.filter(compile_node(conditions, context)).query
    try:
        sql, params = query.get_compiler(connection=connection).compile(query.where)
    except EmptyResultSet:
        sql, params = "1 = 0", ()
    except FullResultSet:
        sql, params = "1 = 1", ()
    return CompiledTree(sql, tuple(params), tuple(context.recipes))
