"""Subscriptions (wired in TransfersConfig.ready), and the one module of transfers that enqueues
its tasks: a queued import job nudges a worker after commit. Best effort: the periodic
`imports_resume_task` takes whatever a lost nudge leaves waiting."""

from __future__ import annotations

from common.nudges import nudge
from transfers.signals import import_job_queued
from transfers.tasks import import_run_task


def _on_import_job_queued(sender, job_id: int, **kwargs) -> None:
    nudge(import_run_task, job_id)


def connect() -> None:
    import_job_queued.connect(_on_import_job_queued, dispatch_uid="transfers.imports")
