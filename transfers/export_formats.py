"""An export's rows as a file: CSV or JSON Lines, produced page by page as bytes, and the
streamed download that carries them (the API's and the admin's).

- CSV: a header of the field names, then one line per row (RFC 4180 quoting, UTF-8, CRLF).
  Nested values (a contact's `custom_fields`, an event's `params` and `context`) are one column
  holding their JSON: a contact's custom fields vary from contact to contact, and a column per
  name would need a first pass over every row to learn the names (twice the reading) or the
  names held in memory; one JSON column keeps a single pass and keeps the values' types.
  An empty cell is a null; times are ISO 8601 in UTC (`2026-12-03T14:55:00+00:00`).
- JSON Lines: one JSON object per line (orjson), the same fields and the same time format.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum

import orjson
from django.http import StreamingHttpResponse

from transfers.selectors.exports import ExportRows


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSONL: "application/x-ndjson",
}


def export_stream(*, rows: ExportRows, file_format: ExportFormat) -> Iterator[bytes]:
    """The file's bytes, a chunk per page of rows (never more than a page in memory)."""
    if file_format == ExportFormat.CSV:
        return _csv_chunks(rows)
    return _jsonl_chunks(rows)


def export_filename(*, rows: ExportRows, file_format: ExportFormat) -> str:
    return f"{rows.stem}.{file_format}"


def export_response(*, rows: ExportRows, file_format: ExportFormat) -> StreamingHttpResponse:
    """The export as a download, streamed as it is read from the database."""
    response = StreamingHttpResponse(
        export_stream(rows=rows, file_format=file_format),
        content_type=CONTENT_TYPES[file_format],
    )
    filename = export_filename(rows=rows, file_format=file_format)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    # A proxy that buffers whole responses (nginx does by default) would hold the file in memory
    # or on disk before the first byte reaches the client.
    response["X-Accel-Buffering"] = "no"
    return response


def _csv_chunks(rows: ExportRows) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(rows.fields)
    yield buffer.getvalue().encode()
    for page in rows.pages:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_csv_cell(value) for value in row] for row in page)
        yield buffer.getvalue().encode()


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def _jsonl_chunks(rows: ExportRows) -> Iterator[bytes]:
    fields = rows.fields
    for page in rows.pages:
        yield b"".join(orjson.dumps(dict(zip(fields, row, strict=True))) + b"\n" for row in page)
