"""Django settings for bench/ingest.py's single-event floor: Beacon's own settings, middleware and
gunicorn, with one URL (bench/single_floor_urls.py) that does what FLOORS.md's "DRF view:
validate one event with a serializer, insert it" does. Run with bench/ on PYTHONPATH."""

from config.settings import *  # noqa: F403 (the same stack, only the URLs differ)

ROOT_URLCONF = "single_floor_urls"
