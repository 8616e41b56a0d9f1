from celery import shared_task

from events.services.retention import events_purge_expired


@shared_task(name="events.tasks.events_purge_expired_task")
def events_purge_expired_task() -> int:
    return events_purge_expired()
