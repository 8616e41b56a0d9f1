"""Periodic tasks, defined in code and installed into django-celery-beat's database scheduler by
`manage.py beacon_setup` (run at deploy and by `make run`)."""

from __future__ import annotations

# name -> (task, every N seconds)
PERIODIC_TASKS: dict[str, tuple[str, int]] = {
    "events: purge events past retention": ("events.tasks.events_purge_expired_task", 3600),
}


def periodic_tasks_install() -> list[str]:
    """Create or update each schedule; return the names installed."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, (task, seconds) in PERIODIC_TASKS.items():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=seconds, period=IntervalSchedule.SECONDS
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "interval": interval, "enabled": True}
        )
    return list(PERIODIC_TASKS)
