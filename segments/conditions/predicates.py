"""SQL for one filter ("amount > 100", "email contains x") as a Django expression that is always
TRUE or FALSE, never NULL, so that NOT of it is exact (docs/segments.md: negative operators are
NOT of their positive twin; positive operators are false on a missing value).

Params are read from JSON with a type guard: a value of another JSON type reads as missing, so a
corrected attribute type never makes a query fail on old rows. The SQL is written per database
(PostgreSQL jsonb, SQLite JSON1; Django calls the as_postgresql or as_sqlite method) because
Django's JSON lookups cast without such a guard.
"""

from __future__ import annotations

import re

from django.db.models import BooleanField, F, FloatField, Func, TextField, Value
from django.db.models.functions import NullIf

NEGATIVE = {"!=": "=", "not_contains": "contains", "not_in": "in", "not_exists": "exists"}
_TOKENS = re.compile(r"(\{v\}|%s)")
_COMPARISON = {"=": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}

_PG_TYPES = {"number": "number", "string": "string", "date": "string", "boolean": "boolean"}
# Dates are fixed-width UTC text: byte order is time order, whatever the database's collation.
_PG_CASTS = {
    "number": "::double precision",
    "boolean": "::boolean",
    "string": "",
    "date": ' COLLATE "C"',
}
_SQLITE_TYPES = {
    "number": "('integer', 'real')",
    "string": "('text')",
    "date": "('text')",
    "boolean": "('true', 'false')",
}


class JsonValue(Func):
    """`column[key]` read as `json_type`, or NULL when missing or of another JSON type.
    With json_type "any" it reads only presence (non-null), for exists / not_exists."""

    def __init__(self, column: str, key: str, json_type: str):
        super().__init__(F(column))
        self.key, self.json_type = key, json_type
        fields = {"number": FloatField(), "boolean": BooleanField()}
        self.output_field = fields.get(json_type, TextField())

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return _keyed(self._postgresql(column), params, self.key)

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        path = '$."' + self.key.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return _keyed(self._sqlite(column), params, path)

    def _postgresql(self, column: str) -> str:
        if self.json_type in ("any", "json"):
            return f"CASE WHEN jsonb_typeof({column} -> %s) <> 'null' THEN {column} ->> %s END"
        cast = _PG_CASTS[self.json_type]
        guard = f"jsonb_typeof({column} -> %s) = '{_PG_TYPES[self.json_type]}'"
        return f"CASE WHEN {guard} THEN ({column} ->> %s){cast} END"

    def _sqlite(self, column: str) -> str:
        if self.json_type in ("any", "json"):
            guard = f"json_type({column}, %s) <> 'null'"
            return f"CASE WHEN {guard} THEN json_extract({column}, %s) END"
        if self.json_type == "boolean":
            return f"CASE json_type({column}, %s) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
        guard = f"json_type({column}, %s) IN {_SQLITE_TYPES[self.json_type]}"
        return f"CASE WHEN {guard} THEN json_extract({column}, %s) END"


def _keyed(sql: str, column_params, key: str) -> tuple[str, list]:
    # Each "%s" in the templates is the key, right after a use of the column.
    return sql, [*column_params, key] * sql.count("%s")


def text_column(column: str):
    """A contact's string field; an empty string counts as missing."""
    return NullIf(F(column), Value(""))


class Predicate(Func):
    """`value op operand` as a never-NULL boolean."""

    output_field = BooleanField()

    def __init__(self, value, op: str, operand=None):
        super().__init__(value)
        self.op, self.operand = op, operand

    def as_postgresql(self, compiler, connection, **extra):
        return self._sql(compiler, contains="strpos", false="false")

    def as_sqlite(self, compiler, connection, **extra):
        return self._sql(compiler, contains="instr", false="0")

    def _sql(self, compiler, *, contains: str, false: str) -> tuple[str, list]:
        """`contains` is the database's substring position function, `false` its literal."""
        value_sql, value_params = compiler.compile(self.source_expressions[0])
        positive = NEGATIVE.get(self.op, self.op)
        template, operands = self._positive(positive, contains)
        template = f"COALESCE({template}, {false})"
        if positive != self.op:
            template = f"NOT ({template})"
        # "{v}" stands for the value expression, "%s" for the next operand, in order.
        sql, params, operands = "", [], iter(operands)
        for token in _TOKENS.split(template):
            if token == "{v}":
                sql, params = sql + value_sql, params + list(value_params)
            elif token == "%s":
                sql, params = sql + "%s", params + [next(operands)]
            else:
                sql += token
        return sql, params

    def _positive(self, op: str, contains: str) -> tuple[str, list]:
        operand = self.operand
        if op in _COMPARISON:
            return f"({{v}} {_COMPARISON[op]} %s)", [operand]
        if op == "exists":
            return "({v} IS NOT NULL)", []
        if op == "in":
            return f"({{v}} IN ({', '.join(['%s'] * len(operand))}))", list(operand)
        if op == "between":
            return "({v} >= %s AND {v} <= %s)", [operand[0], operand[1]]
        if op == "contains":
            return f"({contains}({{v}}, %s) > 0)", [operand]
        if op == "starts_with":
            return "(substr({v}, 1, %s) = %s)", [len(operand), operand]
        raise ValueError(f"unknown operator {op!r}")
