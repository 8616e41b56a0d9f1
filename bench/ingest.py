"""Ingest benchmark: the tracking API on PostgreSQL behind gunicorn, against the raw COPY floor.

    .venv/bin/python bench/ingest.py [--repeat 3] [--workers 4] [--batch-size 1000] ...

Each repeat:
1. drops and recreates the bench database, runs `manage.py migrate`, creates an app and an ingest
   key (`manage.py shell -c`; this process never imports Django);
2. measures the floor: binary COPY (psycopg 3, write_row) of event-shaped rows into a scratch copy
   of events_event with its indexes, and into one without indexes;
3. starts gunicorn (DEBUG=false, persistent connections from settings) and warms it up by sending
   one event for every user (untimed; this creates the contacts and devices);
4. sends --batch-events events through POST /api/v1/events/batch for --batch-size and for each of
   --compare-batch-sizes (order rotated between repeats), then --single-events through
   POST /api/v1/events, each from --batch-concurrency / --concurrency threads;
   and --batch-events more of the same kind as Segment track messages through Segment's
   POST /v1/batch (docs/segment-spec.md: Basic auth, batches of --batch-size messages or 475 KB,
   as segment-analytics-python packs them), its rate reported as a ratio of the batch phase's;
5. checks every response (200, one fingerprint per event, no duplicate; Segment's
   {"success": true}) and the rows stored (client events exactly as sent, plus the built-in
   @APP_OPEN/@OPT_IN events ingest adds);
6. measures the single-event floor with the same client, concurrency and gunicorn layout:
   --floor-events requests to bench/single_floor_urls.py (Beacon's settings and middleware, one
   DRF view that validates the event with a serializer and inserts one row: FLOORS.md's
   "validate and insert" view), and prints the single-event rate as a ratio of it.

The load generator sends pre-encoded HTTP requests over raw sockets (reconnecting when the server
closes, as gunicorn's sync workers do after each response), so it costs little CPU on a machine
it shares with the server and PostgreSQL. For every phase the CPU time of the server, of the
bench database's backends and of the client is reported per event, with the CPUs other processes
kept busy meanwhile (the machine may be shared: --wait-quiet waits for a quiet moment first).
Celery tasks that ingest enqueues go to the filesystem broker in a temporary directory (no worker
runs; the cost of enqueueing is measured). --py-spy DIR samples the workers for profiling.
Results are medians over the repeats. Exit status 1 if any request or check failed (and, with
--fail-on-targets, 2 if a target was missed).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import orjson
import psycopg
from measure import machine_busy_seconds, median, proc_stat, stop_py_spy
from psycopg import sql
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
if not (BIN / "gunicorn").exists():
    BIN = ROOT / ".venv" / "bin"
BATCH_PATH = "/api/v1/events/batch"
SEGMENT_BATCH_PATH = "/v1/batch"
SEGMENT_BATCH_BYTES = 475_000  # segment-analytics-python's batch budget (Segment's limit: 500 KB)
SEGMENT_PHASE = "segment /v1/batch"
SINGLE_PATH = "/api/v1/events"
FLOOR_PATH = "/floor"  # bench/single_floor_urls.py
FLOOR_TABLE = "bench_single_floor"
COPY_COLUMNS = (
    "app_id",
    "contact_id",
    "event_type_id",
    "occurred_at",
    "received_at",
    "params",
    "context",
    "session_id",
    "fingerprint",
)
COPY_TYPES = (
    "int8",
    "int8",
    "int8",
    "timestamptz",
    "timestamptz",
    "jsonb",
    "jsonb",
    "text",
    "text",
)

# Targets from the issue.
TARGET_BATCH_RATIO = 0.15
TARGET_SINGLE_RPS = 800
TARGET_SINGLE_P99_MS = 50
TARGET_SEGMENT_RATIO = 0.9  # /v1/batch's events/s as a share of /api/v1/events/batch's


class BenchError(Exception):
    """A request failed, a response was wrong, or the stored rows do not add up."""


# --------------------------------------------------------------------------------------------
# Realistic events
# --------------------------------------------------------------------------------------------

COMMERCE = [
    "product_viewed",
    "product_list_viewed",
    "product_searched",
    "add_to_cart",
    "remove_from_cart",
    "cart_viewed",
    "begin_checkout",
    "checkout_step_completed",
    "payment_info_entered",
    "purchase_completed",
    "order_refunded",
    "order_cancelled",
    "coupon_applied",
    "coupon_removed",
    "wishlist_product_added",
    "wishlist_product_removed",
    "product_shared",
    "product_reviewed",
    "promotion_viewed",
    "promotion_clicked",
]
APP = [
    "screen_viewed",
    "app_opened",
    "app_updated",
    "sign_up_completed",
    "logged_in",
    "logged_out",
    "profile_updated",
    "settings_changed",
    "notification_opened",
    "notification_dismissed",
    "push_permission_prompted",
    "onboarding_displayed",
    "onboarding_completed",
    "onboarding_skipped",
    "search_performed",
    "filter_applied",
    "sort_applied",
    "category_viewed",
    "banner_clicked",
    "deep_link_opened",
]
CONTENT = [
    "article_viewed",
    "video_started",
    "video_paused",
    "video_completed",
    "audio_played",
    "comment_posted",
    "content_liked",
    "content_shared",
    "bookmark_added",
    "rating_submitted",
]
LIFECYCLE = [
    "subscription_started",
    "subscription_renewed",
    "subscription_cancelled",
    "trial_started",
    "trial_ended",
    "level_completed",
    "achievement_unlocked",
    "reward_claimed",
    "referral_sent",
    "support_ticket_created",
]
EVENT_NAMES = COMMERCE + APP + CONTENT + LIFECYCLE
assert len(EVENT_NAMES) == 60 and len(set(EVENT_NAMES)) == 60
CATEGORIES = [
    "electronics",
    "fashion",
    "home",
    "beauty",
    "sports",
    "toys",
    "books",
    "grocery",
    "garden",
    "automotive",
    "health",
    "music",
    "pets",
    "jewelry",
    "office",
    "baby",
    "games",
    "travel",
    "food",
    "shoes",
]
SCREENS = ["home", "search", "product", "cart", "checkout", "profile", "settings", "feed", "inbox"]
CURRENCIES = ["TRY", "USD", "EUR", "GBP"]
PLANS = ["basic", "plus", "premium", "family"]
LOCALES = [  # (timezone, language, country)
    ("Europe/Istanbul", "tr", "TR"),
    ("Europe/Istanbul", "tr", "TR"),
    ("Europe/Berlin", "de", "DE"),
    ("America/New_York", "en", "US"),
    ("Europe/London", "en", "GB"),
    ("Europe/Paris", "fr", "FR"),
    ("Asia/Tokyo", "ja", "JP"),
    ("America/Sao_Paulo", "pt", "BR"),
    ("Asia/Kolkata", "hi", "IN"),
]
APP_VERSIONS = ["4.2.1", "4.2.0", "4.1.7", "4.0.3"]
OS_BY_PLATFORM = {"android": "Android 14", "ios": "iOS 17.5", "web": "Chrome 126"}


@dataclass
class User:
    app_user_id: str
    tz: ZoneInfo
    timezone: str
    language: str
    country: str
    session_id: str
    device_token: str | None
    platform: str | None
    granted: bool


class EventFactory:
    """Event payloads from ~20,000 users whose activity is log-normal (a few are far more active
    than most), over 60 event names (also skewed), spread over the last 90 days."""

    def __init__(self, *, users: int, seed: int, now: datetime):
        self.rng = random.Random(seed)
        self.now = now
        rng = self.rng
        self.users: list[User] = []
        for n in range(users):
            tz_name, language, country = rng.choice(LOCALES)
            platform = rng.choice(["android", "android", "ios", "web"])
            has_device = rng.random() < 0.6
            self.users.append(
                User(
                    app_user_id=f"user_{n:06d}",
                    tz=ZoneInfo(tz_name),
                    timezone=tz_name,
                    language=language,
                    country=country,
                    session_id=f"{rng.getrandbits(64):016x}",
                    device_token=f"fcm_{rng.getrandbits(160):040x}" if has_device else None,
                    platform=platform if has_device else None,
                    granted=rng.random() < 0.85,
                )
            )
        activity = [rng.lognormvariate(0, 1.5) for _ in self.users]
        self.user_weights = list(itertools.accumulate(activity))
        # Zipf-like popularity; screen and product views are the most frequent.
        top = ["screen_viewed", "product_viewed"]
        rest = [name for name in EVENT_NAMES if name not in top]
        rng.shuffle(rest)
        self.names = top + rest
        self.name_weights = list(
            itertools.accumulate(1 / (rank + 2) for rank in range(len(self.names)))
        )
        self.max_age = timedelta(days=90).total_seconds()

    def user_for_share(self) -> User:
        return self.rng.choices(self.users, cum_weights=self.user_weights)[0]

    def events(self, count: int, *, users: list[User] | None = None) -> list[dict]:
        """`count` distinct events (all of `users` in order, if given)."""
        if users is None:
            users = self.rng.choices(self.users, cum_weights=self.user_weights, k=count)
        names = self.rng.choices(self.names, cum_weights=self.name_weights, k=len(users))
        return [self.event(user, name) for user, name in zip(users, names, strict=True)]

    def event(self, user: User, name: str) -> dict:
        rng = self.rng
        moment = self.now - timedelta(seconds=rng.uniform(60, self.max_age - 3600))
        event = {
            "event_name": name,
            "event_time": moment.astimezone(user.tz).isoformat(timespec="milliseconds"),
            "app_user_id": user.app_user_id,
            "params": self.params(name),
        }
        if rng.random() < 0.7:
            event["event_id"] = f"{rng.getrandbits(128):032x}"
        if rng.random() < 0.5:
            event["session_id"] = user.session_id
        if user.device_token and rng.random() < 0.15:
            event["device_token"] = user.device_token
            event["platform"] = user.platform
            event["push_permission_granted"] = user.granted
        if rng.random() < 0.2:
            event["timezone"] = user.timezone
            event["language"] = user.language
            event["country"] = user.country
        if rng.random() < 0.5:
            event["context"] = {
                "app_version": rng.choice(APP_VERSIONS),
                "os": OS_BY_PLATFORM[user.platform or "web"],
                "ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            }
        return event

    def params(self, name: str) -> dict:
        rng = self.rng
        if name in COMMERCE:
            params = {
                "product_id": f"SKU-{rng.randrange(50_000):05d}",
                "category": rng.choice(CATEGORIES),
                "amount": round(rng.lognormvariate(3.5, 1.0), 2),
                "currency": rng.choice(CURRENCIES),
            }
            if name in (
                "purchase_completed",
                "order_refunded",
                "order_cancelled",
                "begin_checkout",
            ):
                params["order_id"] = f"ORD-{rng.getrandbits(40):010x}"
                params["item_count"] = rng.randrange(1, 8)
            if name in ("add_to_cart", "remove_from_cart"):
                params["quantity"] = rng.randrange(1, 4)
            return params
        if name in CONTENT:
            return {
                "content_id": f"C{rng.randrange(100_000)}",
                "category": rng.choice(CATEGORIES),
                "duration_seconds": rng.randrange(5, 3600),
            }
        if name in LIFECYCLE:
            return {
                "plan": rng.choice(PLANS),
                "amount": rng.choice([4.99, 9.99, 19.99]),
                "level": 3,
            }
        params = {"screen_name": rng.choice(SCREENS)}
        if rng.random() < 0.3:
            params["source"] = rng.choice(["push", "organic", "deeplink", "email"])
        return params


# --------------------------------------------------------------------------------------------
# Load generator
# --------------------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    requests: int
    events: int
    wall: float
    latencies: list[float]
    errors: int = 0
    duplicates: int = 0
    error_samples: list[str] = field(default_factory=list)
    cpu: CpuSnapshot | None = None

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.wall

    def latency_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

    def cpu_us_per_event(self, part: str) -> float:
        return getattr(self.cpu, part) / self.events * 1e6

    def foreign_cpus(self) -> float:
        """How many CPUs other processes on the machine kept busy, on average."""
        return self.cpu.foreign / self.wall


def http_request(path: str, body: bytes, *, host: str, key: str, basic: bool = False) -> bytes:
    """`basic`: the key as HTTP Basic's user name, as Segment's libraries send their write key."""
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode() if basic else f"Bearer {key}"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def read_response(sock: socket.socket) -> tuple[int, bytes, bool]:
    """(status, body, keep-alive) of one HTTP/1.1 response with a Content-Length."""
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed before the response headers")
        data += chunk
    head, rest = data[:end], data[end + 4 :]
    status_line, *header_lines = head.split(b"\r\n")
    status = int(status_line.split(b" ", 2)[1])
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    if b"transfer-encoding" in headers:
        raise BenchError(f"unexpected Transfer-Encoding {headers[b'transfer-encoding']!r}")
    length = headers.get(b"content-length")
    parts, received = [rest], len(rest)
    if length is None:
        while chunk := sock.recv(65536):
            parts.append(chunk)
        return status, b"".join(parts), False
    wanted = int(length)
    while received < wanted:
        chunk = sock.recv(max(65536, wanted - received))
        if not chunk:
            raise ConnectionError("connection closed in the middle of the response body")
        parts.append(chunk)
        received += len(chunk)
    return status, b"".join(parts), headers.get(b"connection") != b"close"


def drive(addr: tuple[str, int], requests: list[bytes], concurrency: int):
    """Send every request once from `concurrency` threads; return the wall time and, per
    request, (status, body, latency in seconds)."""
    n = len(requests)
    statuses: list[int] = [0] * n
    bodies: list[bytes] = [b""] * n
    latencies: list[float] = [0.0] * n
    counter = itertools.count()
    start = threading.Event()
    failures: list[BaseException] = []
    perf_counter = time.perf_counter

    def worker() -> None:
        sock = None
        start.wait()
        try:
            while (i := next(counter)) < n:
                t0 = perf_counter()
                reused = sock is not None
                try:
                    if sock is None:
                        sock = socket.create_connection(addr)
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sock.sendall(requests[i])
                    status, body, keep = read_response(sock)
                except ConnectionError:
                    if not reused:
                        raise
                    # An idle keep-alive connection the server closed: retry on a new one.
                    sock.close()
                    sock = socket.create_connection(addr)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sock.sendall(requests[i])
                    status, body, keep = read_response(sock)
                latencies[i] = perf_counter() - t0
                statuses[i], bodies[i] = status, body
                if not keep:
                    sock.close()
                    sock = None
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            failures.append(exc)
        finally:
            if sock is not None:
                sock.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    t_start = perf_counter()
    start.set()
    for thread in threads:
        thread.join()
    wall = perf_counter() - t_start
    if failures:
        raise BenchError(f"{len(failures)} client thread(s) failed: {failures[0]!r}")
    return wall, statuses, bodies, latencies


# --------------------------------------------------------------------------------------------
# CPU accounting (/proc)
# --------------------------------------------------------------------------------------------


@dataclass
class CpuSnapshot:
    """CPU seconds used in an interval."""

    client: float  # this process
    server: float  # the gunicorn master and its workers
    postgres: float  # the PostgreSQL backends connected to the bench database
    machine_busy: float  # every CPU, every process (/proc/stat)

    @property
    def foreign(self) -> float:
        """CPU seconds that neither the bench nor its server nor its backends used."""
        return max(0.0, self.machine_busy - self.client - self.server - self.postgres)


class CpuMeter:
    """CPU seconds used while it is open by this process, the gunicorn server, the backends of the
    bench database and the whole machine. /proc is sampled once a second so that processes which
    exit meanwhile (a recycled database connection) still count."""

    def __init__(self, server_pid: int | None, dbname: str, interval: float = 1.0):
        self.server_pid = server_pid
        self.marker = f" {dbname} ".encode()
        self.interval = interval
        self.kind: dict[int, str | None] = {}  # pid -> "server", "postgres" or None (not ours)
        self.result: CpuSnapshot | None = None

    def _classify(self, pid: int) -> str | None:
        stat = proc_stat(pid)
        if stat is None:
            return None
        comm, ppid, _ = stat
        if self.server_pid is not None and self.server_pid in (pid, ppid):
            self.kind[pid] = "server"
        elif comm == "postgres":
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                return None
            if self.marker in title:
                self.kind[pid] = "postgres"
            elif title.startswith(b"postgres: "):  # another database, or a background process
                self.kind[pid] = None
            # else: a backend still starting up (no title yet): look again next time
        else:
            self.kind[pid] = None
        return self.kind.get(pid)

    def _scan(self) -> dict[str, dict[int, float]]:
        groups: dict[str, dict[int, float]] = {"server": {}, "postgres": {}}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            kind = self.kind[pid] if pid in self.kind else self._classify(pid)
            if kind is not None and (stat := proc_stat(pid)) is not None:
                groups[kind][pid] = stat[2]
        return groups

    def _sample(self) -> None:
        for group, cpus in self._scan().items():
            self.last[group].update(cpus)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self.first = self._scan()
        self.last = {group: dict(cpus) for group, cpus in self.first.items()}
        self.client0, self.busy0 = time.process_time(), machine_busy_seconds()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        self.thread.join()
        self._sample()
        used = {
            group: sum(cpu - self.first[group].get(pid, 0.0) for pid, cpu in cpus.items())
            for group, cpus in self.last.items()
        }
        self.result = CpuSnapshot(
            time.process_time() - self.client0,
            used["server"],
            used["postgres"],
            machine_busy_seconds() - self.busy0,
        )


def wait_for_quiet(dbname: str, *, max_wait: float, threshold: float = 0.25) -> float:
    """Wait (up to max_wait seconds) until other processes use under `threshold` of one CPU;
    return the share of one CPU they were using when we stopped waiting."""
    deadline = time.monotonic() + max_wait
    while True:
        with CpuMeter(None, dbname) as meter:
            time.sleep(1.0)
        foreign = meter.result.foreign
        if foreign < threshold or time.monotonic() >= deadline:
            return foreign
        say(f"    (waiting: other processes use {foreign:.0%} of a CPU)")


# --------------------------------------------------------------------------------------------
# The database and the server
# --------------------------------------------------------------------------------------------


def database_url_for(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{dbname}"))


def recreate_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise BenchError(f"--database-url {url!r} names no database")
    with psycopg.connect(database_url_for(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def server_env(args, var_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=args.database_url,
        DEBUG="false",
        SECRET_KEY=f"bench-{random.getrandbits(128):032x}",
        # Production settings, served over plain http on loopback (no TLS proxy in front).
        CELERY_BROKER_URL="filesystem://",
        BEACON_PUBLIC_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="127.0.0.1",
        LOG_LEVEL="WARNING",
        BEACON_VAR_DIR=var_dir,
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {argv[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


SETUP_CODE = """
from contacts.services.apps import api_key_create, app_create
app = app_create(name="Ingest bench", tenant_id="ingest-bench")
_, raw_key = api_key_create(app=app, name="bench ingest", scope="ingest")
print(f"BENCH_APP={app.pk} BENCH_KEY={raw_key}")
"""


CALIBRATION_CODE = """
import time
from rest_framework import serializers

