"""Thin tasks: take ids, call a service."""

from __future__ import annotations

from celery import shared_task

from transfers.services.imports.jobs import (
    import_job_run,
    import_jobs_abandoned_delete,
    import_jobs_waiting,
)


@shared_task(name="transfers.tasks.import_run_task")
def import_run_task(job_id: int) -> str:
    job = import_job_run(job_id=job_id)
    return "not claimed" if job is None else f"{job.status}: {job.rows_done} rows"


@shared_task(name="transfers.tasks.imports_resume_task")
def imports_resume_task() -> int:
    """The durable half of the nudge: queued jobs whose nudge was lost, and jobs whose worker
    died, are taken again (the claim lets one run through); uploads never mapped are dropped."""
    import_jobs_abandoned_delete()
    waiting = import_jobs_waiting()
    for job_id in waiting:
        import_run_task.delay(job_id)
    return len(waiting)
