"""What transfers' services announce; handlers.py enqueues the work."""

from django.dispatch import Signal

# sent on commit with job_id (int): an import job is waiting for a worker
import_job_queued = Signal()