class Event(serializers.Serializer):
    event_name = serializers.CharField(max_length=255)
    event_time = serializers.CharField(required=False)
    app_user_id = serializers.CharField(required=False)
    event_id = serializers.CharField(required=False)
    timezone = serializers.CharField(required=False)
    language = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    params = serializers.DictField(required=False)
    context = serializers.DictField(required=False)

payload = {
    "event_name": "purchase_completed", "event_time": "2026-11-20T10:00:00.000+03:00",
    "app_user_id": "user_000123", "event_id": "0123456789abcdef0123456789abcdef",
    "timezone": "Europe/Istanbul", "language": "tr", "country": "TR",
    "params": {"order_id": "ORD-1", "amount": 49.99, "category": "books", "currency": "TRY"},
    "context": {"app_version": "4.2.1"},
}
def one():
    assert Event(data=payload).is_valid()
for _ in range(200):
    one()
runs = []
for _ in range(5):
    start = time.process_time()
    for _ in range(300):
        one()
    runs.append((time.process_time() - start) / 300 * 1e6)
print(f"BENCH_CALIBRATION={sorted(runs)[2]:.1f}")
"""
FLOORS_SERIALIZER_US = 78  # ../shared/FLOORS.md: DRF serializer is_valid() for one event payload
FLOORS_SINGLE_FLOOR_RPS = 1_190  # ../shared/FLOORS.md: DRF view "validate one event, insert it"


def calibrate(env: dict[str, str]) -> float:
    """CPU microseconds of a DRF serializer's is_valid() on one event, in a Django subprocess:
    compared with FLOORS.md, it tells how fast this machine is right now."""
    for line in manage(env, "shell", "-c", CALIBRATION_CODE).splitlines():
        if line.startswith("BENCH_CALIBRATION="):
            return float(line.partition("=")[2])
    raise BenchError("the calibration printed nothing")


def create_app(env: dict[str, str]) -> tuple[int, str]:
    for line in manage(env, "shell", "-c", SETUP_CODE).splitlines():
        if line.startswith("BENCH_APP="):
            app_part, key_part = line.split()
            return int(app_part.partition("=")[2]), key_part.partition("=")[2]
    raise BenchError("manage.py shell did not print the app and key")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn in its own process group, stopped on exit whatever happens."""

    def __init__(
        self, args, env: dict[str, str], port: int, log_path: Path, *, floor: bool = False
    ):
        if floor:  # the same gunicorn and settings, serving only the single-event floor
            env = env | {
                "DJANGO_SETTINGS_MODULE": "single_floor_settings",
                "PYTHONPATH": str(ROOT / "bench"),
            }
        self.port = port
        self.log_path = log_path
        command = [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "-w",
            str(args.workers),
            "-k",
            args.worker_class,
            "-b",
            f"127.0.0.1:{port}",
            "--backlog",
            "2048",
        ]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads)]
        self.log = log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, workers: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"gunicorn exited: see {self.log_path}\n{self.log_tail()}")
            booted = self.log_path.read_text(errors="replace").count("Booting worker")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    if booted >= workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise BenchError(f"gunicorn did not start in {timeout} s\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        pids = []
        for entry in os.scandir("/proc"):
            if entry.name.isdigit() and (stat := proc_stat(int(entry.name))):
                if stat[1] == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def log_tail(self) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


# --------------------------------------------------------------------------------------------
# The floor: raw COPY of equivalent rows
# --------------------------------------------------------------------------------------------


def _orjson_dumps(obj) -> bytes:
    return orjson.dumps(obj)


def copy_rows(events: list[dict], app_id: int, now: datetime) -> list[tuple]:
    """The rows ingest would store for these events (ids only need to look realistic)."""
    name_ids = {name: i + 1 for i, name in enumerate(EVENT_NAMES)}
    rows = []
    for event in events:
        rows.append(
            (
                app_id,
                int(event["app_user_id"].rpartition("_")[2]) + 1,
                name_ids[event["event_name"]],
                datetime.fromisoformat(event["event_time"]),
                now,
                Jsonb(event["params"], dumps=_orjson_dumps),
                Jsonb(event.get("context", {}), dumps=_orjson_dumps),
                event.get("session_id", ""),
                hashlib.sha256(orjson.dumps(event, option=orjson.OPT_SORT_KEYS)).hexdigest(),
            )
        )
    return rows


@dataclass
class CopyResult:
    rate: float  # rows/s
    foreign_cpus: float  # CPUs other processes kept busy meanwhile


def copy_floor(url: str, rows: list[tuple], *, indexes: bool) -> CopyResult:
    """Rows/s of one binary COPY (and its commit) into a scratch copy of events_event."""
    table = sql.Identifier("bench_copy_scratch")
    like = "INCLUDING DEFAULTS INCLUDING IDENTITY" + (" INCLUDING INDEXES" if indexes else "")
    columns = sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        conn.execute(sql.SQL("CREATE TABLE {} (LIKE events_event " + like + ")").format(table))
        conn.commit()
        with CpuMeter(None, urlsplit(url).path.lstrip("/")) as meter:
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
                    table, columns
                )
                with cur.copy(statement) as copy:
                    copy.set_types(COPY_TYPES)
                    for row in rows:
                        copy.write_row(row)
            conn.commit()
            elapsed = time.perf_counter() - t0
        (count,) = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(table)).fetchone()
        conn.execute(sql.SQL("DROP TABLE {}").format(table))
        conn.commit()
    if count != len(rows):
        raise BenchError(f"COPY stored {count} rows, expected {len(rows)}")
    return CopyResult(len(rows) / elapsed, meter.result.foreign / elapsed)


