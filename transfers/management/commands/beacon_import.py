"""`manage.py beacon_import`: import a big file of contacts or events from the command line.

The file is streamed, 1,000 rows at a time, through the same parsing and services as the admin's
import jobs (transfers/services/imports/), in constant memory and without copying it into the
database; progress goes to stdout, rejected rows to `--rejects` as CSV (row, reason, raw row).
Re-running the same file stores nothing twice (contacts upsert by external id, events dedup).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contacts.models import App
from transfers.services.imports.fields import mapping_clean, mapping_guess
from transfers.services.imports.reading import (
    ImportFileError,
    chunks,
    csv_open,
    jsonl_lines,
    rows_parse,
    text_stream,
)
from transfers.services.imports.store import import_rows_store, reason_text

PROGRESS_EVERY = 2.0  # seconds between progress lines


class Command(BaseCommand):
    help = "Import contacts or historical events from a CSV or JSON Lines file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the file to import (UTF-8)")
        parser.add_argument("--app", required=True, help="the app's tenant_id")
        parser.add_argument("--kind", required=True, choices=["contacts", "events"])
        parser.add_argument(
            "--format", choices=["csv", "jsonl"], help="default: from the file's extension"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="CSV: where a column goes (email, custom.plan, params.price:number, ...); "
            "columns not named are guessed from the header; FIELD empty: not imported",
        )
        parser.add_argument("--rejects", help="write the rejected rows (CSV) to this file")

    def handle(self, *args, **options):
        app = App.objects.filter(tenant_id=options["app"]).first()
        if app is None:
            raise CommandError(f"no app with tenant_id {options['app']!r}")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        file_format = options["format"] or _format_of(path)
        rejects = _RejectsFile(options["rejects"])
        try:
            with path.open("rb") as binary:
                totals = self._import(app, options, file_format, text_stream(binary), rejects)
        except ImportFileError as exc:
            raise CommandError(f"{path}: {exc}") from None
        finally:
            rejects.close()
        self.stdout.write(
            "done: {rows} rows, {stored} stored, {duplicates} duplicates, {rejected} rejected "
            "in {seconds:.1f} s ({rate:.0f} rows/s)".format(**totals)
        )

    def _import(self, app, options, file_format, stream, rejects) -> dict:
        kind = options["kind"]
        columns, targets = [], {}
        if file_format == "csv":
            columns, rows = csv_open(stream)
            targets = _targets(kind, columns, options["map"])
            self.stdout.write(
                "mapping: "
                + ", ".join(f"{column} -> {t.label}:{t.type}" for column, t in targets.items())
            )
        else:
            rows = jsonl_lines(stream)
        totals = {"rows": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        started = last = time.monotonic()
        for items in chunks(rows):
            first_row = totals["rows"] + 1
            parsed = rows_parse(
                kind=kind, columns=columns, targets=targets, items=items, first_row=first_row
            )
            outcome = import_rows_store(app=app, kind=kind, rows=parsed)
            rejects.write(outcome.rejections)
            totals["rows"] += outcome.rows
            totals["stored"] += outcome.stored
            totals["duplicates"] += outcome.duplicates
            totals["rejected"] += len(outcome.rejections)
            if time.monotonic() - last >= PROGRESS_EVERY:
                last = time.monotonic()
                self.stdout.write(_progress(totals, last - started))
        seconds = time.monotonic() - started
        return {**totals, "seconds": seconds, "rate": totals["rows"] / seconds if seconds else 0}


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise CommandError(f"{path}: say --format csv or jsonl (the extension does not tell)")


def _targets(kind: str, columns: list[str], maps: list[str]) -> dict:
    mapping = mapping_guess(kind, columns)
    for item in maps:
        column, equals, field = item.partition("=")
        if not equals:
            raise CommandError(f"--map {item!r}: write COLUMN=FIELD")
        if column not in columns:
            raise CommandError(f"--map {item!r}: the header has no column {column!r}")
        mapping[column] = field
    try:
        return mapping_clean(kind, columns, mapping)
    except ValidationError as exc:
        raise CommandError(f"mapping: {reason_text(exc.message_dict)}") from None


def _progress(totals: dict, seconds: float) -> str:
    rate = totals["rows"] / seconds if seconds else 0
    return (
        f"{totals['rows']} rows, {totals['stored']} stored, {totals['duplicates']} duplicates, "
        f"{totals['rejected']} rejected ({rate:.0f} rows/s)"
    )


class _RejectsFile:
    """The rejected rows as CSV, written as they come (nothing kept in memory)."""

    def __init__(self, path: str | None) -> None:
        self.file = None
        if path:
            try:
                self.file = open(path, "w", newline="", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                raise CommandError(f"--rejects {path}: {exc.strerror}") from None
            self.writer = csv.writer(self.file)
            self.writer.writerow(["row", "reason", "raw"])

    def write(self, rejections) -> None:
        if self.file is not None:
            self.writer.writerows([r.row, r.reason, r.raw] for r in rejections)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
