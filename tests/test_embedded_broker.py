"""The embedded broker of `make run` (config/broker.py) under load: two producers send at once
while two real workers consume, and every task runs exactly once, within 2 s of being sent.

kombu's own filesystem transport fails this: a worker read a half-written message and died, and
the tasks it would have run never ran (docs/reliability.md)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from tests.broker_probe import probe_log
from tests.celery_processes import ROOT, CeleryProcesses, wait_until

PRODUCERS = 2
PER_PRODUCER = 500
INTERVAL = 0.004  # together about 400 tasks a second, for 2.5 s
MAX_LATENCY = 2.0
GRACE = 5.0  # once the producers are done, how long the last tasks may take to show up


def test_every_task_sent_concurrently_runs_once_within_two_seconds(tmp_path):
    env = {"CELERY_BROKER_URL": "filesystem://", "CELERY_WORKER_INCLUDE": "tests.broker_probe"}
    with CeleryProcesses(tmp_path, **env) as celery:
        workers = [celery.worker(), celery.worker()]
        for worker in workers:
            wait_until(worker.is_ready, what="the workers to start", processes=celery)
        producers = [_producer(f"p{i}", celery.env) for i in range(PRODUCERS)]
        assert [p.wait(timeout=60) for p in producers] == [0] * PRODUCERS
        runs = _runs_after_grace(tmp_path)
        alive = all(worker.alive for worker in workers)
        errors = re.findall(r".*\b(?:ERROR|CRITICAL)\b.*", celery.report())

    expected = {f"p{i}-{n}" for i in range(PRODUCERS) for n in range(PER_PRODUCER)}
    counts = Counter(label for label, _ in runs)
    missing = expected - counts.keys()
    twice = [label for label, count in counts.items() if count > 1]
    latencies = sorted(latency for _, latency in runs) or [float("nan")]
    summary = (
        f"{len(expected)} sent, {len(missing)} never ran, {len(twice)} ran more than once, "
        f"latency median {latencies[len(latencies) // 2]:.3f} s, max {latencies[-1]:.3f} s; "
        f"workers {'alive' if alive else 'NOT ALL ALIVE'}, their errors: {errors[:3]}"
    )
    print(summary)
    assert not missing and not twice and alive and not errors, summary
    assert latencies[-1] < MAX_LATENCY, summary


def _producer(label: str, env: dict[str, str]) -> subprocess.Popen:
    args = [label, str(PER_PRODUCER), str(INTERVAL)]
    return subprocess.Popen([sys.executable, "-m", "tests.broker_probe", *args], cwd=ROOT, env=env)


def _runs_after_grace(var_dir: Path) -> list[tuple[str, float]]:
    """(label, seconds from sending to running) of each run, once all ran or GRACE is over."""
    deadline, log = time.monotonic() + GRACE, probe_log(var_dir)
    while True:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= PRODUCERS * PER_PRODUCER or time.monotonic() > deadline:
            return [(label, float(ran) - float(sent)) for label, sent, ran in map(str.split, lines)]
        time.sleep(0.2)