def measure_copy(args, rows: list[tuple], dbname: str, when: str) -> tuple[CopyResult, CopyResult]:
    if args.wait_quiet:
        wait_for_quiet(dbname, max_wait=args.wait_quiet)
    indexed = copy_floor(args.database_url, rows, indexes=True)
    plain = copy_floor(args.database_url, rows, indexes=False)
    say(
        f"  COPY of {len(rows):,} rows {when}: {indexed.rate:,.0f} rows/s with the indexes"
        f" ({indexed.foreign_cpus:.2f} other CPUs busy), {plain.rate:,.0f} rows/s without"
        f" ({plain.foreign_cpus:.2f})"
    )
    return indexed, plain


# --------------------------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What the phases of one repeat share."""

    args: argparse.Namespace
    server: Server
    key: str
    dbname: str
    profile_dir: Path | None = None


def run_phase(
    run: Run,
    name: str,
    *,
    batches: list[list[dict]] | None = None,
    singles: list[dict] | None = None,
    segment: list[list[dict]] | None = None,
    concurrency: int,
    timed: bool = False,
    floor: bool = False,
) -> PhaseResult:
    """Send the batches or single events; `floor`: to the single-event floor (POST /floor)."""
    server, key = run.server, run.key
    host = f"127.0.0.1:{server.port}"
    if segment is not None:
        sent_at = datetime.now(UTC).isoformat()
        requests = [
            http_request(
                SEGMENT_BATCH_PATH,
                orjson.dumps({"batch": b, "sentAt": sent_at}),
                host=host,
                key=key,
                basic=True,
            )
            for b in segment
        ]
        sizes = [len(b) for b in segment]
    elif batches is not None:
        requests = [
            http_request(BATCH_PATH, orjson.dumps({"events": b}), host=host, key=key)
            for b in batches
        ]
        sizes = [len(b) for b in batches]
    else:
        path = FLOOR_PATH if floor else SINGLE_PATH
        requests = [http_request(path, orjson.dumps(e), host=host, key=key) for e in singles]
        sizes = [1] * len(requests)
    if timed and not run.args.no_vacuum:
        vacuum_analyze(run.args.database_url)
    if timed and run.args.wait_quiet:
        wait_for_quiet(run.dbname, max_wait=run.args.wait_quiet)
    spies = start_py_spy(run, name) if timed and run.profile_dir else []
    with CpuMeter(server.process.pid, run.dbname) as meter:
        wall, statuses, bodies, latencies = drive(("127.0.0.1", server.port), requests, concurrency)
    stop_py_spy(spies)
    result = PhaseResult(
        name,
        requests=len(requests),
        events=sum(sizes),
        wall=wall,
        latencies=latencies,
        cpu=meter.result,
    )
    for status, body, size in zip(statuses, bodies, sizes, strict=True):
        problem = None
        if status != 200:
            problem = f"HTTP {status}: {body[:300]!r}"
        elif floor:
            problem = None if orjson.loads(body) == {"ok": True} else f"answer {body[:300]!r}"
        elif segment is not None:
            # no per-event answer: verify_rows checks every event was stored
            success = orjson.loads(body) == {"success": True}
            problem = None if success else f"answer {body[:300]!r}"
        else:
            payload = orjson.loads(body)
            items = payload["results"] if batches is not None else [payload]
            if len(items) != size:
                problem = f"{len(items)} results for {size} events"
            for item in items:
                fingerprint = item.get("fingerprint")
                if not isinstance(fingerprint, str) or len(fingerprint) != 64:
                    result.errors += 1
                    problem = problem or f"item without a fingerprint: {item!r}"
                elif item.get("duplicate"):
                    result.duplicates += 1
                    problem = problem or f"item reported as a duplicate: {item!r}"
        if problem:
            result.errors += 1
            if len(result.error_samples) < 5:
                result.error_samples.append(problem)
    if result.errors or result.duplicates:
        raise BenchError(
            f"{name}: {result.errors} errors, {result.duplicates} duplicates, e.g.\n  "
            + "\n  ".join(result.error_samples)
        )
    return result


