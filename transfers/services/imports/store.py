"""Storing a chunk of parsed rows through the services that own the tables: contacts through the
profile upsert by external id, events through the ingest pipeline (the same de-duplication,
mapping rules, stats and triggers as the tracking API).

Re-storing a chunk is harmless, which is what makes a job resumable: a profile upsert by external
id converges to the same contact, and an event comes back from ingest as a duplicate (same
`event_id`, or same content: name, time, identity and params).

Campaign triggers: ingest leaves trigger marks for every stored event of a triggering type, and
the matcher takes only events younger than TRIGGER_MAX_AGE_HOURS (72 by default) at the time it
runs, so a backfill of older events triggers nothing, and one of recent events triggers as the
same events sent through the API would. No import marker is needed for that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contacts.models import App
from contacts.services.profiles import contacts_profile_upsert_bulk
from events.services.ingest import events_ingest
from transfers.services.imports.reading import ParsedRow


@dataclass
class Rejection:
    row: int
    reason: str
    raw: str


@dataclass
class ChunkOutcome:
    rows: int = 0
    stored: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)


def import_rows_store(*, app: App, kind: str, rows: list[ParsedRow]) -> ChunkOutcome:
    """Store the chunk's valid rows in one call of the owning service; each refused row, with
    the reasons parsing or the service gave, becomes a rejection."""
    outcome = ChunkOutcome(rows=len(rows))
    valid = [row for row in rows if row.errors is None]
    for row in rows:
        if row.errors is not None:
            outcome.rejections.append(_rejection(row, row.errors))
    if not valid:
        return outcome
    records = [row.record for row in valid]
    if kind == "contacts":
        results = contacts_profile_upsert_bulk(app=app, profiles=records, via="import")
    else:
        results = events_ingest(app=app, payloads=records)
    for row, result in zip(valid, results, strict=True):
        if result.errors:
            outcome.rejections.append(_rejection(row, result.errors))
        elif getattr(result, "duplicate", False):
            outcome.duplicates += 1
        else:
            outcome.stored += 1
    outcome.rejections.sort(key=lambda r: r.row)
    return outcome


def reason_text(errors) -> str:
    """{"email": ["is not a valid email address"]} -> "email: is not a valid email address"."""
    if isinstance(errors, dict):
        return "; ".join(
            f"{name}: {reason_text(reasons)}"
            if name not in ("row", "non_field_errors")
            else reason_text(reasons)
            for name, reasons in errors.items()
        )
    if isinstance(errors, list | tuple):
        return "; ".join(reason_text(reason) for reason in errors)
    return str(errors)


def _rejection(row: ParsedRow, errors) -> Rejection:
    return Rejection(row=row.number, reason=reason_text(errors), raw=row.raw)
