"""Import jobs from the admin: the upload (the file split into chunks in the database), the column
mapping, and the run a worker makes of it, chunk by chunk.

1. `import_job_create` reads the upload once, counts its rows and stores them as chunks of
   CHUNK_ROWS (constant memory); a CSV job then waits for its mapping (`import_job_map`), a JSON
   Lines job is queued at once. Queuing announces `import_job_queued` on commit (handlers.py
   enqueues the task).
2. `import_job_run` claims the job by a conditional update (pending, or running with a heartbeat
   older than LEASE: its worker died), so two workers never run it at once.
3. Each chunk is stored through the owning services (store.py), then, in one transaction, the
   job's counters move (guarded by `rows_done`: the checkpoint), its rejected rows are kept
   (the first MAX_REJECTIONS_KEPT) and the chunk is deleted. A crash between the two re-stores the
   chunk on resumption, which stores nothing twice (store.py says why).
4. No chunk left: done. An unexpected error: failed, with the error; `import_job_resume` queues
   it again from its checkpoint.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import BinaryIO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from contacts.models import App
from transfers.models import ImportChunk, ImportJob, ImportRejection
from transfers.services.imports.fields import mapping_clean
from transfers.services.imports.reading import (
    ImportFileError,
    chunks,
    csv_open,
    csv_rows_of,
    csv_text,
    jsonl_lines,
    rows_parse,
    text_stream,
)
from transfers.services.imports.store import ChunkOutcome, import_rows_store
from transfers.signals import import_job_queued

LEASE = timedelta(minutes=5)  # a running job's heartbeat older than this lost its worker
MAX_REJECTIONS_KEPT = 10_000  # a job's rejected rows kept for the report; all are counted
CHUNKS_PER_INSERT = 20
ABANDONED_AFTER = timedelta(days=1)  # an upload left without its column mapping
logger = logging.getLogger(__name__)


class LostClaim(Exception):
    """Another worker took the job over (this one was presumed dead): stop quietly."""


@transaction.atomic
def import_job_create(
    *,
    app: App,
    kind: str,
    format: str,
    file: BinaryIO,
    file_name: str = "",
    created_by=None,
) -> ImportJob:
    """Read the upload into a new job's chunks. A file-level error (not UTF-8, no header, a
    broken CSV quote) raises a ValidationError on `file` and stores nothing."""
    job = ImportJob.objects.create(
        app=app,
        kind=kind,
        format=format,
        file_name=file_name[:255],
        created_by=created_by,
        status=ImportJob.Status.MAPPING if format == "csv" else ImportJob.Status.PENDING,
    )
    stream = text_stream(file)
    try:
        if format == "csv":
            job.columns, rows = csv_open(stream)
            texts = ((csv_text(chunk), len(chunk)) for chunk in chunks(rows))
        else:
            texts = (("\n".join(chunk), len(chunk)) for chunk in chunks(jsonl_lines(stream)))
        job.rows_total = _chunks_store(job, texts)
    except ImportFileError as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    finally:
        stream.detach()  # the upload's own file is closed by its owner
    if not job.rows_total:
        raise ValidationError({"file": ["the file holds no rows to import"]})
    job.save(update_fields=["columns", "rows_total"])
    if job.status == ImportJob.Status.PENDING:
        _announce(job)
    return job


def _chunks_store(job: ImportJob, texts) -> int:
    """Insert the chunks (text, rows), a few at a time; the number of rows they hold."""
    total, batch = 0, []
    for number, (text, rows) in enumerate(texts):
        batch.append(ImportChunk(job=job, number=number, first_row=total + 1, text=text))
        total += rows
        if len(batch) == CHUNKS_PER_INSERT:
            ImportChunk.objects.bulk_create(batch)
            batch = []
    ImportChunk.objects.bulk_create(batch)
    return total


@transaction.atomic
def import_job_map(*, job: ImportJob, mapping: dict[str, str]) -> ImportJob:
    """Set a CSV job's column mapping (checked: fields.mapping_clean) and queue it."""
    if job.status != ImportJob.Status.MAPPING:
        raise ValidationError({"mapping": ["this import has already started"]})
    mapping_clean(job.kind, job.columns, mapping)
    job.mapping = {column: target for column, target in mapping.items() if target}
    job.status = ImportJob.Status.PENDING
    job.save(update_fields=["mapping", "status"])
    _announce(job)
    return job


