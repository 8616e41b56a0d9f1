"""Delivery benchmark: event-to-push latency and broadcast throughput with a real Celery worker,
PostgreSQL, Redis and a local push service, against the CPU floor of encrypting one payload; and
an email broadcast through a local SMTP server, against the CPU floor of handing one message to
it.

    .venv/bin/python bench/delivery.py [--database-url postgres://postgres@127.0.0.1:5432/...]
        [--redis-url redis://127.0.0.1:6379/8] [--devices 20000] [--events 1000]
        [--trigger-rate 20] [--mobile-devices 6000] [--no-mixed] [--emails 20000]
        [--only push|email] [--repeat 3] [--wait-quiet 0.5] [--py-spy DIR] [--write-docs]

1. Drops and recreates the bench database, migrates it and installs the periodic tasks;
   empties the Redis database (broker).
2. Starts the local push service (tests/campaigns/push_service.py) in a process of its own, so
   that its HTTP threads don't share a GIL with this process: --devices subscriptions with
   verify=False (it records only what arrived when: a benchmark of the sender, not of this
   server's decryption) and --verify-pushes subscriptions with verify=True (the VAPID JWT is
   checked and the aes128gcm body decrypted). With --mobile-devices, also the local FCM, APNs
   and OneSignal (bench/mobile_fakes.py: one process each), which check what real ones check
   (OAuth2 access token, ES256 provider JWT over HTTP/2 and TLS, REST API key, the message).
3. Creates an app and subscribes --devices contacts to it through `events_ingest` (the service
   behind the tracking API), one web push device each, endpoint on the push service. With
   --mobile-devices N: an app per mobile provider (FCM, APNs, OneSignal), its credentials of
   that provider's fake set (encrypted under a PUSH_CREDENTIALS_KEYS made for the run), and N/3
   contacts each registering one device through `events_ingest` (FCM: android; APNs: ios;
   OneSignal: android, push_provider "onesignal").
4. Starts a Celery worker (prefork, --worker-concurrency processes) and beat (database
   scheduler: the periodic sweeps of config/schedules.py) as subprocesses, with production-like
   settings: DEBUG=false, persistent database connections, Redis broker, and
   WEBPUSH_ALLOW_HTTP_LOCALHOST=true (the push service speaks http on 127.0.0.1); the mobile
   fakes' URLs, the credentials key, and SSL_CERT_FILE trusting the APNs fake's certificate.
5. Sanity pass: an immediate event campaign is activated and the --verify-pushes contacts each
   track a purchase; every push must arrive at the verifying service with a valid VAPID JWT and
   a payload that decrypts to the rendered title (real encryption, proven end to end).
6. Per repeat (--repeat; medians reported):
   a. immediate trigger: --events purchases of distinct contacts, one `events_ingest` call each,
      spaced at --trigger-rate per second (latency, not saturation); latency = the push's
      arrival at the push service (its wall clock `at`) minus the time the ingest call started;
   b. broadcast: a broadcast campaign to every contact is activated (`campaign_activate`);
      measured: pushes/s between the first and the last arrival, pushes/s from the activation
      to the last arrival, and the time from the activation to the last arrival. Every device
      must get exactly one push, and every delivery row must end as sent.
   c. per mobile provider (--mobile-devices), one after the other: a broadcast to that
      provider's app, measured as b (arrivals at that provider's fake);
   d. mixed (unless --no-mixed): the four broadcasts (web and the three mobile apps) activated
      together: pushes/s of all of them, and of each provider within the mix.
   Before each phase: VACUUM ANALYZE (this server runs with autovacuum off) and, with
   --wait-quiet, a wait until other processes keep fewer than that many CPUs busy.
7. The floor: `push_floor.encryption_seconds()` (pywebpush encrypting one payload for one
   subscription, no network, one core), before and after the timings; the broadcast rate is
   printed as a ratio of 1 / floor.
8. Prints a table with the targets of the issue (PASS/MISS), and one per provider (pushes/s
   and worker CPU per push of phases b, c and d); --write-docs replaces the
   "## Delivery (bench/delivery.py)" section of docs/performance.md.

Steps 2-3 and 5-8 are the push part (--only push: nothing else). The email part (--emails N,
unless 0; --only email: nothing else) adds to step 2 a local SMTP server (bench/smtp_sink.py,
aiosmtpd in a process of its own, which counts the messages and discards them), to step 3 an app
with its email settings and N contacts with a subscribed address, and to step 4 the worker's
EMAIL_BACKEND (Django's SMTP backend), EMAIL_HOST and EMAIL_PORT of that server. Then, per
repeat, a broadcast email campaign (HTML with images and links, the text part made from it,
tracked links and opens) is activated; measured: emails/s between the first and the last arrival
at the server, from the activation, and the worker's CPU per email. Every address must get
exactly one email, every delivery row must end as sent, and the last message is parsed and
checked. The floor, before and after: the same message (EmailMultiAlternatives) built by Django
and handed to the same server over one connection of Django's SMTP backend in a bare loop in
this process (--email-floor-repeat times; CPU of this process per email), and the same with
Beacon's rendering of it for a delivery first (`email_message_build`); the report gives worker
CPU per email / floor. --write-docs replaces the "## Email broadcast (issue 18)" section.

CPU seconds used during each phase by the worker, beat, the push service, each mobile fake, the
bench database's PostgreSQL backends, this process and the rest of the machine are printed (from
/proc), and the 1-minute load average before and after. --py-spy DIR samples the worker's
processes (py-spy from PyPI: .venv/bin/pip install py-spy) during the trigger and broadcast
phases.

Why a broadcast per provider, and an app per provider: /proc tells the worker's CPU, not which
provider's pushes it went to, so one broadcast to a mixed audience gives no CPU per push per
provider. A phase whose pushes all go through one provider does: the worker's CPU over it,
divided by its pushes, is that provider's cost (rendering, claiming and recording included, as
for web push in phase b, measured the same way in the same run). One app per provider makes
each such audience a plain broadcast (no segment to evaluate first), and leaves phase b's
audience exactly what it was without --mobile-devices. The mixed phase then shows how long one
worker takes to serve them together; its CPU per push is of the mix only, and its figures per
provider tell where in the mix each provider's pushes went (the dispatcher claims rows by due
time, whatever their provider), not that provider's speed. Every phase checks that each device
got exactly one accepted push (by token, at its fake; for the mobile fakes also the rendered
title) and that every delivery row of its campaigns ended as sent, else the bench fails
(exit 1); deliveries sent only at a later attempt are counted and printed. Phases c and d add
rows to the deliveries table that the next run's phase b writes beside (the figures of b with
and without --mobile-devices are hence close, not identical).
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from measure import machine_busy_seconds, median, percentile, proc_stat, stop_py_spy, wait_quiet
from mobile_fakes import KINDS, NAMES, MobileFake, worker_settings
from smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
DOCS = ROOT / "docs" / "performance.md"
DOCS_HEADING = "## Delivery (bench/delivery.py)"
EMAIL_DOCS_HEADING = "## Email broadcast (issue 18)"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/beacon_bench_delivery"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"

# Targets from the issue.
TARGET_P99_SECONDS = 1.0
TARGET_FLOOR_RATIO = 0.5

sys.path.insert(0, str(ROOT))  # tests.campaigns.push_service, and Django's apps
sys.path.insert(0, str(ROOT / "bench"))  # push_floor (measure, mobile_fakes) under any runner


class BenchError(Exception):
    pass


def say(text: str) -> None:
    print(text, flush=True)


# --------------------------------------------------------------------------------------------
# The push service, in a process of its own
# --------------------------------------------------------------------------------------------


def _serve_pushes(conn) -> None:
    """Child process: a verify=False and a verify=True LocalPushService, driven over `conn`."""
    from tests.campaigns.push_service import LocalPushService

    services = {False: LocalPushService(verify=False), True: LocalPushService(verify=True)}
    for service in services.values():
        service.start()
    try:
        while True:
            command, verify, arg = conn.recv()
            service = services[verify]
            if command == "subscriptions":
                conn.send([service.subscription() for _ in range(arg)])
            elif command == "count":
                conn.send(len(service._received))
            elif command == "arrivals":  # (endpoint path, at, status, error, payload) since arg
                conn.send(
                    [
                        (urlsplit(r.endpoint).path, r.at, r.status, r.error, r.payload)
                        for r in service.received()[arg:]
                    ]
                )
            elif command == "stop":
                conn.send(None)
                return
    finally:
        for service in services.values():
            service.stop()


class PushServiceProcess:
    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve_pushes, args=(child,), daemon=True)
        self.process.start()

    def call(self, command: str, verify: bool = False, arg=None):
        self.conn.send((command, verify, arg))
        return self.conn.recv()

    def wait_for(self, count: int, *, timeout: float, verify: bool = False) -> int:
        deadline = time.monotonic() + timeout
        while (got := self.call("count", verify)) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return got

    def stop(self) -> None:
        if self.process.is_alive():
            self.call("stop")
        self.process.join(timeout=10)


# --------------------------------------------------------------------------------------------
# Worker and beat
# --------------------------------------------------------------------------------------------


def worker_env(args, var_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        CELERY_BROKER_URL=args.redis_url,
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or f"bench-{random.getrandbits(128):032x}",
        WEBPUSH_ALLOW_HTTP_LOCALHOST="true",
        BEACON_PUBLIC_URL="http://127.0.0.1:8000",
        LOG_LEVEL="WARNING",
        BEACON_VAR_DIR=var_dir,
        PYTHONUNBUFFERED="1",
        # the mobile apps' credentials are encrypted under it (here) and decrypted (the worker)
        PUSH_CREDENTIALS_KEYS=base64.urlsafe_b64encode(os.urandom(32)).decode(),
    )
    if args.push_send_concurrency:
        env["PUSH_SEND_CONCURRENCY"] = str(args.push_send_concurrency)
    return env


class Celery:
    """A celery worker or beat in its own process group, stopped on exit whatever happens."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: str) -> None:
        self.name = name
        self.log_path = Path(log_dir) / f"{name}.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "celery"), "-A", "config", *argv],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def pids(self) -> list[int]:
        """The main process and its children (prefork pool processes)."""
        pids = [self.process.pid]
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (stat := proc_stat(int(entry.name))):
                if stat[1] == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def check(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"celery {self.name} exited:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def start_celery(args, env: dict[str, str], var_dir: str) -> tuple[Celery, Celery]:
    log_dir = args.log_dir or var_dir
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    worker = Celery(
        "worker",
        [
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(args.worker_concurrency),
            "--loglevel",
            args.log_level,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
        log_dir,
    )
    pidfile = Path(var_dir) / "beat.pid"
    beat = Celery(
        "beat", ["beat", "--loglevel", args.log_level, "--pidfile", str(pidfile)], env, log_dir
    )
    return worker, beat


# --------------------------------------------------------------------------------------------
# CPU accounting (/proc)
# --------------------------------------------------------------------------------------------


def _command_lines():
    """(pid, command line as bytes) of every process still there."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                yield int(entry.name), Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue


def redis_pids() -> list[int]:
    pids = []
    for pid, command in _command_lines():
        words = command.replace(b"\0", b" ").split()
        if words and words[0].endswith(b"redis-server"):
            pids.append(pid)
    return pids


def postgres_pids(dbname: str) -> list[int]:
    """The bench database's backends, and the server's own processes that work for them (WAL
    writer, checkpointer, background writer); not other databases' backends."""
    marker = f" {dbname} ".encode()
    pids = []
    for pid, title in _command_lines():
        if not title.startswith(b"postgres: "):
            continue
        # a backend's title: "postgres: 15/main: user db 127.0.0.1(port) state" (or [local])
        backend = b"(" in title or b"[local]" in title
        if marker in title or not backend:
            pids.append(pid)
    return pids


@dataclass
class Cpu:
    """CPU seconds used between two snapshots, per part."""

    parts: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def line(self) -> str:
        text = ", ".join(f"{name} {sec:.1f}" for name, sec in self.parts.items())
        return f"CPU seconds over {self.wall:.1f} s: {text}"


class CpuMeter:
    """CPU seconds per group of processes over a phase, sampled every SAMPLE_SECONDS: a process
    that ends during the phase (a PostgreSQL backend: the worker replaces its connection every
    CELERY_DB_REUSE_MAX tasks) still counts up to its last sample, and one that starts counts
    from zero. Snapshots at the start and end alone made those backends' CPU vanish ("postgres"
    came out negative and their CPU landed in "others")."""

    SAMPLE_SECONDS = 0.25

    def __init__(self, groups) -> None:
        self.groups = groups  # name -> callable returning pids
        self._first: dict[int, float] = {}  # pid -> CPU seconds when first seen
        self._last: dict[int, float] = {}  # pid -> CPU seconds when last seen
        self._group_of: dict[int, str] = {}
        self._stop = threading.Event()

    def _sample(self, *, first: bool = False) -> None:
        for name, pids in self.groups.items():
            for pid in pids():
                if (stat := proc_stat(pid)) is None:
                    continue
                if pid not in self._group_of:
                    self._group_of[pid] = name
                    self._first[pid] = stat[2] if first else 0.0
                self._last[pid] = stat[2]

    def _run(self) -> None:
        while not self._stop.wait(self.SAMPLE_SECONDS):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._sample(first=True)
        self.process_start, self.machine_start = time.process_time(), machine_busy_seconds()
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        used = dict.fromkeys(self.groups, 0.0)
        for pid, name in self._group_of.items():
            used[name] += self._last[pid] - self._first[pid]
        used["this process"] = time.process_time() - self.process_start
        used["machine"] = machine_busy_seconds() - self.machine_start
        used["others"] = max(
            0.0, used["machine"] - sum(v for k, v in used.items() if k != "machine")
        )
        self.result = Cpu(used, time.monotonic() - self.started)


# --------------------------------------------------------------------------------------------
# Database and Django
# --------------------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    name = urlsplit(url).path.lstrip("/")
    admin = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


def configure_django(env: dict[str, str]) -> None:
    for name in (
        "DATABASE_URL",
        "CELERY_BROKER_URL",
        "DEBUG",
        "SECRET_KEY",
        "WEBPUSH_ALLOW_HTTP_LOCALHOST",
        "BEACON_PUBLIC_URL",
        "BEACON_VAR_DIR",
        "LOG_LEVEL",
        "PUSH_CREDENTIALS_KEYS",
    ):
        os.environ[name] = env[name]
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def vacuum_analyze() -> None:
    from django.db import connection

    # Every table, as autovacuum would have: contacts and devices never analysed made the
    # planner read a claim's 50 contacts with a sequential scan of all of them.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def subscribe(app, subscriptions: list, prefix: str, batch: int = 1000, **device: str) -> None:
    """One contact per subscription, as the browser SDK registers them; or per mobile device
    token, as the mobile SDKs do, with `device`'s platform (and push_provider)."""
    from events.services.ingest import events_ingest

    device = {"platform": "web", **device}
    event_name = "page_viewed" if device["platform"] == "web" else "app_started"
    for start in range(0, len(subscriptions), batch):
        payloads = [
            {
                "event_name": event_name,
                "app_user_id": f"{prefix}{start + i}",
                "device_token": subscription,
                "push_permission_granted": True,
                **device,
            }
            for i, subscription in enumerate(subscriptions[start : start + batch])
        ]
        results = events_ingest(app=app, payloads=payloads)
        errors = [r.errors for r in results if r.errors]
        if errors:
            raise BenchError(f"subscribing failed: {errors[:3]}")


def track_purchase(app, user: str, order: str) -> None:
    from events.services.ingest import events_ingest

    payload = {
        "event_name": "purchase_completed",
        "app_user_id": user,
        "params": {"order_id": order, "amount": 49.99},
    }
    result = events_ingest(app=app, payloads=[payload])[0]
    if result.errors:
        raise BenchError(f"ingest failed: {result.errors}")


# How each provider's devices register (the SDKs' platform and push_provider)
MOBILE_DEVICES = {
    "fcm": {"platform": "android", "push_provider": "fcm"},
    "apns": {"platform": "ios", "push_provider": "apns"},
    "onesignal": {"platform": "android", "push_provider": "onesignal"},
}


def mobile_audiences(fakes: dict[str, MobileFake], devices: int) -> dict[str, Audience]:
    """An app per mobile provider, with its fake's credentials and `devices` split equally
    among them (the first ones one more when it doesn't divide), a contact per device."""
    from contacts.services.apps import app_create

    audiences = {}
    for index, (kind, fake) in enumerate(fakes.items()):
        count = devices // len(fakes) + (index < devices % len(fakes))
        app = app_create(name=f"Delivery bench {fake.name}", tenant_id=f"delivery-bench-{kind}")
        credentials_set(kind, app, fake.setup)
        tokens = fake.tokens(count)
        subscribe(app, tokens, f"{kind}-", **MOBILE_DEVICES[kind])
        audiences[kind] = Audience(fake.name, app, fake, frozenset(tokens))
    return audiences


def credentials_set(kind: str, app, setup: dict) -> None:
    """The app's credentials for the fake of `kind` (its bench/mobile_fakes.py setup)."""
    from campaigns.services.credentials import (
        apns_credentials_set,
        fcm_credentials_set,
        onesignal_credentials_set,
    )

    if kind == "fcm":
        fcm_credentials_set(app=app, service_account=json.dumps(setup["account"]))
    elif kind == "apns":
        key = setup["key"]
        apns_credentials_set(
            app=app,
            key_id=key["key_id"],
            team_id=key["team_id"],
            bundle_id=key["bundle_id"],
            environment="sandbox",
            private_key=key["private_key"],
        )
    else:
        onesignal = setup["app"]
        onesignal_credentials_set(
            app=app, onesignal_app_id=onesignal["app_id"], api_key=onesignal["api_key"]
        )


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


BROADCAST_TITLE = "Spring sale, {{ contact.first_name | default: 'everyone' }}"
BROADCAST_RENDERED = "Spring sale, everyone"  # no contact of the bench has a first name


@dataclass
class Figures:
    """The arrivals of a broadcast's pushes at one fake, or at all of a phase's fakes."""

    pushes: int
    rate: float  # arrivals/s between the first and the last
    end_to_end: float  # pushes/s from the activation to the last arrival
    first: float  # seconds from the activation to the first arrival
    last: float  # seconds from the activation to the last arrival

    @classmethod
    def of(cls, times: list[float], activated: float) -> Figures:
        first, last = min(times), max(times)
        rate = (len(times) - 1) / (last - first) if last > first else float("nan")
        end_to_end = len(times) / (last - activated)
        return cls(len(times), rate, end_to_end, first - activated, last - activated)


@dataclass
class Broadcast:
    """A broadcast phase: figures per audience (by provider name) and of them all, and CPU."""

    audiences: dict[str, Figures]
    total: Figures
    cpu: Cpu
    retried: int = 0  # deliveries sent at a later attempt (a push service refused, or a reset)

    def ms_per_push(self, part: str) -> float:
        """CPU milliseconds of `part` ("worker", "machine", ...) per push of the phase."""
        return self.cpu.parts[part] * 1000 / self.total.pushes

    def line(self) -> str:
        return (
            f"  {self.total.rate:,.0f} pushes/s first to last, "
            f"{self.total.end_to_end:,.0f}/s from activation, last after "
            f"{self.total.last:.1f} s; {self.cpu.line()}"
            + (f"; {self.retried} deliveries needed retries" if self.retried else "")
        )


@dataclass
class Repeat:
    latencies: list[float] = field(default_factory=list)
    trigger_cpu: Cpu | None = None
    broadcast_rate: float = 0.0  # arrivals/s between the first and the last
    broadcast_end_to_end: float = 0.0  # pushes/s from the activation to the last arrival
    broadcast_first: float = 0.0  # seconds from the activation to the first arrival
    broadcast_last: float = 0.0  # seconds from the activation to the last arrival
    broadcast_cpu: Cpu | None = None
    load: tuple[float, float] = (0.0, 0.0)
    web: Broadcast | None = None  # the broadcast phase again, for the table per provider
    providers: dict[str, Broadcast] = field(default_factory=dict)  # mobile kind -> its phase
    mixed: Broadcast | None = None  # every audience at once


class WebPushFake:
    """The push service's verify=False side, seen as bench/mobile_fakes.py's fakes are."""

    name = "web push"
    shows_titles = False  # the payloads are not decrypted

    def __init__(self, service: PushServiceProcess) -> None:
        self.service = service

    def count(self) -> int:
        return self.service.call("count")

    def arrivals(self, offset: int) -> list[tuple]:
        """(endpoint path, at, accepted, why not, title) since the offset-th."""
        return [
            (path, at, status == 201, f"{status} {error or ''}".strip(), None)
            for path, at, status, error, _ in self.service.call("arrivals", False, offset)
        ]


@dataclass
class Audience:
    """An app's devices, all sent to through one provider, whose fake counts their pushes."""

    name: str  # the provider's
    app: object  # contacts.models.App
    fake: WebPushFake | MobileFake
    keys: frozenset[str]  # what tells the devices apart at the fake: endpoint path, or token
    elsewhere: int = 0  # deliveries of its broadcasts to other fakes (the verifying contacts)


def sanity_pass(app, service: PushServiceProcess, count: int, campaign_title: str) -> None:
    """Pushes to verifying subscriptions: VAPID checked, payload decrypted."""
    subscriptions = service.call("subscriptions", True, count)
    subscribe(app, subscriptions, "verify-")
    for i in range(count):
        track_purchase(app, f"verify-{i}", f"verify-order-{i}")
    got = service.wait_for(count, timeout=120, verify=True)
    arrivals = service.call("arrivals", True, 0)
    bad = [a for a in arrivals if a[2] != 201 or a[3] or not a[4]]
    titles = {a[4].get("title") for a in arrivals if a[4]}
    if got < count or bad or titles != {campaign_title}:
        raise BenchError(f"sanity pass failed: {got}/{count} arrived, refused {bad}, {titles}")
    say(f"  sanity: {count} pushes arrived with valid VAPID and decrypted to {titles.pop()!r}")


def trigger_phase(args, app, service, users: dict[str, str], run: int, groups, spy_pids) -> Repeat:
    """`users`: app user id -> the endpoint path of its device."""
    offset = service.call("count")
    started: dict[str, float] = {}
    interval = 1.0 / args.trigger_rate
    spies = start_py_spy(args, spy_pids(), f"trigger-{run}") if args.py_spy else []
    with CpuMeter(groups) as meter:
        clock = time.monotonic()
        for i, user in enumerate(users):
            clock += interval
            started[user] = time.time()
            track_purchase(app, user, f"r{run}-o{i}")
            time.sleep(max(0.0, clock - time.monotonic()))
        got = service.wait_for(offset + len(users), timeout=args.timeout) - offset
    stop_py_spy(spies)
    arrivals = service.call("arrivals", False, offset)
    result = Repeat(trigger_cpu=meter.result)
    by_path = {}
    for path, at, status, error, _ in arrivals:
        if status != 201:
            raise BenchError(f"push to {path} refused: {status} {error}")
        by_path.setdefault(path, at)
    if got != len(users) or len(by_path) != len(users):
        raise BenchError(f"trigger phase: {got} pushes for {len(users)} events")
    for user, path in users.items():
        result.latencies.append(by_path[path] - started[user])
    return result


def broadcast_phase(args, web: Audience, groups, result: Repeat, run: int, spy_pids) -> None:
    done = broadcast(args, [web], groups, f"broadcast-{run}", spy_pids)
    result.web, result.broadcast_cpu = done, done.cpu
    result.broadcast_rate = done.total.rate
    result.broadcast_end_to_end = done.total.end_to_end
    result.broadcast_first = done.total.first
    result.broadcast_last = done.total.last


def broadcast(args, audiences: list[Audience], groups, phase: str, spy_pids) -> Broadcast:
    """A broadcast campaign per audience, activated one right after the other; measured until
    every fake has had as many pushes as its audience has devices. Then checked: each device
    got exactly one accepted push, and every delivery row of the campaigns ended as sent."""
    from campaigns.models import Campaign
    from campaigns.services.campaigns import campaign_activate, campaign_create

    campaigns = [
        campaign_create(
            app=audience.app,
            name=f"Bench {phase} ({audience.name})",
            kind=Campaign.Kind.BROADCAST,
            title=BROADCAST_TITLE,
            body="20% off everything until Sunday",
            url="https://shop.example/sale",
        )
        for audience in audiences
    ]
    offsets = [audience.fake.count() for audience in audiences]
    spies = start_py_spy(args, spy_pids(), phase) if args.py_spy else []
    with CpuMeter(groups) as meter:
        activated = time.time()
        for campaign in campaigns:
            campaign_activate(campaign=campaign)
        deadline = time.monotonic() + args.timeout
        for audience, offset in zip(audiences, offsets, strict=True):
            wait_count(audience.fake, offset + len(audience.keys), deadline)
    stop_py_spy(spies)
    arrivals = [a.fake.arrivals(offset) for a, offset in zip(audiences, offsets, strict=True)]
    for audience, got in zip(audiences, arrivals, strict=True):
        arrivals_check(phase, audience, got)
    # The audience of the web app includes the sanity pass's contacts (their pushes go to the
    # verifying service). The last send task writes its outcomes after its last push.
    retried = deliveries_check(phase, campaigns, sum(len(a.keys) + a.elsewhere for a in audiences))
    for audience, offset in zip(audiences, offsets, strict=True):
        if late := audience.fake.count() - offset - len(audience.keys):
            raise BenchError(f"{phase}: {late} more pushes reached the {audience.name} fake")
    times = {a.name: [x[1] for x in got] for a, got in zip(audiences, arrivals, strict=True)}
    every = [at for name_times in times.values() for at in name_times]
    per_audience = {name: Figures.of(name_times, activated) for name, name_times in times.items()}
    return Broadcast(per_audience, Figures.of(every, activated), meter.result, retried)


def wait_count(fake: WebPushFake | MobileFake, count: int, deadline: float) -> int:
    while (got := fake.count()) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return got


def arrivals_check(phase: str, audience: Audience, arrivals: list[tuple]) -> None:
    """Each device of the audience got exactly one push, and the fake accepted it (and, where
    the fake shows titles, the title was rendered)."""
    per_device = Counter(arrival[0] for arrival in arrivals)
    refused = [arrival for arrival in arrivals if not arrival[2]]
    untitled = [a for a in arrivals if audience.fake.shows_titles and a[4] != BROADCAST_RENDERED]
    problems = {
        "devices without a push": len(audience.keys - per_device.keys()),
        "devices with more than one": sum(1 for n in per_device.values() if n > 1),
        "to devices not of the audience": len(per_device.keys() - audience.keys),
        "refused": len(refused),
        "with another title": len(untitled),
    }
    if any(problems.values()):
        detail = ", ".join(f"{n} {what}" for what, n in problems.items() if n)
        examples = [(a[0], a[3]) for a in refused[:3]] + [(a[0], a[4]) for a in untitled[:3]]
        raise BenchError(
            f"{phase}: {len(arrivals)} pushes at the {audience.name} fake for "
            f"{len(audience.keys)} devices: {detail}; e.g. {examples}"
        )


def deliveries_check(phase: str, campaigns: list, expected: int, timeout: float = 60.0) -> int:
    """Every delivery row of the campaigns ends as sent, `expected` of them. Returns how many
    were sent at a later attempt."""
    from django.db.models import Count

    from campaigns.models import Delivery

    deadline = time.monotonic() + timeout
    while True:
        rows = Delivery.objects.filter(campaign__in=campaigns).order_by().values_list("status")
        states = dict(rows.annotate(n=Count("pk")))
        if states == {Delivery.Status.SENT: expected}:
            return rows.filter(attempts__gt=1).count()
        if time.monotonic() > deadline:
            raise BenchError(f"{phase}: delivery rows {states}, not {expected} sent")
        time.sleep(0.2)


def mobile_phases(args, web: Audience, mobile: dict[str, Audience], groups, result, run, spy):
    """A broadcast per mobile provider's app, one after the other; then (--mixed) the web and
    mobile broadcasts together."""
    for kind, audience in mobile.items():
        vacuum_analyze()
        wait_quiet(args.wait_quiet, args.wait_timeout, say=say)
        say(f"Run {run + 1}: broadcast to {len(audience.keys):,} {audience.name} devices")
        result.providers[kind] = broadcast(args, [audience], groups, f"broadcast-{kind}-{run}", spy)
        say(result.providers[kind].line())
    if mobile and args.mixed:
        audiences = [web, *mobile.values()]
        vacuum_analyze()
        wait_quiet(args.wait_quiet, args.wait_timeout, say=say)
        total = sum(len(audience.keys) for audience in audiences)
        say(f"Run {run + 1}: mixed broadcast to {total:,} devices (web push and mobile at once)")
        result.mixed = broadcast(args, audiences, groups, f"broadcast-mixed-{run}", spy)
        say(result.mixed.line())
        say(
            "  of which "
            + "; ".join(
                f"{name}: {figures.rate:,.0f}/s first to last, last after {figures.last:.1f} s"
                for name, figures in result.mixed.audiences.items()
            )
        )


def start_py_spy(args, pids: list[int], phase: str) -> list[subprocess.Popen]:
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        raise BenchError("--py-spy needs py-spy (.venv/bin/pip install py-spy)")
    Path(args.py_spy).mkdir(parents=True, exist_ok=True)
    spies = []
    for pid in pids:
        output = Path(args.py_spy) / f"{phase}-{pid}.txt"
        command = [spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw"]
        command += ["--nonblocking", "--idle", "--output", str(output)]
        spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    time.sleep(1.0)  # let py-spy attach
    return spies


# --------------------------------------------------------------------------------------------
# Email: a broadcast through the local SMTP server, beside the floor of handing one message to it
# --------------------------------------------------------------------------------------------


EMAIL_DOMAIN = "bench.example"
# A newsletter as a shop sends one: a heading, three products with image and link, a button.
# The text part is made from it, links are tracked and the open pixel and footer added (the
# campaign's defaults).
EMAIL_HTML = (
    "<html><body><h1>Spring sale, {{ contact.first_name | default: 'everyone' }}</h1>"
    "<p>20% off everything until Sunday. Our picks for you:</p><ul>"
    + "".join(
        f'<li><a href="https://shop.example/p/{sku}"><img src="https://shop.example/i/{sku}.jpg"'
        f' alt="{name}" width="120"></a> {name}: <s>{price}</s> {price * 0.8:.2f} EUR</li>'
        for sku, name, price in (
            ("shirt-12", "Linen shirt", 49.5),
            ("socks-3", "Wool socks", 12.0),
            ("cap-7", "Canvas cap", 24.0),
        )
    )
    + '</ul><p><a href="https://shop.example/sale?utm_source=email">See the whole sale</a></p>'
    "</body></html>"
)


@dataclass
class EmailAudience:
    app: object  # contacts.models.App
    email_settings: object  # campaigns.models.EmailSettings
    addresses: frozenset[str]


def email_campaign_fields() -> dict:
    from campaigns.models import Campaign

    return {
        "kind": Campaign.Kind.BROADCAST,
        "channel": Campaign.Channel.EMAIL,
        "title": BROADCAST_TITLE,
        "preheader": "20% off everything until Sunday",
        "html_body": EMAIL_HTML,
    }


def email_setup(count: int, batch: int = 2000) -> EmailAudience:
    """An app with its email settings and `count` contacts with a subscribed address. The
    contacts are inserted directly: how an address arrives (the API, identify, a mapping rule)
    is not what this measures."""
    from campaigns.services.policy import email_settings_update
    from contacts.models import Contact
    from contacts.services.apps import app_create

    say(f"Creating {count:,} contacts with an email address")
    app = app_create(name="Email bench", tenant_id="email-bench")
    email_settings = email_settings_update(
        app=app, from_email="news@shop.example", from_name="Shop", reply_to="help@shop.example"
    )
    addresses = [f"e{i}@{EMAIL_DOMAIN}" for i in range(count)]
    for start in range(0, count, batch):
        Contact.objects.bulk_create(
            Contact(app=app, external_id=f"e{start + i}", email=address)
            for i, address in enumerate(addresses[start : start + batch])
        )
    return EmailAudience(app, email_settings, frozenset(addresses))


@dataclass
class EmailFloor:
    """This process's CPU seconds per email in a bare loop over one SMTP connection."""

    handover: float  # the broadcast's message built by Django's email classes and sent
    rendered: float  # the same, rendered for a delivery first (Beacon's email_message_build)
    rate: float  # emails/s of the handover loop (one connection, one after the other)
    size: int  # bytes of the message as sent


def email_floor(audience: EmailAudience, port: int, repeat: int) -> EmailFloor:
    """The floor: the message the worker sends for one of the broadcast's deliveries (a draft
    campaign with the same fields, a delivery row not saved), built anew as the same
    EmailMultiAlternatives and handed to the local SMTP server `repeat` times over one
    connection of Django's SMTP backend; then `repeat` times with Beacon's rendering of it for
    the delivery first (Liquid, tracked links, open pixel, footer, headers). No database."""
    import secrets

    from django.core.mail import EmailMultiAlternatives, get_connection

    from campaigns.models import Delivery
    from campaigns.services.campaigns import campaign_create
    from campaigns.services.email_messages import email_message_build
    from contacts.models import Contact

    campaign = campaign_create(
        app=audience.app, name="Bench: email floor", **email_campaign_fields()
    )
    contact = Contact.objects.filter(app=audience.app).order_by("pk").first()
    row = Delivery(
        pk=0,
        app=audience.app,
        campaign=campaign,
        contact=contact,
        channel=Delivery.Channel.EMAIL,
        open_token=secrets.token_urlsafe(32),
        event_params={},
    )

    def rendered() -> EmailMultiAlternatives:
        return email_message_build(
            row=row, email_settings=audience.email_settings, address=contact.email
        )

    sample = rendered()
    [(html, mimetype)] = sample.alternatives

    def same() -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=sample.subject,
            body=sample.body,
            from_email=sample.from_email,
            to=sample.to,
            reply_to=sample.reply_to,
            headers=sample.extra_headers,
        )
        message.attach_alternative(html, mimetype)
        return message

    backend = "django.core.mail.backends.smtp.EmailBackend"
    connection = get_connection(
        backend, host="127.0.0.1", port=port, username="", password="", fail_silently=False
    )
    seconds = []
    with connection:
        for build in (same, rendered):
            cpu, wall = time.process_time(), time.monotonic()
            for _ in range(repeat):
                if connection.send_messages([build()]) != 1:
                    raise BenchError("the floor's SMTP server took no message")
            seconds.append(((time.process_time() - cpu) / repeat, time.monotonic() - wall))
    (handover, wall), (with_rendering, _) = seconds
    size = len(sample.message().as_bytes())
    return EmailFloor(handover, with_rendering, repeat / wall, size)


@dataclass
class EmailBroadcast:
    figures: Figures  # of the arrivals at the SMTP server (its `pushes`: emails)
    cpu: Cpu
    retried: int  # deliveries sent at a later attempt
    load: tuple[float, float] = (0.0, 0.0)

    def ms_per_email(self, part: str) -> float:
        return self.cpu.parts[part] * 1000 / self.figures.pushes

    def line(self) -> str:
        return (
            f"  {self.figures.rate:,.0f} emails/s first to last, "
            f"{self.figures.end_to_end:,.0f}/s from activation, last after "
            f"{self.figures.last:.1f} s; worker CPU {self.ms_per_email('worker'):.2f} ms per "
            f"email; {self.cpu.line()}"
            + (f"; {self.retried} deliveries needed retries" if self.retried else "")
        )


def email_runs(args, audience: EmailAudience, sink: SmtpSink, groups, worker, beat):
    """Per repeat, an email broadcast to every contact, between two measures of the floor.
    Returns (broadcasts, floors) for `email_report`."""
    worker.check()
    beat.check()
    floors = [email_floor(audience, sink.port, args.email_floor_repeat)]
    say(
        f"  email floor: {floors[0].handover * 1000:.3f} ms of CPU per email handed over, "
        f"{floors[0].rendered * 1000:.3f} ms rendered and handed over"
    )
    broadcasts = []
    for run_index in range(args.repeat):
        vacuum_analyze()
        wait_quiet(args.wait_quiet, args.wait_timeout, say=say)
        say(f"Run {run_index + 1}: email broadcast to {len(audience.addresses):,} contacts")
        load_before = os.getloadavg()[0]
        done = email_broadcast(args, audience, sink, groups, f"email-{run_index}", worker)
        done.load = (load_before, os.getloadavg()[0])
        say(done.line())
        broadcasts.append(done)
        worker.check()
    wait_quiet(args.wait_quiet, args.wait_timeout, say=say)
    floors.append(email_floor(audience, sink.port, args.email_floor_repeat))
    return broadcasts, floors


def email_broadcast(args, audience: EmailAudience, sink: SmtpSink, groups, phase, worker: Celery):
    """A broadcast email campaign, activated and measured until the SMTP server has had one
    message per contact (failing at once if the worker dies). Then checked: each address got
    exactly one, every delivery row ended as sent, and the latest message is the rendered
    campaign."""
    from campaigns.services.campaigns import campaign_activate, campaign_create

    campaign = campaign_create(app=audience.app, name=f"Bench {phase}", **email_campaign_fields())
    expected = len(audience.addresses)
    offset = sink.count()
    spies = start_py_spy(args, worker.pids(), phase) if args.py_spy else []
    with CpuMeter(groups) as meter:
        activated = time.time()
        campaign_activate(campaign=campaign)
        deadline = time.monotonic() + args.timeout
        while sink.count() < offset + expected and time.monotonic() < deadline:
            worker.check()
            time.sleep(0.2)
    stop_py_spy(spies)
    arrivals = sink.arrivals(offset)
    per_address = Counter(address for recipients, _ in arrivals for address in recipients)
    problems = {
        "addresses without an email": len(audience.addresses - per_address.keys()),
        "addresses with more than one": sum(1 for n in per_address.values() if n > 1),
        "to addresses not of the audience": len(per_address.keys() - audience.addresses),
    }
    if any(problems.values()):
        detail = ", ".join(f"{n} {what}" for what, n in problems.items() if n)
        raise BenchError(f"{phase}: {len(arrivals)} emails for {expected} contacts: {detail}")
    retried = deliveries_check(phase, [campaign], expected)
    if late := sink.count() - offset - expected:
        raise BenchError(f"{phase}: {late} more emails reached the SMTP server")
    email_check(phase, sink.last(), audience)
    return EmailBroadcast(Figures.of([at for _, at in arrivals], activated), meter.result, retried)


def email_check(phase: str, raw: bytes, audience: EmailAudience) -> None:
    """The message is the campaign rendered for its contact: subject, both parts, tracking,
    the one-click unsubscribe headers."""
    import email
    from email.policy import default

    message = email.message_from_bytes(raw, policy=default)
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    checks = {
        "subject": message["Subject"] == BROADCAST_RENDERED,
        "recipient": message["To"] in audience.addresses,
        "text part": text is not None and "Linen shirt: 49.5 39.60 EUR" in text.get_content(),
        "HTML part": html is not None and "Wool socks: <s>12.0</s> 9.60 EUR" in html.get_content(),
        "tracked links": html is not None and html.get_content().count("/email/click/") == 4,
        "open pixel": html is not None and "/email/open/" in html.get_content(),
        "one-click unsubscribe": message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        and "/email/unsubscribe/" in (message["List-Unsubscribe"] or ""),
    }
    if failed := [what for what, ok in checks.items() if not ok]:
        raise BenchError(
            f"{phase}: the email sent is not as rendered ({', '.join(failed)}):\n{raw[:3000]!r}"
        )


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def code_version() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "campaigns", "events", "contacts", "config")
    return f"{commit}{' (modified)' if dirty else ''}"


def report(args, repeats: list[Repeat], floors: list[float]) -> str:
    floor = median(floors)
    floor_rate = 1 / floor
    p50 = median(percentile(r.latencies, 0.50) for r in repeats)
    p99 = median(percentile(r.latencies, 0.99) for r in repeats)
    rate = median(r.broadcast_rate for r in repeats)
    e2e = median(r.broadcast_end_to_end for r in repeats)
    last = median(r.broadcast_last for r in repeats)
    first = median(r.broadcast_first for r in repeats)
    loads = ", ".join(f"{r.load[0]:.2f} -> {r.load[1]:.2f}" for r in repeats)
    worker_ms = [r.broadcast_cpu.parts["worker"] * 1000 / args.devices for r in repeats]
    machine_ms = [r.broadcast_cpu.parts["machine"] * 1000 / args.devices for r in repeats]
    lines = [
        f"Code {args.code_version}; {args.devices:,} subscribed contacts, one web push device "
        f"each; worker: prefork, concurrency {args.worker_concurrency}, "
        f"PUSH_SEND_CONCURRENCY {args.push_send_concurrency or 'default (8)'}; beat "
        f"(database scheduler); trigger events at {args.trigger_rate:g}/s; medians of "
        f"{len(repeats)} runs. Machine load average (1 min) per run, before -> after: {loads} "
        f"(2 cores).",
        "",
        f"Floor: pywebpush encrypting one payload (no network, one core) = "
        f"**{floor * 1000:.3f} ms** ({floor_rate:,.0f} payloads/s; before/after: "
        f"{', '.join(f'{f * 1000:.3f}' for f in floors)} ms).",
        "",
        "| phase | figure | per run |",
        "|---|---|---|",
        f"| immediate trigger, {args.events:,} events: p50 | {p50 * 1000:.0f} ms | "
        + ", ".join(f"{percentile(r.latencies, 0.5) * 1000:.0f}" for r in repeats)
        + " |",
        f"| immediate trigger: p99 | **{p99 * 1000:.0f} ms** | "
        + ", ".join(f"{percentile(r.latencies, 0.99) * 1000:.0f}" for r in repeats)
        + " |",
        "| immediate trigger: max | "
        f"{median(max(r.latencies) for r in repeats) * 1000:.0f} ms | "
        + ", ".join(f"{max(r.latencies) * 1000:.0f}" for r in repeats)
        + " |",
        f"| broadcast to {args.devices:,}: pushes/s, first to last arrival | **{rate:,.0f}** "
        f"({rate / floor_rate:.3f}x floor) | "
        + ", ".join(f"{r.broadcast_rate:,.0f}" for r in repeats)
        + " |",
        f"| broadcast: pushes/s from activation | {e2e:,.0f} ({e2e / floor_rate:.3f}x floor) | "
        + ", ".join(f"{r.broadcast_end_to_end:,.0f}" for r in repeats)
        + " |",
        f"| broadcast: activation to first arrival | {first:.1f} s | "
        + ", ".join(f"{r.broadcast_first:.1f}" for r in repeats)
        + " |",
        f"| broadcast: activation to last arrival | **{last:.1f} s** | "
        + ", ".join(f"{r.broadcast_last:.1f}" for r in repeats)
        + " |",
        # CPU per push moves less than rates with the host's speed: the figure to compare
        f"| broadcast: worker CPU per push | {median(worker_ms):.2f} ms | "
        + ", ".join(f"{ms:.2f}" for ms in worker_ms)
        + " |",
        f"| broadcast: machine CPU per push (every process) | {median(machine_ms):.2f} ms | "
        + ", ".join(f"{ms:.2f}" for ms in machine_ms)
        + " |",
        "",
        "CPU seconds per phase (first run): trigger: "
        + _cpu_text(repeats[0].trigger_cpu)
        + "; broadcast: "
        + _cpu_text(repeats[0].broadcast_cpu)
        + ".",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| immediate trigger p99 < {TARGET_P99_SECONDS * 1000:.0f} ms | {p99 * 1000:.0f} ms | "
        f"{'PASS' if p99 < TARGET_P99_SECONDS else 'MISS'} |",
        f"| broadcast >= {TARGET_FLOOR_RATIO:.0%} of the encryption floor | "
        f"{rate / floor_rate:.1%} ({rate:,.0f} of {floor_rate:,.0f} pushes/s) | "
        f"{'PASS' if rate / floor_rate >= TARGET_FLOOR_RATIO else 'MISS'} |",
    ]
    if repeats[0].providers:
        lines += ["", provider_report(repeats)]
    return "\n".join(lines)


def provider_report(repeats: list[Repeat]) -> str:
    """The table per provider: the web broadcast phase, each mobile provider's, the mixed one."""
    rows = [("web push", [r.web for r in repeats])]
    rows += [(NAMES[kind], [r.providers[kind] for r in repeats]) for kind in KINDS]
    if repeats[0].mixed is not None:
        rows.append(("mixed: all four at once", [r.mixed for r in repeats]))
    lines = [
        "Per provider: the broadcast above (web push), then a broadcast to each mobile "
        "provider's app in turn (only its devices, so the worker's CPU over the phase is that "
        "provider's), against local fakes in processes of their own (FCM: OAuth2 access token, "
        "HTTP/1.1; APNs: ES256 provider token, HTTP/2 over TLS; OneSignal: REST API key, "
        "HTTP/1.1)"
        + (
            "; then the four broadcasts activated together (mixed: its rows per provider say "
            "when that provider's pushes were sent within the mix, not how fast it is)."
            if repeats[0].mixed is not None
            else "."
        )
        + (" Medians, per run in brackets." if len(repeats) > 1 else ""),
        "",
        "| broadcast | pushes | pushes/s, first to last arrival | pushes/s from activation | "
        "activation to last arrival | worker CPU per push | machine CPU per push |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, phases in rows:
        lines.append(_provider_row(name, [p.total for p in phases], phases))
    if repeats[0].mixed is not None:
        for name in repeats[0].mixed.audiences:
            figures = [r.mixed.audiences[name] for r in repeats]
            lines.append(_provider_row(f"mixed: its {name} pushes", figures, None))
    cpu = [f"{name}: {_cpu_text(phases[0].cpu)}" for name, phases in rows[1:]]
    lines += ["", "CPU seconds per phase (first run): " + "; ".join(cpu) + "."]
    return "\n".join(lines)


def _provider_row(name: str, figures: list[Figures], phases: list[Broadcast] | None) -> str:
    cells = [
        f"{figures[0].pushes:,}",
        _cell([f.rate for f in figures], "{:,.0f}"),
        _cell([f.end_to_end for f in figures], "{:,.0f}"),
        _cell([f.last for f in figures], "{:.1f}", " s"),
    ]
    for part in ("worker", "machine"):
        per_push = [p.ms_per_push(part) for p in phases] if phases else None
        cells.append(_cell(per_push, "{:.2f}", " ms") if per_push else "-")
    return f"| {name} | " + " | ".join(cells) + " |"


def _cell(values: list[float], form: str, unit: str = "") -> str:
    """The median, and with more than one run each run's value in brackets."""
    text = form.format(median(values)) + unit
    if len(values) > 1:
        text += f" ({', '.join(form.format(v) for v in values)})"
    return text


def _cpu_text(cpu: Cpu | None) -> str:
    if cpu is None:
        return "-"
    parts = ", ".join(f"{name} {sec:.1f}" for name, sec in cpu.parts.items() if name != "machine")
    return f"{parts} (of {cpu.parts['machine']:.1f} busy in {cpu.wall:.1f} s)"


NOTES_MARKER = "<!-- bench/delivery.py: the notes below are written by hand and kept -->"


def write_docs(heading: str, command: str, setup: str, body: str) -> None:
    """Replace the section `heading` of docs/performance.md up to NOTES_MARKER (hand-written
    analysis after it, and the rest of the file, are kept)."""
    text = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    block = f"{heading}\n\n```\n{command}\n```\n\n{setup}\n\n{body}\n"
    section = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.M | re.S)
    found = section.search(text)
    if found is None:
        text = f"{text.rstrip()}\n\n{block}\n{NOTES_MARKER}\n"
    else:
        notes = found.group(0).partition(NOTES_MARKER)[2]
        block += f"\n{NOTES_MARKER}{notes}" if notes else f"\n{NOTES_MARKER}\n\n"
        text = text[: found.start()] + block + text[found.end() :]
    DOCS.write_text(text.rstrip("\n") + "\n")


SETUP_TEXT = (
    "Setup: fresh PostgreSQL 15 database (stock settings of this server, autovacuum off, so "
    "the script runs VACUUM ANALYZE before each phase), Redis 7 broker, one Celery worker "
    "(prefork, 4 processes as README's production layout: with 2, each process waits on "
    "PostgreSQL and the push service between its bursts of encryption and the 2 cores were "
    "~80% busy) and beat as subprocesses with DEBUG=false; "
    "the local push service (tests/campaigns/push_service.py, verify=False for the timings) "
    "in a process of its own on 127.0.0.1; events through `events_ingest` (the tracking "
    "API's service) in the bench process. A sanity pass first sends to verifying "
    "subscriptions (VAPID JWT checked, aes128gcm payload decrypted). Every device gets "
    "exactly one push per phase (checked)."
)

EMAIL_SETUP_TEXT = (
    "Setup: as for the pushes above (fresh PostgreSQL database, Redis broker, one Celery worker "
    "with 4 prefork processes and beat, DEBUG=false), the worker sending through Django's SMTP "
    "backend (EMAIL_HOST=127.0.0.1, no TLS) to a local SMTP server (bench/smtp_sink.py: "
    "aiosmtpd in a process of its own, which notes each message's recipients and arrival time "
    "and discards it). The contacts are inserted with a subscribed address; the email is a "
    "newsletter with HTML (three products with image and link, a button) and the text part "
    "made from it, links tracked, open pixel, unsubscribe footer and headers. Every address "
    "gets exactly one email per run and every delivery row ends as sent (checked), and the "
    "last message is parsed (subject, both parts, tracking, List-Unsubscribe)."
)


def email_report(args, broadcasts: list[EmailBroadcast], floors: list[EmailFloor]) -> str:
    floor = median(f.handover for f in floors)
    rendered = median(f.rendered for f in floors)
    worker_ms = [b.ms_per_email("worker") for b in broadcasts]
    machine_ms = [b.ms_per_email("machine") for b in broadcasts]
    loads = ", ".join(f"{b.load[0]:.2f} -> {b.load[1]:.2f}" for b in broadcasts)
    runs = f"medians of {len(broadcasts)} runs" if len(broadcasts) > 1 else "one run"

    def row(name: str, values: list[float], form: str, unit: str = "", bold=False) -> str:
        value = form.format(median(values)) + unit
        return (
            f"| {name} | {f'**{value}**' if bold else value} | "
            + ", ".join(form.format(v) for v in values)
            + " |"
        )

    return "\n".join(
        [
            f"Code {args.code_version}; {args.emails:,} "
            f"contacts with a subscribed address; an email of {floors[0].size / 1024:.1f} KB "
            f"each; worker: prefork, concurrency {args.worker_concurrency}; beat (database "
            f"scheduler); {runs}. Machine load average (1 min) per run, before -> after: "
            f"{loads} ({os.cpu_count()} cores).",
            "",
            f"Floor: the same message (EmailMultiAlternatives, text and HTML, the same headers) "
            f"built by Django and handed to the local SMTP server over one connection of "
            f"Django's SMTP backend, {args.email_floor_repeat:,} times in a bare loop in the "
            f"bench process = **{floor * 1000:.3f} ms** of CPU per email "
            f"({median(f.rate for f in floors):,.0f} emails/s on that one connection; "
            f"before/after: {', '.join(f'{f.handover * 1000:.3f}' for f in floors)} ms). "
            f"With Beacon's rendering of it for a delivery first (`email_message_build`: Liquid, "
            f"text part from the HTML, tracked links, pixel, footer, headers): "
            f"{rendered * 1000:.3f} ms.",
            "",
            "| email broadcast | figure | per run |",
            "|---|---|---|",
            row(
                f"to {args.emails:,}: emails/s, first to last arrival",
                [b.figures.rate for b in broadcasts],
                "{:,.0f}",
                bold=True,
            ),
            row("emails/s from activation", [b.figures.end_to_end for b in broadcasts], "{:,.0f}"),
            row(
                "activation to first arrival", [b.figures.first for b in broadcasts], "{:.1f}", " s"
            ),
            row("activation to last arrival", [b.figures.last for b in broadcasts], "{:.1f}", " s"),
            row("worker CPU per email", worker_ms, "{:.2f}", " ms", bold=True),
            row(
                "worker CPU per email / floor",
                [ms / (floor * 1000) for ms in worker_ms],
                "{:.1f}",
                "x",
                bold=True,
            ),
            row("machine CPU per email (every process)", machine_ms, "{:.2f}", " ms"),
            "",
            f"CPU seconds per phase (first run): {_cpu_text(broadcasts[0].cpu)}.",
        ]
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="broker (flushed)")
    parser.add_argument("--devices", type=int, default=20_000, help="broadcast audience")
    parser.add_argument("--events", type=int, default=1000, help="trigger events per run")
    parser.add_argument("--trigger-rate", type=float, default=20.0, help="events per second")
    parser.add_argument(
        "--mobile-devices",
        type=int,
        default=6000,
        help="split equally among FCM, APNs and OneSignal, an app each (0: none)",
    )
    parser.add_argument(
        "--mixed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --mobile-devices, also the web and mobile broadcasts at once",
    )
    parser.add_argument(
        "--emails", type=int, default=20_000, help="email broadcast audience (0: no email part)"
    )
    parser.add_argument(
        "--email-floor-repeat", type=int, default=2000, help="emails per measure of the floor"
    )
    parser.add_argument(
        "--only", choices=("push", "email"), help="run only the push part, or only the email part"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker-concurrency", type=int, default=4, help="as README")
    parser.add_argument("--push-send-concurrency", type=int, help="default: the setting's")
    parser.add_argument("--verify-pushes", type=int, default=5, help="sanity pass pushes")
    parser.add_argument("--floor-repeat", type=int, default=1000, help="pushes encrypted")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per phase")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        metavar="CPUS",
        help="before each phase, wait until fewer than CPUS cores are busy (e.g. 0.5)",
    )
    parser.add_argument("--wait-timeout", type=float, default=600, help="seconds (--wait-quiet)")
    parser.add_argument("--log-dir", help="keep the worker's and beat's logs there")
    parser.add_argument("--log-level", default="WARNING", help="of the worker and beat")
    parser.add_argument("--py-spy", metavar="DIR", help="sample the worker during the phases")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args(argv)
    if args.only == "email" and args.emails < 1:
        parser.error("--only email needs --emails")
    if args.only != "email" and args.events > args.devices:
        parser.error("--events must not exceed --devices (one contact per event)")
    if args.mobile_devices and args.mobile_devices < len(KINDS):
        parser.error(f"--mobile-devices must be 0 or at least {len(KINDS)} (one per provider)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # A plain `kill` must stop the worker, beat and the fake servers too (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    var_dir = tempfile.mkdtemp(prefix="bench-delivery-")
    try:
        return run(args, var_dir)
    except BenchError as exc:
        say(f"FAILED: {exc}")
        return 1
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args, var_dir: str) -> int:
    args.code_version = code_version()
    env = worker_env(args, var_dir)
    say(f"Recreating {args.database_url}; flushing {args.redis_url}")
    recreate_database(args.database_url)
    flush_redis(args.redis_url)
    configure_django(env)
    from django.core.management import call_command

    from campaigns.vapid import vapid_keys
    from config.schedules import periodic_tasks_install

    call_command("migrate", verbosity=0)
    periodic_tasks_install()  # what `manage.py beacon_setup` does at deploy
    vapid_keys()  # and the VAPID key pair, in the database the workers share
    service = sink = worker = beat = None
    fakes: dict[str, MobileFake] = {}
    pushes = emails = None
    try:
        if args.only != "email":
            service = PushServiceProcess()
            push = push_setup(args, env, var_dir, service, fakes)
        if args.emails and args.only != "push":
            sink = SmtpSink()
            env.update(
                EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=str(sink.port),
            )
            audience = email_setup(args.emails)
        vacuum_analyze()
        flush_redis(args.redis_url)  # the nudges of the set-up: the sweeps do them anyway
        worker, beat = start_celery(args, env, var_dir)
        dbname = urlsplit(args.database_url).path.lstrip("/")
        groups = {"worker": worker.pids, "beat": beat.pids}
        if service is not None:
            groups["push service"] = lambda: [service.process.pid]
        groups.update({f"{f.name} fake": (lambda pid=f.pid: [pid]) for f in fakes.values()})
        if sink is not None:
            groups["SMTP server"] = lambda: [sink.pid]
        groups.update({"postgres": lambda: postgres_pids(dbname), "redis": redis_pids})
        if service is not None:
            pushes = push_runs(args, push, service, groups, worker, beat)
        if sink is not None:
            emails = email_runs(args, audience, sink, groups, worker, beat)
    except BaseException:
        for process in (worker, beat):
            if process is not None and (tail := process.log_tail()):
                say(f"--- the end of the {process.name}'s log:\n{tail}")
        raise
    finally:
        for process in (beat, worker):
            if process is not None:
                process.stop()
        for server in (service, sink, *fakes.values()):
            if server is not None:
                server.stop()
    command = " ".join([".venv/bin/python bench/delivery.py", *sys.argv[1:]])
    sections = []
    if pushes is not None:
        sections.append((DOCS_HEADING, SETUP_TEXT, report(args, *pushes)))
    if emails is not None:
        sections.append((EMAIL_DOCS_HEADING, EMAIL_SETUP_TEXT, email_report(args, *emails)))
    for heading, setup, body in sections:
        say("")
        say(body)
        if args.write_docs:
            write_docs(heading, command, setup, body)
            say(f"\nWrote {heading!r} of {DOCS.relative_to(ROOT)}")
    return 0


@dataclass
class PushSetup:
    web: Audience
    mobile: dict[str, Audience]  # kind -> its app's devices
    paths: list[str]  # the web devices' endpoint paths, the i-th of contact u<i>


def push_setup(args, env: dict[str, str], var_dir: str, service, fakes) -> PushSetup:
    """Steps 2 and 3: the contacts and devices of the push phases, and the event campaign of the
    trigger phase. The mobile fakes started are added to `fakes` (the caller stops them)."""
    from campaigns.models import Campaign
    from campaigns.services.campaigns import campaign_activate, campaign_create
    from contacts.services.apps import app_create

    app = app_create(name="Delivery bench", tenant_id="delivery-bench")
    say(f"Subscribing {args.devices:,} contacts")
    subscriptions = service.call("subscriptions", False, args.devices)
    subscribe(app, subscriptions, "u")
    paths = [urlsplit(s["endpoint"]).path for s in subscriptions]
    web = Audience("web push", app, WebPushFake(service), frozenset(paths), args.verify_pushes)
    mobile: dict[str, Audience] = {}
    if args.mobile_devices:
        say(f"Registering {args.mobile_devices:,} mobile devices (FCM, APNs, OneSignal)")
        fakes.update({kind: MobileFake(kind) for kind in KINDS})
        mobile = mobile_audiences(fakes, args.mobile_devices)
        env.update(worker_settings(fakes, str(Path(var_dir) / "apns-ca.pem")))
    title = "Thanks, {{ contact.first_name | default: 'friend' }}"
    campaign_activate(
        campaign=campaign_create(
            app=app,
            name="Bench: after purchase",
            kind=Campaign.Kind.EVENT,
            title=title,
            body="Your order {{ event.order_id }} of {{ event.amount }} is confirmed",
            url="https://shop.example/orders/{{ event.order_id }}",
            trigger_event="purchase_completed",
        )
    )
    return PushSetup(web, mobile, paths)


def push_runs(args, push: PushSetup, service, groups, worker, beat):
    """Steps 5 to 7: the sanity pass, then per repeat the trigger and broadcast phases, between
    two measures of the floor. Returns (repeats, floors) for `report`."""
    from push_floor import encryption_seconds

    say("Sanity pass (verifying push service)")
    sanity_pass(push.web.app, service, args.verify_pushes, "Thanks, friend")
    worker.check()
    beat.check()

    floors = [encryption_seconds(repeat=args.floor_repeat)]
    say(f"  floor: {floors[0] * 1000:.3f} ms per payload")
    repeats = []
    rng = random.Random(7)
    for run_index in range(args.repeat):
        chosen = rng.sample(range(args.devices), args.events)
        users = {f"u{i}": push.paths[i] for i in chosen}
        vacuum_analyze()
        wait_quiet(args.wait_quiet, args.wait_timeout, say=say)
        load_before = os.getloadavg()[0]
        say(f"Run {run_index + 1}: {args.events} trigger events at {args.trigger_rate:g}/s")
        result = trigger_phase(args, push.web.app, service, users, run_index, groups, worker.pids)
        say(
            f"  p50 {percentile(result.latencies, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(result.latencies, 0.99) * 1000:.0f} ms, "
            f"max {max(result.latencies) * 1000:.0f} ms; {result.trigger_cpu.line()}"
        )
        vacuum_analyze()
        wait_quiet(args.wait_quiet, args.wait_timeout, say=say)
        say(f"Run {run_index + 1}: broadcast to {args.devices:,} devices")
        broadcast_phase(args, push.web, groups, result, run_index, worker.pids)
        result.load = (load_before, os.getloadavg()[0])
        say(result.web.line())
        mobile_phases(args, push.web, push.mobile, groups, result, run_index, worker.pids)
        repeats.append(result)
        worker.check()
    wait_quiet(args.wait_quiet, args.wait_timeout, say=say)
    floors.append(encryption_seconds(repeat=args.floor_repeat))
    return repeats, floors


if __name__ == "__main__":
    sys.exit(main())