def run_single_floor(args, env, var_dir: str, repeat: int, dbname: str, factory) -> PhaseResult:
    """FLOORS.md's "validate one event with a DRF serializer, insert it" view, on the same
    settings, gunicorn layout, client and concurrency as the single-event phase."""
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        conn.execute(
            f"CREATE TABLE {FLOOR_TABLE} (id bigserial PRIMARY KEY, name text NOT NULL, "
            "user_id text, params jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
        )
    log = Path(var_dir) / f"gunicorn-floor-{repeat + 1}.log"
    server = Server(args, env, args.port or free_port(), log, floor=True)
    try:
        server.wait_ready(args.workers)
        run = Run(args, server, "", dbname)
        warmup = factory.events(50 * args.workers)  # untimed: each worker imports the view
        run_phase(run, "floor warm-up", singles=warmup, concurrency=args.concurrency, floor=True)
        singles = factory.events(args.floor_events)
        phase = run_phase(
            run,
            "single floor",
            singles=singles,
            concurrency=args.concurrency,
            timed=True,
            floor=True,
        )
        say(f"    {phase_line(phase)}")
    finally:
        server.stop()
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        (stored,) = conn.execute(f"SELECT count(*) FROM {FLOOR_TABLE}").fetchone()
        conn.execute(f"DROP TABLE {FLOOR_TABLE}")
    if stored != len(warmup) + len(singles):
        raise BenchError(f"the floor stored {stored} rows for {len(warmup) + len(singles)} events")
    return phase


