"""Reading an import's file as a stream of rows, and each row as a record to store.

Files are UTF-8 (a byte order mark is skipped). A CSV file starts with its header; blank lines
are skipped and not counted. Row 1 is the first data row (the line after a CSV header, the first
non-blank line of JSON Lines). A file-level problem (not UTF-8, a CSV quote left open, no header)
raises ImportFileError with one line saying where; a row-level one rejects that row only.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

import orjson
from django.core.exceptions import ValidationError

from transfers.services.imports.fields import Target, row_record

CHUNK_ROWS = 1000  # rows a chunk: one ingest batch, one profile upsert, one checkpoint
MAX_RAW_CHARS = 2000  # of a rejected row's text kept for the report
PROFILE_KEYS = frozenset(
    {
        "external_id",
        "email",
        "phone",
        "custom_fields",
        "timezone",
        "language",
        "country",
        "email_status",
    }
)


class ImportFileError(Exception):
    """The file as a whole cannot be read (not a row's problem)."""


@dataclass
class ParsedRow:
    number: int
    source: list[str] | str  # a CSV row's cells, or a JSON line
    record: dict | None = None
    errors: dict | None = None

    @property
    def raw(self) -> str:
        """The row as text, for the rejected rows' report (written only for those)."""
        text = self.source if isinstance(self.source, str) else csv_text([self.source])
        return text.rstrip("\n")[:MAX_RAW_CHARS]


def text_stream(binary: BinaryIO) -> io.TextIOWrapper:
    # newline="" hands line ends to the csv module, which keeps quoted newlines in their cell.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def csv_open(stream: io.TextIOBase) -> tuple[list[str], Iterator[list[str]]]:
    """The header's columns, and the data rows (lists of cells) after it."""
    reader = _guarded(csv.reader(stream), "CSV")
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise ImportFileError("the file is empty: a CSV import starts with a header row")
    columns = [cell.strip() for cell in header]
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise ImportFileError(f"the header names a column twice: {', '.join(twice)}")
    return columns, (row for row in reader if row)


def jsonl_lines(stream: io.TextIOBase) -> Iterator[str]:
    """The file's non-blank lines, without their line ends."""
    for line in _guarded(iter(stream), "JSON Lines"):
        if line.strip():
            yield line.rstrip("\r\n")


def chunks(rows: Iterable, size: int = CHUNK_ROWS) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def csv_text(rows: list[list[str]]) -> str:
    """CSV rows as text (quoting what needs it), to store a chunk or show a rejected row."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def csv_rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def rows_parse(
    *, kind: str, columns: list[str], targets: dict[str, Target], items: list, first_row: int
) -> list[ParsedRow]:
    """Each item (a CSV row's cells, or a JSON line) as a record to store, or its errors."""
    parse = _csv_row if columns else _json_row
    return [
        parse(kind, columns, targets, item, first_row + offset) for offset, item in enumerate(items)
    ]


def _csv_row(kind, columns, targets, cells: list[str], number: int) -> ParsedRow:
    row = ParsedRow(number=number, source=cells)
    if len(cells) != len(columns):
        row.errors = {"row": [f"{len(cells)} cells where the header has {len(columns)}"]}
        return row
    try:
        row.record = row_record(kind, targets, dict(zip(columns, cells, strict=True)))
    except ValidationError as exc:
        row.errors = exc.message_dict
        return row
    row.errors = _required_errors(kind, row.record)
    return row


def _json_row(kind, columns, targets, line: str, number: int) -> ParsedRow:
    row = ParsedRow(number=number, source=line)
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        row.errors = {"row": [f"not valid JSON: {exc}"]}
        return row
    if not isinstance(record, dict):
        row.errors = {"row": ["each line must be a JSON object"]}
        return row
    if kind == "contacts" and (unknown := sorted(record.keys() - PROFILE_KEYS)):
        row.errors = {name[:40]: ["unknown field of a contact"] for name in unknown[:20]}
        return row
    row.record = record
    row.errors = _required_errors(kind, record)
    return row


def _required_errors(kind: str, record: dict) -> dict | None:
    if kind == "contacts":
        if record.get("external_id") in (None, ""):
            return {"external_id": ["is required: contacts are imported by your own id"]}
    elif record.get("event_time") in (None, "") and record.get("timestamp") in (None, ""):
        return {"event_time": ["is required in an import (a historical event needs its time)"]}
    return None


def _guarded(rows: Iterator, what: str) -> Iterator:
    """`rows`, with a decoding or CSV error raised as ImportFileError naming the row."""
    number = 0
    try:
        for number, row in enumerate(rows, start=1):  # noqa: B007 - read in the handler
            yield row
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"the file is not UTF-8 text (near row {number}): {exc.reason}"
        ) from None
    except csv.Error as exc:
        raise ImportFileError(f"not readable as {what} near row {number}: {exc}") from None
