"""Parameters a compiled tree leaves open: bound at each evaluation (see compiled.py).

The SQL of a tree does not depend on `now` nor on which contacts are evaluated, only its
parameters do. The compiler writes these as expressions that compile to a placeholder carrying a
`Slot` instead of a value; binding replaces each slot with the value for this evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import BigIntegerField, DateTimeField, Expression

from common.db.dialect import dialect_for


@dataclass(frozen=True)
class Slot:
    """A parameter of compiled SQL, open until bound: CONTACTS, or a moment (recipe, position),
    or a moment as stored text (recipe, position, "text")."""

    key: object


CONTACTS = Slot("contacts")


class Instant(Expression):
    """The moment at `position` of what moment recipe `recipe` computes from `now` (a bound of a
    period, see CompileContext.moments)."""

    output_field = DateTimeField()

    def __init__(self, recipe: int, position: int):
        super().__init__()
        self.recipe, self.position = recipe, position

    def as_sql(self, compiler, connection):
        return "%s", [Slot((self.recipe, self.position))]


class ContactIds(Expression):
    """The contacts an evaluation is restricted to, as the right side of `contact_id IN (...)`:
    one parameter, whatever their number, so the SQL is the same for every evaluation."""

    output_field = BigIntegerField()

    def as_sql(self, compiler, connection):
        return id_rows_sql(connection), [CONTACTS]


def id_rows_sql(connection) -> str:
    """A SELECT of one column `id`: the ids in one parameter (see id_rows_param)."""
    return dialect_for(connection).id_rows_sql


def id_rows_param(ids: Iterable[int], connection) -> list[int] | str:
    """Ids as the one parameter of id_rows_sql: an array on PostgreSQL, JSON on SQLite."""
    return dialect_for(connection).id_list(ids)
