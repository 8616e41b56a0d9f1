"""Model instances from raw rows, as the ORM would load them, without its per-row cost."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import orjson
from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from common.db.dialect import dialect


def select_list(model, alias: str) -> str:
    """The model's concrete columns for a raw SELECT, in `from_row`'s order."""
    return _select_list(model, alias, dialect().vendor)


@functools.cache
def _select_list(model, alias: str, vendor: str) -> str:
    columns = []
    for field in model._meta.concrete_fields:
        column = f"{alias}.{field.column}"
        is_json = field.get_internal_type() == "JSONField"
        columns.append(dialect().json_text(column) if is_json else column)
    return ", ".join(columns)


def from_row(model, row: Sequence):
    """A model instance from `select_list`'s columns, in the state the ORM loads it in.

    Built without `Model.__init__` (its per-field loop and pre/post_init signals were a fifth of
    a 1000-event batch's server CPU): the instance dict gets the attnames and values, as
    `__init__` would set them, and `_state` says loaded from the database. Values go through the
    database's converters first (SQLite's text timestamps and integer booleans; PostgreSQL's
    binary results need none). Once any pre_init/post_init receiver is connected, rows go
    through `from_db`: none is skipped."""
    attnames, json_columns, converters = _row_layout(model, dialect().vendor)
    values = list(row[: len(attnames)])
    for i in json_columns:
        if values[i] is not None:
            values[i] = orjson.loads(values[i])
    for i, expression, functions in converters:
        for convert in functions:
            values[i] = convert(values[i], expression, connection)
    if pre_init.receivers or post_init.receivers:  # any receiver at all: the ORM's way
        return model.from_db(DEFAULT_DB_ALIAS, attnames, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = instance._state = ModelState()
    state.adding, state.db = False, DEFAULT_DB_ALIAS
    return instance


@functools.cache
def _row_layout(model, vendor: str) -> tuple[list[str], list[int], list[tuple]]:
    """The attnames of the model's concrete fields, the positions of its JSON fields, and the
    database's converters of the others."""
    fields = model._meta.concrete_fields
    json_columns = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    converters = []
    for i, field in enumerate(fields):
        if i in json_columns:
            continue
        expression = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(expression)
        functions += field.get_db_converters(connection)
        if functions:
            converters.append((i, expression, functions))
    return [f.attname for f in fields], json_columns, converters
