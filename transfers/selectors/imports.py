"""Reads of import jobs for the admin's pages."""

from __future__ import annotations

from collections.abc import Iterator

from transfers.models import ImportChunk, ImportJob, ImportRejection
from transfers.services.imports.reading import csv_rows_of

SAMPLE_ROWS = 3


def import_job_status(*, job: ImportJob) -> dict:
    """The job's progress, as the job page polls it."""
    percent = 100 if job.status == ImportJob.Status.DONE else 0
    if job.rows_total and job.status != ImportJob.Status.DONE:
        percent = min(99, job.rows_done * 100 // job.rows_total)
    return {
        "status": job.status,
        "status_label": job.get_status_display(),
        "rows_total": job.rows_total,
        "rows_done": job.rows_done,
        "rows_stored": job.rows_stored,
        "rows_duplicate": job.rows_duplicate,
        "rows_rejected": job.rows_rejected,
        "percent": percent,
        "error": job.error,
        "finished": job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED),
    }


def import_job_sample(*, job: ImportJob) -> list[list[str]]:
    """A CSV job's first rows, to show beside the columns being mapped."""
    chunk = ImportChunk.objects.filter(job=job).order_by("number").first()
    if chunk is None:
        return []
    return csv_rows_of(chunk.text)[:SAMPLE_ROWS]  # a chunk is at most 1,000 rows


def import_rejections(*, job: ImportJob) -> Iterator[ImportRejection]:
    """The job's kept rejected rows, in file order, read in batches."""
    return ImportRejection.objects.filter(job=job).order_by("row", "pk").iterator(chunk_size=2000)