@transaction.atomic
def import_job_resume(*, job: ImportJob) -> bool:
    """Queue a failed job again from its checkpoint; whether it was failed."""
    resumed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.FAILED).update(
        status=ImportJob.Status.PENDING, error="", finished_at=None
    )
    if resumed:
        _announce(job)
    return bool(resumed)


def import_jobs_waiting() -> list[int]:
    """Jobs a worker should take: queued ones (a lost nudge) and running ones whose worker
    stopped renewing their heartbeat (it died)."""
    stale = timezone.now() - LEASE
    return list(
        ImportJob.objects.filter(
            Q(status=ImportJob.Status.PENDING)
            | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=stale)
        ).values_list("pk", flat=True)[:100]
    )


def import_jobs_abandoned_delete() -> int:
    """Drop uploads whose mapping was never chosen, with their chunks, after ABANDONED_AFTER."""
    old = timezone.now() - ABANDONED_AFTER
    deleted, _ = ImportJob.objects.filter(
        status=ImportJob.Status.MAPPING, created_at__lt=old
    ).delete()
    return deleted


def import_job_run(*, job_id: int) -> ImportJob | None:
    """Run the job to its end if this worker can claim it; the job, or None if not claimed."""
    now = timezone.now()
    claimed = (
        ImportJob.objects.filter(pk=job_id)
        .filter(
            Q(status=ImportJob.Status.PENDING)
            | Q(status=ImportJob.Status.RUNNING, heartbeat_at__lt=now - LEASE)
        )
        .update(status=ImportJob.Status.RUNNING, heartbeat_at=now)
    )
    if claimed != 1:
        return None
    ImportJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    job = ImportJob.objects.select_related("app").get(pk=job_id)
    try:
        targets = mapping_clean(job.kind, job.columns, job.mapping) if job.columns else {}
        while (chunk := job.chunks.order_by("number").first()) is not None:
            _chunk_run(job, chunk, targets)
    except LostClaim:
        return None
    except Exception as exc:  # noqa: BLE001 - whatever it was, the job says so and can resume
        logger.exception("import %s failed at row %s", job.pk, job.rows_done + 1)
        _finish(job, ImportJob.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        return job
    _finish(job, ImportJob.Status.DONE)
    return job


def _chunk_run(job: ImportJob, chunk: ImportChunk, targets: dict) -> None:
    if chunk.first_row != job.rows_done + 1:
        raise LostClaim  # another worker moved the checkpoint
    items = csv_rows_of(chunk.text) if job.format == "csv" else chunk.text.split("\n")
    rows = rows_parse(
        kind=job.kind,
        columns=job.columns,
        targets=targets,
        items=items,
        first_row=chunk.first_row,
    )
    outcome = import_rows_store(app=job.app, kind=job.kind, rows=rows)
    _checkpoint(job, chunk, outcome)


@transaction.atomic
def _checkpoint(job: ImportJob, chunk: ImportChunk, outcome: ChunkOutcome) -> None:
    moved = ImportJob.objects.filter(
        pk=job.pk, status=ImportJob.Status.RUNNING, rows_done=job.rows_done
    ).update(
        rows_done=F("rows_done") + outcome.rows,
        rows_stored=F("rows_stored") + outcome.stored,
        rows_duplicate=F("rows_duplicate") + outcome.duplicates,
        rows_rejected=F("rows_rejected") + len(outcome.rejections),
        heartbeat_at=timezone.now(),
    )
    if moved != 1:
        raise LostClaim
    room = max(0, MAX_REJECTIONS_KEPT - job.rows_rejected)
    ImportRejection.objects.bulk_create(
        ImportRejection(job=job, row=r.row, reason=r.reason, raw=r.raw)
        for r in outcome.rejections[:room]
    )
    chunk.delete()
    job.rows_done += outcome.rows
    job.rows_stored += outcome.stored
    job.rows_duplicate += outcome.duplicates
    job.rows_rejected += len(outcome.rejections)


def _finish(job: ImportJob, status: str, *, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.RUNNING).update(
        status=status, error=error, finished_at=job.finished_at
    )


def _announce(job: ImportJob) -> None:
    transaction.on_commit(lambda: import_job_queued.send(sender=ImportJob, job_id=job.pk))
