"""The Celery app. Periodic schedules live in code (config/schedules.py) and are installed into
django-celery-beat's database scheduler by `manage.py beacon_setup`."""

import os

from celery import Celery

from common import task_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("beacon")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
task_logging.connect()
