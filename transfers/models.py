"""Import jobs: an uploaded file (kept in the database in chunks), its column mapping, its
progress and its rejected rows.

The file's content lives in `ImportChunk` rows rather than on disk: a deploy runs several web
hosts and workers, and the host that took the upload is rarely the worker that reads it, so a
local file would need shared storage (NFS, S3) that Beacon does not otherwise ask for. The
database is already shared, a chunk is the unit of work and of resumption, and each chunk is
deleted once its rows are stored, so a job's copy shrinks as it runs and is gone when it ends.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from contacts.models import App


class ImportJob(models.Model):
    class Kind(models.TextChoices):
        CONTACTS = "contacts", "Contacts"
        EVENTS = "events", "Events"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"

    class Status(models.TextChoices):
        MAPPING = "mapping", "Awaiting column mapping"
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="import_jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    format = models.CharField(max_length=10, choices=Format.choices)
    file_name = models.CharField(max_length=255, blank=True, default="")
    # CSV: the header's columns, and each column's Beacon field ("" or absent: ignored).
    columns = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    rows_total = models.PositiveIntegerField(default=0)  # counted at upload
    rows_done = models.PositiveIntegerField(default=0)  # the checkpoint: chunks fully handled
    rows_stored = models.PositiveIntegerField(default=0)
    rows_duplicate = models.PositiveIntegerField(default=0)  # events already stored
    rows_rejected = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Renewed at each chunk: a running job whose heartbeat is old lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = "import"
        verbose_name_plural = "imports"
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="importjob_status")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import #{self.pk} ({self.file_name})"


class ImportChunk(models.Model):
    """Up to CHUNK_ROWS rows of a job's file as text (CSV rows without the header, or JSON
    lines), deleted when they have been stored."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField()  # 0, 1, ...: chunk n holds rows n*size+1 ...
    first_row = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="importchunk_job_number")
        ]

    def __str__(self) -> str:
        return f"rows {self.first_row}- of import #{self.job_id}"


class ImportRejection(models.Model):
    """A row that was not stored, and why (the first MAX_REJECTIONS_KEPT of a job)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejections")
    row = models.PositiveIntegerField()  # 1 = the file's first data row
    reason = models.TextField()
    raw = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["job", "row"], name="importrejection_job_row")]

    def __str__(self) -> str:
        return f"row {self.row} of import #{self.job_id}: {self.reason}"
