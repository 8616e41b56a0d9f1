"""Export an app's contacts, a segment's members or events of a period to a file or stdout.

    manage.py beacon_export --app shop contacts --format csv --output contacts.csv
    manage.py beacon_export --app shop segment 12 --format jsonl > members.jsonl
    manage.py beacon_export --app shop events --from 2026-11-01T00:00:00Z --to 2026-12-01T00:00:00Z

The same rows and formats as the API and the admin (transfers/export_formats.py), read in pages
so memory stays flat at any size; progress (rows, rows/s) goes to stderr."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from django.core.management.base import BaseCommand, CommandError

from common.api_fields import parse_instant
from contacts.models import App
from segments.selectors import segment_get
from transfers.export_formats import ExportFormat, export_stream
from transfers.selectors.exports import (
    ExportRows,
    contact_export_rows,
    event_export_rows,
    event_type_named,
    segment_member_export_rows,
)

PROGRESS_EVERY_SECONDS = 2.0


class Command(BaseCommand):
    help = "Export contacts, a segment's members or events of a period as CSV or JSON Lines."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--app", required=True, help="The app's tenant id")
        parser.add_argument("what", choices=["contacts", "segment", "events"])
        parser.add_argument("segment_id", nargs="?", type=int, help="The segment's id (segment)")
        parser.add_argument("--from", dest="start", help="events: RFC 3339, included")
        parser.add_argument("--to", dest="end", help="events: RFC 3339, excluded")
        parser.add_argument("--event-name", default="", help="events: only this name")
        parser.add_argument("--format", choices=[f.value for f in ExportFormat], default="csv")
        parser.add_argument("--output", help="A file to write (stdout if not given)")

    def handle(self, *args, **options) -> None:
        app = App.objects.filter(tenant_id=options["app"]).first()
        if app is None:
            raise CommandError(f"no app with the tenant id {options['app']!r}")
        rows = self._rows(app, options)
        self._started = time.monotonic()
        self._rows_written = 0
        self._reported_at = self._started
        rows = replace(rows, pages=self._counted(rows.pages))
        chunks = export_stream(rows=rows, file_format=ExportFormat(options["format"]))
        if options["output"]:
            with open(options["output"], "wb") as output:
                for chunk in chunks:
                    output.write(chunk)
        else:
            self._to_stdout(chunks)
        self._report(final=True)

    def _rows(self, app: App, options: dict) -> ExportRows:
        what = options["what"]
        if what != "segment" and options["segment_id"] is not None:
            raise CommandError(f"{what}: takes no id (only segment does)")
        if what == "contacts":
            return contact_export_rows(app=app)
        if what == "segment":
            if options["segment_id"] is None:
                raise CommandError("segment: give the segment's id")
            segment = segment_get(app=app, segment_id=options["segment_id"])
            if segment is None:
                raise CommandError(f"no segment {options['segment_id']} in {app.tenant_id}")
            return segment_member_export_rows(segment=segment)
        start, end = _instant(options, "start", "--from"), _instant(options, "end", "--to")
        if end <= start:
            raise CommandError("--to must be after --from")
        event_type = None
        if options["event_name"]:
            event_type = event_type_named(app=app, name=options["event_name"])
            if event_type is None:
                raise CommandError(f"no event {options['event_name']!r} in {app.tenant_id}")
        return event_export_rows(app=app, start=start, end=end, event_type=event_type)

    def _to_stdout(self, chunks: Iterator[bytes]) -> None:
        binary = getattr(self.stdout, "buffer", None)  # OutputWrapper passes it on
        for chunk in chunks:
            if binary is not None:
                binary.write(chunk)
            else:  # a text stream (call_command's stdout=StringIO())
                self.stdout.write(chunk.decode(), ending="")
        if binary is not None:
            binary.flush()

    def _counted(self, pages: Iterator[list[tuple]]) -> Iterator[list[tuple]]:
        for page in pages:
            yield page
            self._rows_written += len(page)
            if time.monotonic() - self._reported_at >= PROGRESS_EVERY_SECONDS:
                self._report(final=False)

    def _report(self, *, final: bool) -> None:
        now = time.monotonic()
        self._reported_at = now
        elapsed = max(now - self._started, 1e-9)
        rate = self._rows_written / elapsed
        prefix = "done: " if final else ""
        self.stderr.write(
            f"{prefix}{self._rows_written:,} rows in {elapsed:.1f} s ({rate:,.0f} rows/s)"
        )


def _instant(options: dict, key: str, flag: str):
    if not options[key]:
        raise CommandError(f"events: {flag} is required")
    try:
        return parse_instant(options[key])
    except ValueError as exc:
        raise CommandError(f"{flag}: {exc}") from None
