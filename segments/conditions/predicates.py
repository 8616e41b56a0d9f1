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

import orjson
from django.db.models import BooleanField, F, FloatField, Func, TextField, Value
from django.db.models.functions import NullIf

NEGATIVE = {
    "!=": "=",
    "not_contains": "contains",
    "not_contains_any": "contains_any",
    "not_in": "in",
    "not_exists": "exists",
    "not_range": "range",
}
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
    With json_type "any" it reads only presence (non-null), for exists / not_exists; with
    "array", a JSON array as JSON (jsonb, or SQLite's JSON text) for ArrayPredicate."""

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
        if self.json_type == "array":
            return f"CASE WHEN jsonb_typeof({column} -> %s) = 'array' THEN {column} -> %s END"
        cast = _PG_CASTS[self.json_type]
        guard = f"jsonb_typeof({column} -> %s) = '{_PG_TYPES[self.json_type]}'"
        return f"CASE WHEN {guard} THEN ({column} ->> %s){cast} END"

    def _sqlite(self, column: str) -> str:
        if self.json_type in ("any", "json"):
            guard = f"json_type({column}, %s) <> 'null'"
            return f"CASE WHEN {guard} THEN json_extract({column}, %s) END"
        if self.json_type == "boolean":
            return f"CASE json_type({column}, %s) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END"
        if self.json_type == "array":
            guard = f"json_type({column}, %s) = 'array'"
            return f"CASE WHEN {guard} THEN json_extract({column}, %s) END"
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
        if op == "range":  # [start, end): a day, or a span of days (compiler._date_bounds)
            return "({v} >= %s AND {v} < %s)", [operand[0], operand[1]]
        if op == "contains":
            return f"({contains}({{v}}, %s) > 0)", [operand]
        if op == "starts_with":
            return "(substr({v}, 1, %s) = %s)", [len(operand), operand]
        raise ValueError(f"unknown operator {op!r}")


class GeoWithin(Func):
    """`column[key]` is a location ({"lat": ..., "lon": ...}, both JSON numbers) within the
    circle (geo.Circle): a lat/lon box first, then the haversine term against the circle's
    threshold; with no circle, that it is a location at all (exists). Never NULL: a missing or
    malformed location is not within; `negated` is
    exactly NOT of it (so it holds for a missing location, like the other negative operators).
    SIN, COS and RADIANS exist on PostgreSQL; Django registers them on SQLite connections
    whose library lacks them."""

    output_field = BooleanField()

    def __init__(self, column: str, key: str, area, negated: bool = False):
        super().__init__(F(column))
        self.key, self.area, self.negated = key, area, negated

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])

        def read(part):
            guard = f"jsonb_typeof({column} -> %s -> '{part}') = 'number'"
            value = f"({column} -> %s ->> '{part}')::double precision"
            return f"(CASE WHEN {guard} THEN {value} END)", [*params, self.key] * 2

        return self._sql(read, false="false")

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        key = '$."' + self.key.replace("\\", "\\\\").replace('"', '\\"') + '"'

        def read(part):
            guard = f"json_type({column}, %s) IN ('integer', 'real')"
            value = f"json_extract({column}, %s)"
            return f"(CASE WHEN {guard} THEN {value} END)", [*params, f"{key}.{part}"] * 2

        return self._sql(read, false="0")

    def _sql(self, read, *, false: str) -> tuple[str, list]:
        """Each term is NULL when the location is missing or malformed (the reads are guarded
        CASEs, never a failing cast), and COALESCE makes that false."""
        (lat, lat_params), (lon, lon_params) = read("lat"), read("lon")
        area = self.area
        if area is None:
            terms = [(f"{lat} IS NOT NULL AND {lon} IS NOT NULL", [*lat_params, *lon_params])]
            return self._combined(terms, false)
        terms = [(f"{lat} BETWEEN %s AND %s", [*lat_params, *area.lat_box])]
        if area.lon_box is not None:
            terms.append((f"{lon} BETWEEN %s AND %s", [*lon_params, *area.lon_box]))
        if area.threshold is None:  # the whole sphere: any well-formed location
            terms.append((f"{lon} IS NOT NULL", lon_params))
        else:
            half_dlat = f"SIN(RADIANS({lat} - %s) / 2)"
            half_dlon = f"SIN(RADIANS({lon} - %s) / 2)"
            haversine = (
                f"{half_dlat} * {half_dlat} + COS(RADIANS({lat})) * %s * {half_dlon} * {half_dlon}"
            )
            terms.append(
                (
                    f"{haversine} <= %s",
                    [*lat_params, area.lat, *lat_params, area.lat, *lat_params, area.cos_lat]
                    + [*lon_params, area.lon, *lon_params, area.lon, area.threshold],
                )
            )
        return self._combined(terms, false)

    def _combined(self, terms: list[tuple[str, list]], false: str) -> tuple[str, list]:
        sql = f"COALESCE(({' AND '.join(term for term, _ in terms)}), {false})"
        if self.negated:
            sql = f"NOT {sql}"
        return sql, [param for _, params in terms for param in params]


class ArrayPredicate(Predicate):
    """`array op operand` on an array param (JsonValue "array"): contains (an element equals the
    value), contains_any (one of the values), exists, and their negations, never NULL. Only
    elements of `element_type` match, as a scalar of another type reads as missing: "38" is not
    38, true is not 1. PostgreSQL tests jsonb containment of [value], SQLite scans json_each."""

    def __init__(self, value, op: str, operand, element_type: str):
        super().__init__(value, op, operand)
        self.element_type = element_type

    def as_postgresql(self, compiler, connection, **extra):
        return self._sql(compiler, contains="postgresql", false="false")

    def as_sqlite(self, compiler, connection, **extra):
        return self._sql(compiler, contains="sqlite", false="0")

    def _positive(self, op: str, contains: str) -> tuple[str, list]:
        """`contains` names the database (Predicate's hook for its substring function)."""
        if op == "exists":
            return "({v} IS NOT NULL)", []
        values = [self.operand] if op == "contains" else list(self.operand)
        if contains == "postgresql":
            has = "{v} @> CAST(%s AS jsonb)"
            values = [orjson.dumps([value]).decode() for value in values]
        else:
            guard = _SQLITE_TYPES[self.element_type]
            has = f"EXISTS (SELECT 1 FROM json_each({{v}}) WHERE type IN {guard} AND value = %s)"
        return f"({' OR '.join([has] * len(values))})", values
