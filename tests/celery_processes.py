"""Real Celery workers and beat as subprocesses, for integration tests.

They run against the test database (`database_url()`) and Redis (`REDIS_URL`), each writing its
log to a file. `CeleryProcesses` starts them with environment overrides, SIGKILLs one on demand
and stops whatever is left at the end; its `report()` is every log (printed when the `with` block
fails; a fixture prints it at teardown, which pytest shows for a failed test).

    with CeleryProcesses(tmp_path, PUSH_QUEUE="push") as celery:
        beat = celery.beat()
        worker = celery.worker(queues="celery,push", DELIVERY_LEASE_SECONDS="3")
        wait_until(worker.is_ready, what="the worker to start", processes=celery)
        worker.kill()
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
# Runs side by side (other checkouts, CI) pick another Redis database with TEST_REDIS_URL.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

T = TypeVar("T")


def database_url() -> str:
    """The test database, as a URL for another process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class CeleryProcess:
    def __init__(self, name: str, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.log, self.killed = name, log, False
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *args],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so a kill takes all of it
            )

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def is_ready(self) -> bool:
        """A worker that consumes, or a beat that schedules."""
        return re.search(r"\bready\.$|beat: Starting\.\.\.", self.output(), re.M) is not None

    def results(self, task: str) -> list[str]:
        """What each run of `task` returned, in order (a worker logs this at info level)."""
        pattern = rf"Task {re.escape(task)}\[[^\]]+\] succeeded in \S+s: (.*)$"
        return re.findall(pattern, self.output(), re.M)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no acknowledgements, as when a machine dies."""
        self.killed = True
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=20)

    def terminate(self) -> None:
        """SIGTERM: a warm shutdown (see `wait`)."""
        if self.alive:
            self._signal(signal.SIGTERM)

    def wait(self, timeout: float = 20.0) -> None:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def _signal(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:
            pass


class CeleryProcesses:
    """Workers and beat for one test, sharing a var dir and `env`."""

    def __init__(self, var_dir: Path, **env: str) -> None:
        self.var_dir = var_dir
        var_dir.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "BEACON_VAR_DIR": str(var_dir),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.processes: list[CeleryProcess] = []

    def worker(self, *, queues: str = "celery", **env: str) -> CeleryProcess:
        name = f"worker{len(self.processes) + 1}"
        args = ["worker", "--pool=solo", f"--queues={queues}", f"--hostname={name}@%h"]
        args += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        return self._start(name, [*args, "--loglevel=info"], env)

    def beat(self, **env: str) -> CeleryProcess:
        scheduler = "django_celery_beat.schedulers:DatabaseScheduler"
        return self._start("beat", ["beat", f"--scheduler={scheduler}", "--loglevel=info"], env)

    def stop(self) -> None:
        """Warm shutdown of them all, together."""
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait()

    def report(self) -> str:
        return "\n".join(f"----- {p.name} -----\n{p.output()}" for p in self.processes)

    def check_alive(self) -> None:
        """Fail with the logs if a process died that was not killed on purpose."""
        for process in self.processes:
            assert process.alive or process.killed, f"{process.name} died (see its log)"

    def _start(self, name: str, args: list[str], env: dict[str, str]) -> CeleryProcess:
        log = self.var_dir / f"{name}.log"
        process = CeleryProcess(name, args, {**self.env, **env}, log)
        self.processes.append(process)
        return process

    def __enter__(self) -> CeleryProcesses:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        self.stop()
        if exc_type is not None:
            print(self.report())


def wait_until(
    condition: Callable[[], T],
    *,
    what: str,
    timeout: float = 60.0,
    processes: CeleryProcesses | None = None,
) -> T:
    """Poll `condition` until it is truthy and return it; fail after `timeout` seconds, or as
    soon as one of `processes` dies."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if processes is not None:
            processes.check_alive()
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.1)
    return value


@contextmanager
def enqueuing_to(url: str) -> Iterator[None]:
    """Tasks this process enqueues (the nudges sent on commit) go to the broker at `url`,
    instead of running inline as they do in the rest of the suite."""
    conf = celery_app.conf
    saved = conf.broker_url, conf.broker_transport_options, conf.task_always_eager
    _drop_connections()
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = url, {}, False
    try:
        yield
    finally:
        _drop_connections()
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = saved


def _drop_connections() -> None:
    # The app holds kombu's pools (one per broker URL, kept for the process's life) once it has
    # used them; dropping its references makes it take the pool of the current broker_url.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