def start_py_spy(run: Run, phase: str) -> list[subprocess.Popen]:
    """Sample every gunicorn worker with py-spy (collapsed stacks) while the phase runs."""
    spy = shutil.which("py-spy", path=str(BIN)) or shutil.which("py-spy")
    if spy is None:
        raise BenchError("--py-spy needs py-spy (.venv/bin/pip install py-spy)")
    spies = []
    for pid in run.server.worker_pids():
        output = run.profile_dir / f"{phase.replace(' ', '-')}-{pid}.txt"
        command = [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
        command += ["--nonblocking", "--output", str(output)]
        spies.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    time.sleep(1.0)  # let py-spy attach
    return spies


def vacuum_analyze(url: str) -> None:
    """What autovacuum would have done by now: planner statistics, visibility map, dead rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def server_settings(url: str) -> str:
    names = ["autovacuum", "shared_buffers", "synchronous_commit", "jit", "random_page_cost"]
    with psycopg.connect(url) as conn:
        version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        values = [f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}" for name in names]
    return f"PostgreSQL {version} ({', '.join(values)})"


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def segment_message(event: dict) -> dict:
    """A Beacon event as the Segment track message that maps onto it (docs/segment-spec.md)."""
    message = {
        "type": "track",
        "event": event["event_name"],
        "userId": event["app_user_id"],
        "timestamp": event["event_time"],
        "properties": event["params"],
        "integrations": {},
    }
    if "event_id" in event:
        message["messageId"] = event["event_id"]
    context = dict(event.get("context") or {})
    context["library"] = {"name": "analytics-python", "version": "2.4.0"}
    if "session_id" in event:
        context["sessionId"] = event["session_id"]
    if event.get("platform") in ("android", "ios"):  # Segment has no web push token
        context["device"] = {"token": event["device_token"], "type": event["platform"]}
    if "timezone" in event:
        context["timezone"] = event["timezone"]
        context["locale"] = f"{event['language']}-{event['country']}"
    message["context"] = context
    return message


def segment_batches(events: list[dict], size: int) -> list[list[dict]]:
    """Messages packed as segment-analytics-python packs them: at most `size` a batch and
    SEGMENT_BATCH_BYTES of JSON (Segment refuses a batch over 500 KB)."""
    batches, batch, used = [], [], 0
    for event in events:
        message = segment_message(event)
        length = len(orjson.dumps(message))
        if batch and (len(batch) == size or used + length > SEGMENT_BATCH_BYTES):
            batches.append(batch)
            batch, used = [], 0
        batch.append(message)
        used += length
    return batches + ([batch] if batch else [])


def verify_rows(url: str, expected_client_events: int, expected_contacts: int) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            SELECT t.name LIKE '@%%' AS builtin, t.name, count(*)
            FROM events_event e JOIN events_eventtype t ON t.id = e.event_type_id
            GROUP BY 1, 2
            """
        ).fetchall()
        (contacts,) = conn.execute("SELECT count(*) FROM contacts_contact").fetchone()
    counts = {"client": sum(n for builtin, _, n in rows if not builtin)}
    counts.update({name: n for builtin, name, n in rows if builtin})
    counts["contacts"] = contacts
    if counts["client"] != expected_client_events:
        raise BenchError(
            f"events_event holds {counts['client']} client events,"
            f" expected {expected_client_events}"
        )
    if contacts != expected_contacts:
        raise BenchError(f"{contacts} contacts, expected {expected_contacts}")
    return counts


