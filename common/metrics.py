"""Prometheus instruments that the domain apps update, and the registry a scrape reads.

Counters and histograms live in process memory, so with several processes (gunicorn workers,
Celery's prefork children) each would expose only its own share. When PROMETHEUS_MULTIPROC_DIR
is set before the process starts, prometheus-client keeps every value in a file there instead,
one per process, and a scrape sums the files of all of them (docs/operations.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

EVENTS_INGESTED = Counter(
    "beacon_events_ingested", "Events stored by the tracking API (duplicates excluded)", ["app"]
)
INGEST_REJECTIONS = Counter(
    "beacon_ingest_rejections",
    "Events or tracking requests refused, by reason (invalid_event: one event of a request)",
    ["reason"],
)
SEGMENT_REFRESH_SECONDS = Histogram(
    "beacon_segment_refresh_seconds",
    "Time to recompute segment memberships (full: one segment; contacts: after ingest)",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def ingest_observed(*, app: str, results: Iterable) -> None:
    """Count one ingest call's outcome. `results` are the ingest service's results, read by
    attribute (`errors`, `duplicate`) since this module imports no app."""
    stored = refused = 0
    for result in results:
        if result.errors:
            refused += 1
        elif not result.duplicate:
            stored += 1
    if stored:
        EVENTS_INGESTED.labels(app=app).inc(stored)
    if refused:
        INGEST_REJECTIONS.labels(reason="invalid_event").inc(refused)


def ingest_rejected(*, reason: str) -> None:
    """A whole tracking request refused (`reason`: the API's error kind, e.g. authentication)."""
    INGEST_REJECTIONS.labels(reason=reason).inc()


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def instruments_registry(path: str | None = None) -> CollectorRegistry:
    """What a scrape exposes of the instruments above: the sum over every process writing to
    the multiprocess directory (`path`, default PROMETHEUS_MULTIPROC_DIR), else this process's
    own registry."""
    path = path or multiprocess_dir()
    if not path:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry
