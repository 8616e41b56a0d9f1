"""Periodic tasks, defined in code and installed into django-celery-beat's database scheduler by
`manage.py beacon_setup` (run at deploy and by `make run`)."""

from __future__ import annotations

# name -> (task, every N seconds; None: settings.SEGMENT_REFRESH_SECONDS)
PERIODIC_TASKS: dict[str, tuple[str, int | None]] = {
    "events: purge events past retention": ("events.tasks.events_purge_expired_task", 3600),
    # time-based conditions ("not in the last 14 days") change without any new event
    "segments: full refresh": ("segments.tasks.segments_refresh_all_task", None),
    # contacts whose events changed (ingest also nudges this task right after commit)
    "segments: evaluate changed contacts": ("segments.tasks.segments_evaluate_pending_task", 1),
    # the durable halves of the nudges sent after commit: trigger marks, due and expired
    # deliveries, broadcasts whose time has come, segment entries
    "campaigns: match triggers": ("campaigns.tasks.trigger_marks_process_task", 1),
    "campaigns: dispatch due deliveries": ("campaigns.tasks.deliveries_dispatch_task", 2),
    "campaigns: start due broadcasts": ("campaigns.tasks.broadcasts_start_due_task", 5),
    "campaigns: segment entries": ("campaigns.tasks.segment_entries_match_task", 5),
    # import jobs whose nudge was lost or whose worker died (transfers/services/imports/jobs.py)
    "transfers: resume imports": ("transfers.tasks.imports_resume_task", 60),
}


def periodic_tasks_install() -> list[str]:
    """Create or update each schedule; return the names installed."""
    from django.conf import settings
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, seconds) in PERIODIC_TASKS.items():
        seconds = seconds or settings.SEGMENT_REFRESH_SECONDS
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )
    return list(PERIODIC_TASKS)
