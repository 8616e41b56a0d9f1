"""Entries and exits written set-based: one statement per table, whatever their number.

A segment's first computation enters all its members at once (120,000 for a segment of the
bench). bulk_create builds a model instance and a placeholder per value, which psycopg then
converts on the client: seconds for such a segment. Here the ids travel as one parameter.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from django.db import connection
from django.db.models.expressions import RawSQL

from segments.conditions.parameters import id_rows_param, id_rows_sql
from segments.models import SegmentChange, SegmentMembership


def memberships_insert(*, segment_id: int, contact_ids: Collection[int], at: datetime) -> None:
    _insert(SegmentMembership, "segment_id, entered_at, contact_id", [segment_id, at], contact_ids)


def memberships_delete(*, segment_id: int, contact_ids: Collection[int]) -> None:
    ids = RawSQL(id_rows_sql(connection), [id_rows_param(sorted(contact_ids), connection)])
    SegmentMembership.objects.filter(segment_id=segment_id, contact_id__in=ids).delete()


def changes_insert(*, segment_id: int, contact_ids: Collection[int], kind: str, at) -> None:
    _insert(SegmentChange, "segment_id, kind, at, contact_id", [segment_id, kind, at], contact_ids)


def _insert(model, columns: str, constants: list, contact_ids: Collection[int]) -> None:
    """INSERT rows of `constants` then each contact id (the last column)."""
    constants = [
        connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value
        for value in constants
    ]
    placeholders = ", ".join(["%s"] * len(constants))
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({columns}) '
        f"SELECT {placeholders}, ids.id FROM ({id_rows_sql(connection)}) AS ids"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*constants, id_rows_param(sorted(contact_ids), connection)])