@dataclass
class RepeatResult:
    copy_indexed: CopyResult  # the better of the measurements before and after the HTTP phases
    copy_plain: CopyResult
    phases: dict[str, PhaseResult]
    counts: dict[str, int]
    server_settings: str
    calibration_us: float


def run_repeat(args, repeat: int, var_dir: str) -> RepeatResult:
    env = server_env(args, var_dir)
    dbname = urlsplit(args.database_url).path.lstrip("/")
    say(f"[{repeat + 1}/{args.repeat}] recreating the database {dbname}; migrate")
    recreate_database(args.database_url)
    manage(env, "migrate", "--noinput")
    app_id, key = create_app(env)
    if repeat == 0 and not args.no_vacuum:
        with psycopg.connect(args.database_url) as conn:
            if conn.execute("SHOW autovacuum").fetchone()[0] == "off":
                say(
                    "  note: autovacuum is off on this server; VACUUM (ANALYZE) runs before each"
                    " timed phase instead (--no-vacuum: don't)"
                )
    now = datetime.now(UTC)
    factory = EventFactory(users=args.users, seed=args.seed, now=now)

    copy_source = EventFactory(users=args.users, seed=args.seed + 1, now=now)
    rows = copy_rows(copy_source.events(args.copy_rows), app_id, now)
    copy_before = measure_copy(args, rows, dbname, "before the HTTP phases")
    calibration = calibrate(env)
    say(
        f"  CPU speed check: a DRF serializer's is_valid() on one event takes {calibration:.0f} us"
        f" of CPU (FLOORS.md: ~{FLOORS_SERIALIZER_US} us)"
    )

    log = Path(var_dir) / f"gunicorn-{repeat + 1}.log"
    server = Server(args, env, args.port or free_port(), log)
    phases: dict[str, PhaseResult] = {}
    profile_dir = None
    if args.py_spy:
        profile_dir = Path(args.py_spy) / f"run-{repeat + 1}"
        profile_dir.mkdir(parents=True, exist_ok=True)
    try:
        server.wait_ready(args.workers)
        run = Run(args, server, key, dbname, profile_dir)
        say(f"  gunicorn {args.worker_class} x{args.workers} on :{server.port}; warm-up")
        warmup = factory.events(len(factory.users), users=factory.users)
        run_phase(run, "warm-up", batches=chunks(warmup, 1000), concurrency=args.batch_concurrency)
        sent = len(warmup)
        sizes = [args.batch_size, *args.compare_batch_sizes]
        if not args.no_segment:
            sizes.append(SEGMENT_PHASE)  # at the batch size, but Segment's 500 KB may cut it
        shift = repeat % len(sizes)
        for size in sizes[shift:] + sizes[:shift]:
            events = factory.events(args.batch_events)
            if size == SEGMENT_PHASE:
                batches = {"segment": segment_batches(events, args.batch_size)}
            else:
                batches = {"batches": chunks(events, size)}
            phase = run_phase(
                run,
                size if size == SEGMENT_PHASE else f"batch {size}",
                **batches,
                concurrency=args.batch_concurrency,
                timed=True,
            )
            del events
            sent += phase.events
            phases[phase.name] = phase
            say(f"    {phase_line(phase)}")
        singles = factory.events(args.single_events)
        phase = run_phase(run, "single", singles=singles, concurrency=args.concurrency, timed=True)
        sent += phase.events
        phases[phase.name] = phase
        say(f"    {phase_line(phase)}")
    finally:
        server.stop()
    if args.floor_events:
        phases["single floor"] = run_single_floor(args, env, var_dir, repeat, dbname, factory)
    counts = verify_rows(args.database_url, sent, len(factory.users))
    copy_after = measure_copy(args, rows, dbname, "after the HTTP phases")
    copy_indexed, copy_plain = (
        max(before, after, key=lambda c: c.rate)
        for before, after in zip(copy_before, copy_after, strict=True)
    )
    builtin = ", ".join(f"{k} {v:,}" for k, v in counts.items() if k.startswith("@"))
    say(
        f"  stored: {counts['client']:,} client events (as sent) + built-in {builtin or 'none'};"
        f" {counts['contacts']:,} contacts"
    )
    settings = server_settings(args.database_url)
    return RepeatResult(copy_indexed, copy_plain, phases, counts, settings, calibration)


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def say(text: str) -> None:
    print(text, flush=True)


def phase_line(p: PhaseResult) -> str:
    return (
        f"{p.name}: {p.events_per_s:,.0f} events/s, {p.requests_per_s:,.1f} req/s,"
        f" p50 {p.latency_ms(0.5):.1f} ms, p99 {p.latency_ms(0.99):.1f} ms"
        f" ({p.events:,} events in {p.wall:.1f} s; CPU us/event: server"
        f" {p.cpu_us_per_event('server'):.0f}, postgres {p.cpu_us_per_event('postgres'):.0f},"
        f" client {p.cpu_us_per_event('client'):.0f}; other processes kept"
        f" {p.foreign_cpus():.2f} CPUs busy)"
    )


def code_version() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench", ":!docs")
    return (git("rev-parse", "--short", "HEAD") or "?") + (
        " + uncommitted changes" if dirty else ""
    )


def report(args, results: list[RepeatResult]) -> list[str]:
    names = list(results[0].phases)
    copy_indexed = median(r.copy_indexed.rate for r in results)
    copy_plain = median(r.copy_plain.rate for r in results)
    copy_foreign = median(r.copy_indexed.foreign_cpus for r in results)
    plain_foreign = median(r.copy_plain.foreign_cpus for r in results)

    def m(name: str, getter) -> float:
        return median(getter(r.phases[name]) for r in results)

    say("")
    say(
        f"Ingest benchmark, code {code_version()}: {os.cpu_count()} CPUs,"
        f" {results[-1].server_settings}, gunicorn {args.worker_class} x{args.workers};"
        f" medians of {len(results)} run(s)"
    )
    header = (
        f"{'phase':<20}{'events/s':>10}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'÷COPY':>7}"
        f"  CPU us/event: {'server':>6}{'pg':>5}{'client':>7}{'other CPUs':>11}"
    )
    say(header)
    say("-" * len(header))
    say(f"{'COPY, with indexes':<20}{copy_indexed:>10,.0f}{'1.000':>31}{copy_foreign:>45.2f}")
    say(
        f"{'COPY, no indexes':<20}{copy_plain:>10,.0f}{copy_plain / copy_indexed:>31.3f}"
        f"{plain_foreign:>45.2f}"
    )
    batch_sizes = sorted((int(n.split()[-1]) for n in names if n.startswith("batch")), reverse=True)
    singles = ["single", *(["single floor"] if "single floor" in names else [])]
    segment = [SEGMENT_PHASE] if SEGMENT_PHASE in names else []
    for name in [*(f"batch {size}" for size in batch_sizes), *segment, *singles]:
        conc = args.concurrency if name.startswith("single") else args.batch_concurrency
        eps = m(name, lambda p: p.events_per_s)
        p50, p99 = m(name, lambda p: p.latency_ms(0.5)), m(name, lambda p: p.latency_ms(0.99))
        say(
            f"{name + f' (c={conc})':<20}{eps:>10,.0f}{m(name, lambda p: p.requests_per_s):>8,.0f}"
            f"{p50:>8.1f}{p99:>8.1f}{eps / copy_indexed:>7.3f}{'':>16}"
            f"{m(name, lambda p: p.cpu_us_per_event('server')):>6.0f}"
            f"{m(name, lambda p: p.cpu_us_per_event('postgres')):>5.0f}"
            f"{m(name, lambda p: p.cpu_us_per_event('client')):>7.0f}"
            f"{m(name, lambda p: p.foreign_cpus()):>11.2f}"
        )
    say("")
    batch_names = [n for n in names if n.startswith("batch")]
    if segment:
        segment_ratio = m(SEGMENT_PHASE, lambda p: p.events_per_s) / m(
            f"batch {args.batch_size}", lambda p: p.events_per_s
        )
        per_request = m(SEGMENT_PHASE, lambda p: p.events / p.requests)
    best = max(batch_names, key=lambda n: m(n, lambda p: p.events_per_s))
    primary = f"batch {args.batch_size}"
    ratio = m(primary, lambda p: p.events_per_s) / copy_indexed
    single_rps = m("single", lambda p: p.requests_per_s)
    single_p99 = m("single", lambda p: p.latency_ms(0.99))
    verdicts = [
        (
            f"{primary}: {ratio:.3f} of the COPY-with-indexes rate"
            f" (target >= {TARGET_BATCH_RATIO})",
            ratio >= TARGET_BATCH_RATIO,
        ),
        (
            f"single: {single_rps:,.0f} req/s (target >= {TARGET_SINGLE_RPS})",
            single_rps >= TARGET_SINGLE_RPS,
        ),
        (
            f"single: p99 {single_p99:.1f} ms (target < {TARGET_SINGLE_P99_MS} ms)",
            single_p99 < TARGET_SINGLE_P99_MS,
        ),
    ]
    if segment:
        verdicts.append(
            (
                f"{SEGMENT_PHASE}: {segment_ratio:.3f} of batch {args.batch_size}'s events/s,"
                f" the same run ({per_request:,.0f} messages a request;"
                f" target >= {TARGET_SEGMENT_RATIO})",
                segment_ratio >= TARGET_SEGMENT_RATIO,
            )
        )
    for text, ok in verdicts:
        say(f"  {'PASS' if ok else 'MISS'}  {text}")
    if "single floor" in names:
        floor_rps = m("single floor", lambda p: p.requests_per_s)
        say(
            f"  single: {single_rps / floor_rps:.2f} of the same-run floor ({floor_rps:,.0f} req/s"
            " for validating one event with a DRF serializer and inserting it); the target, 800"
            f" req/s, is {TARGET_SINGLE_RPS / FLOORS_SINGLE_FLOOR_RPS:.2f} of that floor's"
            f" ~{FLOORS_SINGLE_FLOOR_RPS:,} req/s in FLOORS.md"
        )
    say(
        f"  best batch size: {best.split()[-1]} ({m(best, lambda p: p.events_per_s):,.0f} events/s)"
    )
    calibration = median(r.calibration_us for r in results)
    say(
        f"  CPU speed check: a DRF serializer's is_valid() took {calibration:.0f} us of CPU here,"
        f" ~{FLOORS_SERIALIZER_US} us when FLOORS.md was measured: this machine ran"
        f" {calibration / FLOORS_SERIALIZER_US:.1f}x slower for Python code"
    )
    for name in [primary, "single"]:
        cpu = m(
            name, lambda p: sum(p.cpu_us_per_event(k) for k in ("server", "postgres", "client"))
        )
        say(
            f"  {name}: {cpu:,.0f} CPU us per event in all (server + PostgreSQL + client), so at"
            f" most {os.cpu_count() * 1e6 / cpu:,.0f} events/s on {os.cpu_count()} idle CPUs"
        )
    say(
        "  COPY: the better of two measurements per run (before and after the HTTP phases)."
        " 'other CPUs': CPUs that processes outside the benchmark kept busy on average during"
        " the phase (the machine may be shared; high values make the rates pessimistic)."
    )
    return [text for text, ok in verdicts if not ok]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/beacon_bench",
        help="PostgreSQL database to DROP and recreate (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=4, help="gunicorn workers (default 4, as README's layout)"
    )
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--batch-events", type=int, default=200_000, help="events per batch size")
    parser.add_argument("--batch-size", type=int, default=1000, help="the size the target is for")
    parser.add_argument(
        "--compare-batch-sizes",
        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
        default=[500, 100],
        help="other batch sizes to measure, comma-separated ('' for none; default 500,100)",
    )
    parser.add_argument("--batch-concurrency", type=int, default=4, help="batch client threads")
    parser.add_argument("--single-events", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16, help="single-event client threads")
    parser.add_argument(
        "--floor-events",
        type=int,
        default=10_000,
        help="requests to the single-event floor (bench/single_floor_urls.py; 0: skip it)",
    )
    parser.add_argument("--copy-rows", type=int, default=None, help="default: --batch-events")
    parser.add_argument("--users", type=int, default=20_000, help="distinct app_user_ids")
    parser.add_argument("--repeat", type=int, default=1, help="runs; medians are reported")
    parser.add_argument("--seed", type=int, default=20_261_122)
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=60,
        help="before each timed phase, wait up to this many seconds for other processes to use"
        " under a quarter of a CPU (0: don't wait; default 60)",
    )
    parser.add_argument(
        "--no-vacuum",
        action="store_true",
        help="don't run VACUUM (ANALYZE) before each timed phase (autovacuum's work)",
    )
    parser.add_argument(
        "--py-spy",
        metavar="DIR",
        help="sample the gunicorn workers with py-spy during the timed phases; collapsed stacks"
        " go to DIR/run-N/<phase>-<pid>.txt (slows the server a little)",
    )
    parser.add_argument(
        "--no-segment", action="store_true", help="skip the Segment /v1/batch phase"
    )
    parser.add_argument(
        "--fail-on-targets", action="store_true", help="exit with status 2 if a target is missed"
    )
    args = parser.parse_args(argv)
    args.copy_rows = args.copy_rows or args.batch_events
    if args.batch_size in args.compare_batch_sizes:
        args.compare_batch_sizes.remove(args.batch_size)
    if not urlsplit(args.database_url).scheme.startswith("postgres"):
        parser.error("--database-url must be a postgres:// URL")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks
    var_dir = tempfile.mkdtemp(prefix="beacon-bench-")
    results = []
    try:
        for repeat in range(args.repeat):
            results.append(run_repeat(args, repeat, var_dir))
        missed = report(args, results)
    except BenchError as exc:
        say(f"\nFAILED: {exc}")
        say(f"(server logs kept in {var_dir})")
        return 1
    except KeyboardInterrupt:
        say("\ninterrupted")
        return 130
    shutil.rmtree(var_dir, ignore_errors=True)
    return 2 if missed and args.fail_on_targets else 0


if __name__ == "__main__":
    sys.exit(main())
