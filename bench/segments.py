"""Segments benchmark: full, preview and incremental evaluation on PostgreSQL, against a full scan.

    .venv/bin/python bench/segments.py [--database-url postgres://postgres@127.0.0.1:5432/...]
        [--contacts 200000] [--events 5000000] [--reuse] [--repeat 3] [--incremental 200]
        [--set jit=off] [--explain] [--write-docs]

1. (Unless --reuse) drops and recreates the bench database, migrates it, creates an app with
   `app_create` (which installs the event catalog), ~60 event types, typed attributes for the
   params used in filters, and enables the event types the segments use for segmentation.
2. Loads the data set with psycopg COPY (text format): contacts, their devices and events over the
   last 90 days, with activity skewed per contact (lognormal rates, sessions that start with
   app_opened, 40% of contacts churn, 55% sign up within the window) and event types skewed
   (Zipf over ~58 names; purchases carry amount / category / order_id). Events are stored in time
   order, as ingest stores them. The indexes and constraints of events_event are dropped for the
   load and rebuilt after it; the per-contact stats are built
   with one INSERT ... SELECT ... GROUP BY, the param stats with the statement of the migration
   that created their table (events 0005); then VACUUM ANALYZE (the visibility map lets the
   planner use index-only scans, as autovacuum would after a bulk insert in production).
3. Creates the segments with `segment_create` (so they are validated) and times, each step
   --repeat times (medians reported, segments interleaved):
   - the floor: SELECT count(*) FROM events_event (warm);
   - first computation: `segment_refresh` on an empty membership;
   - steady state: `segment_refresh` again, membership stored (full compute + difference);
   - preview: `segment_preview` (the count and a sample of 10, in one query);
   - incremental: `segments_refresh_contacts` for one random contact and every segment, over
     --incremental contacts; then for --batches batches of --batch-size contacts.
4. Prints a table (ms, ratio to the floor) and the targets of the issue with PASS/MISS; with
   --write-docs, replaces the "## Segments (bench/segments.py)" section of
   docs/performance.md (the rest of the file is kept).

With --explain it times nothing and prints EXPLAIN (ANALYZE, BUFFERS) of each segment's query
(as `segment_refresh` runs it) and of the incremental query for one contact.

The clock of the data set ("now") is stored in the bench database (table bench_meta), and full
and incremental refreshes are evaluated at that instant, so --reuse measures the same memberships.
--reuse migrates the data set first: a migration's backfill fills what it adds.
`segment_preview` has no `now` argument and evaluates at the wall clock (counts drift slightly
when the data set is reused hours later; the timing does not).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from bisect import bisect
from datetime import UTC, datetime
from itertools import accumulate
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from measure import percentile, wait_quiet
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "performance.md"
DOCS_HEADING = "## Segments (bench/segments.py)"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/beacon_bench_segments"
WINDOW_DAYS = 90
DAY_US = 86_400_000_000

# Targets from the issue.
TARGET_STEADY_RATIO = 2.0
TARGET_PREVIEW_MS = 1000.0
TARGET_INCREMENTAL_MS = 20.0

# --------------------------------------------------------------------------------------------
# The data set
# --------------------------------------------------------------------------------------------

# Most common first (Zipf weights 1/rank); app_opened starts every session and
# sign_up_completed is each new contact's first event, so they are not drawn from this list.
RANKED_TYPES = [
    "screen_viewed",
    "product_viewed",
    "push_received",
    "product_list_viewed",
    "search_performed",
    "purchase_completed",
    "feature_used",
    "content_viewed",
    "category_browsed",
    "add_to_cart",
    "cart_viewed",
    "push_opened",
    "logged_in",
    "filter_applied",
    "search_result_clicked",
    "begin_checkout",
    "wishlist_added",
    "promotion_viewed",
    "content_completed",
    "push_dismissed",
    "onboarding_displayed",
    "onboarding_step_completed",
    "paywall_displayed",
    "remove_from_cart",
    "coupon_applied",
    "order_status_viewed",
    "error_encountered",
    "paywall_dismissed",
    "search_no_results",
    "content_shared",
    "profile_updated",
    "rating_submitted",
    "feature_discovered",
    "checkout_abandoned",
    "onboarding_completed",
    "logged_out",
    "trial_started",
    "subscription_started",
    "payment_failed",
    "wishlist_removed",
    "invite_sent",
    "review_submitted",
    "feedback_submitted",
    "preferences_updated",
    "notification_settings_changed",
    "coupon_failed",
    "refund_requested",
    "login_page_displayed",
    "sign_up_started",
    "onboarding_skipped",
    "subscription_renewed",
    "subscription_cancelled",
    "push_permission_granted",
    "push_permission_denied",
    "trial_ended",
    "language_changed",
    "referral_completed",
    "app_updated",
]
EVENT_TYPES = ["app_opened", "sign_up_completed", *RANKED_TYPES]
CATEGORIES = [
    "electronics",
    "fashion",
    "shoes",
    "home",
    "beauty",
    "sports",
    "books",
    "toys",
    "grocery",
    "garden",
]
SCREENS = ["home", "feed", "product", "cart", "profile", "search", "settings", "offers", "help"]
SOURCES = ["direct", "direct", "direct", "push", "deep_link", "widget"]
COUNTRIES = [
    ("US", 28),
    ("IN", 10),
    ("GB", 9),
    ("DE", 8),
    ("FR", 7),
    ("BR", 7),
    ("ES", 4),
    ("IT", 4),
    ("CA", 4),
    ("MX", 4),
    ("JP", 3),
    ("PL", 3),
    ("TR", 3),
    ("NL", 2),
    ("", 4),
]
PLATFORMS = [("android", 45), ("ios", 35), ("web", 20)]
# Typed attributes, so that filters compare numbers as numbers.
ATTRIBUTES = {
    "purchase_completed": {"amount": "number", "category": "string", "order_id": "string"},
    "add_to_cart": {"category": "string", "price": "number", "quantity": "number"},
    "product_viewed": {"category": "string", "price": "number", "product_id": "string"},
    "screen_viewed": {"screen_name": "string"},
    "app_opened": {"source": "string"},
}
SEGMENT_EVENTS = [
    "app_opened",
    "sign_up_completed",
    "purchase_completed",
    "add_to_cart",
    "product_viewed",
    "screen_viewed",
]


def _zipf_cumulative(n: int, s: float = 1.0) -> list[float]:
    return list(accumulate(1 / (rank**s) for rank in range(1, n + 1)))


def _weighted(rng: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


class Generator:
    """Contacts, devices and events as COPY text lines (no backslash, tab or newline inside)."""

    def __init__(self, *, seed: int, contacts: int, events: int, anchor: datetime, app_id: int):
        self.rng = random.Random(seed)
        self.contacts, self.events, self.app_id = contacts, events, app_id
        self.anchor_us = int(anchor.timestamp() * 1_000_000)
        self.start_us = self.anchor_us - WINDOW_DAYS * DAY_US
        self.day_prefix: dict[int, str] = {}
        self.categories_cw = _zipf_cumulative(len(CATEGORIES), 0.8)
        self.ranked_cw = _zipf_cumulative(len(RANKED_TYPES), 1.0)
        self.order = 0
        self.first_seen: list[int] = [0] * (contacts + 1)
        self.last_seen: list[int] = [0] * (contacts + 1)
        self.signed_up: list[int | None] = [None] * (contacts + 1)
        self.platform: list[str] = [""] * (contacts + 1)
        self.rows = 0

    # Time ----------------------------------------------------------------------------------
    def ts(self, us: int) -> str:
        """Absolute microseconds since the epoch as timestamptz text (UTC)."""
        day, rest = divmod(us, DAY_US)
        prefix = self.day_prefix.get(day)
        if prefix is None:
            date = datetime.fromtimestamp(day * 86_400, tz=UTC)
            prefix = self.day_prefix[day] = date.strftime("%Y-%m-%d ")
        seconds, micro = divmod(rest, 1_000_000)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}.{micro:06d}+00"

    # Params --------------------------------------------------------------------------------
    def category(self) -> str:
        return CATEGORIES[bisect(self.categories_cw, self.rng.random() * self.categories_cw[-1])]

    def params(self, name: str) -> str:
        rng = self.rng
        if name == "screen_viewed":
            return f'{{"screen_name": "{rng.choice(SCREENS)}"}}'
        if name == "app_opened":
            return f'{{"source": "{rng.choice(SOURCES)}"}}'
        if name == "product_viewed":
            price = round(rng.lognormvariate(3.3, 0.8), 2)
            product = rng.randrange(5000)
            return (
                f'{{"product_id": "p{product}", "category": "{self.category()}", "price": {price}}}'
            )
        if name == "add_to_cart":
            price = round(rng.lognormvariate(3.3, 0.8), 2)
            quantity = 1 + int(rng.expovariate(1.5))
            return (
                f'{{"product_id": "p{rng.randrange(5000)}", "category": "{self.category()}", '
                f'"price": {price}, "quantity": {quantity}}}'
            )
        if name == "purchase_completed":
            self.order += 1
            amount = round(rng.lognormvariate(math.log(40), 0.9), 2)
            return (
                f'{{"order_id": "o{self.order}", "amount": {amount}, "category": '
                f'"{self.category()}", "currency": "USD", "items": {1 + int(rng.expovariate(1))}}}'
            )
        if name in ("product_list_viewed", "category_browsed"):
            return f'{{"category": "{self.category()}"}}'
        if name == "search_performed":
            return f'{{"query": "q{rng.randrange(2000)}", "results_count": {rng.randrange(60)}}}'
        if name in ("push_received", "push_opened", "push_dismissed"):
            return (
                f'{{"campaign_id": "c{rng.randrange(40)}", "message_id": "m{rng.randrange(9999)}"}}'
            )
        if name == "begin_checkout":
            return f'{{"cart_total": {round(rng.lognormvariate(3.8, 0.8), 2)}, "currency": "USD"}}'
        return "{}"

    # Events --------------------------------------------------------------------------------
    def event_chunks(self, type_ids: dict[str, int], chunk_rows: int = 20_000):
        """Yield COPY text chunks of events_event rows; fills first/last seen per contact."""
        rng = self.rng
        n = self.contacts
        # Per contact: active span within the window (days), and an activity weight.
        spans = []
        for _ in range(n):
            start = 0.0 if rng.random() < 0.45 else rng.uniform(0, WINDOW_DAYS)
            end = rng.uniform(start, WINDOW_DAYS) if rng.random() < 0.40 else WINDOW_DAYS
            end = max(end, min(start + 0.05, WINDOW_DAYS))
            spans.append((start, end, rng.lognormvariate(0, 1.1)))
        scale = self.events / sum(w * (end - start) for start, end, w in spans)
        ranked_ids = [type_ids[name] for name in RANKED_TYPES]
        purchase_id, viewed_id = type_ids["purchase_completed"], type_ids["product_viewed"]
        opened_id, signup_id = type_ids["app_opened"], type_ids["sign_up_completed"]
        names = {type_id: name for name, type_id in type_ids.items()}
        lines: list[str] = []
        app_id, app_versions = self.app_id, ("4.2.0", "4.1.3", "4.1.2", "3.9.8")
        for cid, (start, end, weight) in enumerate(spans, start=1):
            platform = _weighted(rng, PLATFORMS)
            self.platform[cid] = platform
            context = f'{{"platform": "{platform}", "app_version": "{rng.choice(app_versions)}"}}'
            buyer = rng.random() < 0.40
            budget = max(1, int(scale * weight * (end - start) + rng.random()))
            start_us = self.start_us + int(start * DAY_US)
            span_us = int((end - start) * DAY_US)
            first = last = None
            session = 0
            if start > 0:  # signed up within the window
                self.signed_up[cid] = start_us
            while budget > 0:
                at = start_us + int(rng.random() * span_us)
                if session == 0 and start > 0:  # a new contact's first session signs up
                    at = start_us
                length = min(budget, 1 + int(rng.expovariate(1 / 5.5)))
                budget -= length
                session += 1
                kinds = [opened_id]
                if session == 1 and start > 0:
                    kinds.append(signup_id)
                kinds += rng.choices(ranked_ids, cum_weights=self.ranked_cw, k=length - 1)
                for type_id in kinds:
                    if type_id == purchase_id and not buyer:
                        type_id = viewed_id
                    elif type_id == viewed_id and buyer and rng.random() < 0.2:
                        type_id = purchase_id
                    at = min(at + int(rng.expovariate(1 / 40) * 1_000_000), self.anchor_us - 1)
                    stamp = self.ts(at)
                    self.rows += 1
                    lines.append(
                        f"{app_id}\t{cid}\t{type_id}\t{stamp}\t{stamp}\t"
                        f"{self.params(names[type_id])}\t{context}\t{cid}-{session}\t"
                        f"{cid:016x}{self.rows:048x}\n"
                    )
                    first = at if first is None or at < first else first
                    last = at if last is None or at > last else last
            self.first_seen[cid], self.last_seen[cid] = first, last
            if len(lines) >= chunk_rows:
                yield "".join(lines)
                lines = []
        if lines:
            yield "".join(lines)

    def contact_chunk(self) -> str:
        rng, lines = self.rng, []
        for cid in range(1, self.contacts + 1):
            first = self.first_seen[cid]
            signed_up = self.signed_up[cid]
            created = signed_up if signed_up else first - int(rng.uniform(1, 400) * DAY_US)
            email = f"user{cid}@example.com" if rng.random() < 0.6 else "\\N"
            plan = "pro" if rng.random() < 0.15 else "free"
            lines.append(
                f"{cid}\t{self.app_id}\tu{cid}\t{email}\t"
                f'{{"plan": "{plan}", "age": {18 + rng.randrange(50)}}}\tapi\t\t'
                f"{rng.choice(('en', 'en', 'de', 'fr', 'es', 'pt'))}\t{_weighted(rng, COUNTRIES)}\t"
                f"{self.ts(created)}\t{self.ts(first)}\t{self.ts(self.last_seen[cid])}\n"
            )
        return "".join(lines)

    def device_chunk(self) -> str:
        rng, lines, token = self.rng, [], 0
        for cid in range(1, self.contacts + 1):
            draw = rng.random()
            count = 0 if draw < 0.15 else 1 if draw < 0.9 else 2
            for index in range(count):
                token += 1
                platform = self.platform[cid] if index == 0 else "web"
                granted = "t" if rng.random() < 0.6 else "f"
                invalidated = self.ts(self.last_seen[cid]) if rng.random() < 0.05 else "\\N"
                lines.append(
                    f"{self.app_id}\t{cid}\ttok-{token:012d}\t{platform}\t{granted}\t\ten\t\t"
                    f"{self.ts(self.first_seen[cid])}\t{self.ts(self.last_seen[cid])}\t"
                    f"{invalidated}\t\t\n"  # no installation id, the platform's provider
                )
        return "".join(lines)


# --------------------------------------------------------------------------------------------
# Database setup and loading
# --------------------------------------------------------------------------------------------


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SystemExit(f"unexpected database name {name!r}")
    return urlunsplit(parts._replace(path="/postgres")), name


def recreate_database(url: str) -> None:
    admin, name = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_indexes(conn: psycopg.Connection, table: str) -> list[str]:
    """Drop the table's primary key, unique and foreign key constraints and its indexes; return
    the statements that recreate them (keys first, foreign keys last)."""
    constraints = conn.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f')",
        [table],
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s",
        [table],
    ).fetchall()
    owned = {name for name, _, _ in constraints}
    order = {"p": 0, "u": 1, "f": 3}
    recreate = [
        (order[kind], f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for name, kind, definition in constraints
    ]
    recreate += [(2, definition) for name, definition in indexes if name not in owned]
    for name, _kind, _ in sorted(constraints, key=lambda c: -order[c[1]]):
        conn.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        if name not in owned:
            conn.execute(f'DROP INDEX "{name}"')
    return [statement for _, statement in sorted(recreate)]


def load_data(args, app_id: int, type_ids: dict[str, int], anchor: datetime) -> dict:
    """COPY contacts, devices and events; build the stats; VACUUM ANALYZE. Returns timings."""
    timings: dict[str, float] = {}
    generator = Generator(
        seed=args.seed, contacts=args.contacts, events=args.events, anchor=anchor, app_id=app_id
    )
    with psycopg.connect(args.database_url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        rebuild_events = _drop_indexes(conn, "events_event")
        rebuild_stats = _drop_indexes(conn, "events_contacteventstats")

        # Events are generated contact by contact; production stores them roughly in time order
        # (ingest), which decides which heap pages a time window touches: COPY into a scratch
        # table, then insert in time order.
        started = time.perf_counter()
        columns = (
            "app_id, contact_id, event_type_id, occurred_at, received_at, params, context, "
            "session_id, fingerprint"
        )
        conn.execute("DROP TABLE IF EXISTS bench_events_staging")
        conn.execute(
            f"CREATE UNLOGGED TABLE bench_events_staging AS SELECT {columns} FROM events_event "
            "WITH NO DATA"
        )
        with conn.cursor().copy(f"COPY bench_events_staging ({columns}) FROM STDIN") as copy:
            for chunk in generator.event_chunks(type_ids):
                copy.write(chunk)
        timings["copy events"] = time.perf_counter() - started
        print(f"  events: {generator.rows:,} rows in {timings['copy events']:.1f} s", flush=True)
        started = time.perf_counter()
        conn.execute("SET work_mem = '1GB'")
        conn.execute(
            f"INSERT INTO events_event ({columns}) SELECT {columns} FROM bench_events_staging "
            "ORDER BY occurred_at"
        )
        conn.execute("RESET work_mem")
        conn.execute("DROP TABLE bench_events_staging")
        timings["events in time order"] = time.perf_counter() - started

        started = time.perf_counter()
        columns = (
            "id, app_id, external_id, email, custom_fields, source, timezone, language, "
            "country, created_at, first_seen_at, last_seen_at"
        )
        with conn.cursor().copy(f"COPY contacts_contact ({columns}) FROM STDIN") as copy:
            copy.write(generator.contact_chunk())
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('contacts_contact', 'id'), max(id)) "
            "FROM contacts_contact"
        )
        columns = (
            "app_id, contact_id, token, platform, push_permission_granted, timezone, language, "
            "country, created_at, last_seen_at, invalidated_at, installation_id, push_provider"
        )
        with conn.cursor().copy(f"COPY contacts_device ({columns}) FROM STDIN") as copy:
            copy.write(generator.device_chunk())
        timings["copy contacts and devices"] = time.perf_counter() - started

        started = time.perf_counter()
        for statement in rebuild_events:
            conn.execute(statement)
        timings["events indexes and constraints"] = time.perf_counter() - started

        started = time.perf_counter()
        stats_columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'events_contacteventstats'"
            )
        }
        # Ingest marks stats rows for incremental re-evaluation; the loaded ones are settled.
        marks = ("", "")
        if "needs_evaluation" in stats_columns:
            marks = (", needs_evaluation", ", false")
        conn.execute(
            "INSERT INTO events_contacteventstats "
            f"(contact_id, event_type_id, first_at, last_at, count{marks[0]}) "
            "SELECT contact_id, event_type_id, min(occurred_at), max(occurred_at), "
            f"count(*){marks[1]} FROM events_event GROUP BY contact_id, event_type_id"
        )
        for statement in rebuild_stats:
            conn.execute(statement)
        timings["stats"] = time.perf_counter() - started

        # The param stats as the migration that created their table fills them from events.
        started = time.perf_counter()
        migration = importlib.import_module("events.migrations.0005_contact_param_stats")
        conn.execute(migration.BACKFILL["postgresql"])
        timings["param stats"] = time.perf_counter() - started

        started = time.perf_counter()
        for table in (
            "events_event",
            "events_contacteventstats",
            "events_contactparamstats",
            "contacts_contact",
        ):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        conn.execute("VACUUM (ANALYZE) contacts_device")
        timings["vacuum analyze"] = time.perf_counter() - started
    return timings


def save_meta(url: str, meta: dict) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
        for key, value in meta.items():
            conn.execute(
                "INSERT INTO bench_meta VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                [key, str(value)],
            )


def load_meta(url: str) -> dict:
    try:
        with psycopg.connect(url) as conn:
            return dict(conn.execute("SELECT key, value FROM bench_meta").fetchall())
    except psycopg.Error as exc:
        raise SystemExit(f"--reuse: no data set in {url} ({exc}); run without --reuse") from None


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------


def last(amount: int, unit: str = "day") -> dict:
    return {"type": "last", "amount": amount, "unit": unit}


def segment_definitions() -> list[tuple[str, object]]:
    """(name, conditions); a callable builds its tree from the ids of the segments before it."""
    opened_14 = {"type": "event", "event": "app_opened", "period": last(14)}
    return [
        (
            "3+ purchases over 50 in 30 days",
            {
                "type": "event",
                "event": "purchase_completed",
                "count": {"op": ">=", "value": 3},
                "period": last(30),
                "where": [{"param": "amount", "op": ">", "value": 50}],
            },
        ),
        (
            "no app_opened in 14 days",
            {**opened_14, "performed": False},
        ),
        (
            "churn risk (opened in 30 days, not in 14)",
            {
                "type": "and",
                "conditions": [
                    {"type": "event", "event": "app_opened", "period": last(30)},
                    {"type": "not", "condition": opened_14},
                ],
            },
        ),
        (
            "4-week app_opened streak",
            {"type": "streak", "event": "app_opened", "periods": 4, "unit": "week"},
        ),
        (
            "new users (first sign_up_completed in 7 days)",
            {"type": "first_event", "event": "sign_up_completed", "period": last(7)},
        ),
        (
            "inactive (last app_opened 30+ days ago)",
            {
                "type": "last_event",
                "event": "app_opened",
                "period": {"type": "older_than", "amount": 30, "unit": "day"},
            },
        ),
        (
            "lifetime purchase sum >= 200",
            {
                "type": "event",
                "event": "purchase_completed",
                "aggregate": {"fn": "sum", "param": "amount", "op": ">=", "value": 200},
            },
        ),
        (
            "nested: US/CA iOS push non-buyers or shoe cart abandoners",
            {
                "type": "or",
                "conditions": [
                    {
                        "type": "and",
                        "conditions": [
                            {
                                "type": "contact",
                                "field": "country",
                                "op": "in",
                                "value": ["US", "CA"],
                            },
                            {"type": "device", "platform": "ios", "push_permission_granted": True},
                            {
                                "type": "not",
                                "condition": {
                                    "type": "event",
                                    "event": "purchase_completed",
                                    "period": last(30),
                                },
                            },
                        ],
                    },
                    {
                        "type": "and",
                        "conditions": [
                            {
                                "type": "event",
                                "event": "add_to_cart",
                                "period": last(7),
                                "where": [{"param": "category", "op": "=", "value": "shoes"}],
                            },
                            {
                                "type": "event",
                                "event": "purchase_completed",
                                "performed": False,
                                "period": last(7),
                            },
                        ],
                    },
                ],
            },
        ),
        (
            "ever purchased (stats)",
            {"type": "event", "event": "purchase_completed"},
        ),
        (
            "electronics/home browsers (3+ views in 14 days)",
            {
                "type": "event",
                "event": "product_viewed",
                "count": {"op": ">=", "value": 3},
                "period": last(14),
                "where": [{"param": "category", "op": "in", "value": ["electronics", "home"]}],
            },
        ),
        (
            "active big spenders (segment refs)",
            lambda ids: {
                "type": "and",
                "conditions": [
                    {"type": "segment", "segment": ids[6]},
                    {"type": "not", "condition": {"type": "segment", "segment": ids[1]}},
                ],
            },
        ),
    ]


def setup_app():
    """The app, its event types and attributes, segmentation enabled for the segments' events."""
    from contacts.services.apps import app_create
    from events.models import EventType
    from events.services.event_types import event_attribute_declare, event_type_set_segmentation

    app = app_create(name="Segments bench", tenant_id="segments-bench")
    existing = set(EventType.objects.filter(app=app).values_list("name", flat=True))
    EventType.objects.bulk_create(
        EventType(app=app, name=name) for name in EVENT_TYPES if name not in existing
    )
    types = {t.name: t for t in EventType.objects.filter(app=app, name__in=EVENT_TYPES)}
    for event_name, params in ATTRIBUTES.items():
        for param, type_ in params.items():
            event_attribute_declare(event_type=types[event_name], name=param, type_=type_)
    for name in SEGMENT_EVENTS:
        event_type_set_segmentation(event_type=types[name], enabled=True)
    return app, {name: t.pk for name, t in types.items()}


def create_segments(app) -> list:
    from segments.models import Segment
    from segments.services import segment_create

    Segment.objects.filter(app=app).delete()
    segments: list = []
    for name, conditions in segment_definitions():
        tree = conditions([s.pk for s in segments]) if callable(conditions) else conditions
        segments.append(segment_create(app=app, name=name, conditions=tree))
    return segments


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def measure_floor(repeat: int) -> float:
    from django.db import connection

    def scan():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM events_event")
            cursor.fetchone()

    scan()  # warm
    return statistics.median(timed(scan) for _ in range(max(repeat, 5)))


def reset_membership(segment) -> None:
    from segments.models import Segment, SegmentChange, SegmentMembership

    SegmentMembership.objects.filter(segment=segment).delete()
    SegmentChange.objects.filter(segment=segment).delete()
    Segment.objects.filter(pk=segment.pk).update(member_count=0, last_computed_at=None)


def vacuum_segment_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("segments_segmentmembership", "segments_segmentchange", "segments_segment"):
            cursor.execute(f"VACUUM (ANALYZE) {table}")


def measure_segments(app, segments, anchor: datetime, repeat: int, first: bool) -> dict[int, dict]:
    from segments.models import Segment
    from segments.selectors import segment_preview
    from segments.services import segment_refresh

    results = {s.pk: {"first": [], "steady": [], "preview": []} for s in segments}
    for round_ in range(repeat if first else 1):
        for segment in segments:
            reset_membership(segment)
            fresh = Segment.objects.select_related("app").get(pk=segment.pk)
            results[segment.pk]["first"].append(
                timed(lambda s=fresh: segment_refresh(segment=s, now=anchor))
            )
        print(f"  first computation, round {round_ + 1}/{repeat} done", flush=True)
    if not first:  # --skip-first: stored once, not reported
        for r in results.values():
            r["first"] = None
    vacuum_segment_tables()  # as autovacuum would after the bulk of new memberships
    for round_ in range(repeat):
        for segment in segments:
            fresh = Segment.objects.select_related("app").get(pk=segment.pk)
            results[segment.pk]["steady"].append(
                timed(lambda s=fresh: segment_refresh(segment=s, now=anchor))
            )
        print(f"  steady state, round {round_ + 1}/{repeat} done", flush=True)
    for round_ in range(repeat):
        for segment in segments:
            results[segment.pk]["preview"].append(
                timed(lambda s=segment: segment_preview(app=app, conditions=s.conditions))
            )
        print(f"  preview, round {round_ + 1}/{repeat} done", flush=True)
    for segment in segments:
        fresh = Segment.objects.get(pk=segment.pk)
        results[segment.pk]["members"] = fresh.member_count
    return {pk: {k: _median(v) for k, v in r.items()} for pk, r in results.items()}


def _median(value):
    return statistics.median(value) if isinstance(value, list) else value


def measure_incremental(app, anchor: datetime, args) -> dict[str, list[float]]:
    """Wall and Python CPU time of `segments_refresh_contacts` for one random contact (every
    segment), then for batches of --batch-size contacts (the pending-marks sweep batches)."""
    from contacts.models import Contact
    from segments.services import segments_refresh_contacts

    ids = list(Contact.objects.filter(app=app).values_list("pk", flat=True))
    rng = random.Random(args.seed + 1)
    picked = rng.sample(ids, min(args.incremental + 10, len(ids)))
    result: dict[str, list[float]] = {"single": [], "single_cpu": [], "batch": []}

    def refresh(contact_ids):
        segments_refresh_contacts(app=app, contact_ids=contact_ids, now=anchor)

    for index, contact_id in enumerate(picked):
        cpu = time.process_time()
        elapsed = timed(lambda c=contact_id: refresh([c]))
        if index >= 10:  # the first ten warm up
            result["single"].append(elapsed)
            result["single_cpu"].append(time.process_time() - cpu)
    for _ in range(args.batches):
        batch = rng.sample(ids, min(args.batch_size, len(ids)))
        result["batch"].append(timed(lambda b=batch: refresh(b)))
    return result


# --------------------------------------------------------------------------------------------
# EXPLAIN
# --------------------------------------------------------------------------------------------


def explain(query: str, params) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def explain_all(app, segments, anchor: datetime, contact_id: int) -> None:
    """The queries as the services run them (with JIT off, as full_evaluation sets it)."""
    from django.db import connection

    from contacts.models import Contact
    from segments.conditions.compiled import tree_conditions
    from segments.conditions.compiler import segment_context
    from segments.selectors import segment_membership_difference_sql, segment_preview_sql

    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    for segment in segments:
        refresh = segment_membership_difference_sql(segment=segment, now=anchor)
        print(f"\n### {segment.name}: refresh\n{explain(*refresh)}")
        preview = segment_preview_sql(app=app, conditions=segment.conditions, limit=10, now=anchor)
        print(f"\n### {segment.name}: preview\n{explain(*preview)}")
    every_tree = {"type": "and", "conditions": [segment.conditions for segment in segments]}
    flags = tree_conditions(  # the trees, as segments_refresh_contacts evaluates them
        {f"s{segment.pk}": segment.conditions for segment in segments},
        segment_context(app, every_tree),
        app=app,
        now=anchor,
        contact_ids=[contact_id],
    )
    rows = Contact.objects.filter(app=app, pk__in=[contact_id]).values("pk", **flags)
    query = explain(*rows.query.sql_with_params())
    print(f"\n### incremental, contact {contact_id}\n{query}")


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------


def code_version() -> str:
    """The commit the application code was imported from (+ "modified" when segments/, events/
    or contacts/ differ from it: other engineers edit the tree while benchmarks run)."""
    import subprocess

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return run.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "segments", "events", "contacts", "config")
    return f"{commit}{' (modified)' if dirty else ''}"


def _cell(seconds: float | None, floor: float) -> str:
    return "not timed" if seconds is None else f"{ms(seconds):.0f} ms ({seconds / floor:.2f}x)"


def report(args, meta, floor, results, segments, incremental, settings_applied, load) -> str:
    contacts = int(meta["contacts"])
    lines = [
        f"Data set: {contacts:,} contacts, {int(meta['events']):,} events over {WINDOW_DAYS} "
        f"days, {meta['event_types']} event types, {int(meta['devices']):,} devices, "
        f"{int(meta['stats']):,} contact stats rows (seed {meta['seed']}).",
        f"Code {args.code_version}. PostgreSQL settings: {', '.join(settings_applied) or 'stock'}; "
        f"medians of {args.repeat} runs. Machine load average (1 min) {load[0]:.2f} before "
        f"the timings, {load[1]:.2f} after (2 cores).",
        "",
        f"Floor: `SELECT count(*) FROM events_event` (warm) = **{ms(floor):.0f} ms**.",
        "",
        "| # | segment | members | first computation | steady state (x floor) | preview |",
        "|---|---|---|---|---|---|",
    ]
    for index, segment in enumerate(segments, start=1):
        r = results[segment.pk]
        share = 100 * r["members"] / contacts
        lines.append(
            f"| {index} | {segment.name} | {r['members']:,} ({share:.1f}%) | "
            f"{_cell(r['first'], floor)} | "
            f"{ms(r['steady']):.0f} ms ({r['steady'] / floor:.2f}x) | "
            f"{ms(r['preview']):.0f} ms ({r['preview'] / floor:.2f}x) |"
        )
    inc_median = statistics.median(incremental["single"])
    batch_median = statistics.median(incremental["batch"]) if incremental["batch"] else None
    lines += [
        "",
        f"Incremental update (`segments_refresh_contacts`, one contact, all {len(segments)} "
        f"segments), {len(incremental['single'])} random contacts: median "
        f"**{ms(inc_median):.1f} ms** ({inc_median / floor:.3f}x floor), "
        f"p90 {ms(percentile(incremental['single'], 0.9)):.1f} ms, "
        f"max {ms(max(incremental['single'])):.1f} ms; Python CPU of the bench process "
        f"{ms(statistics.median(incremental['single_cpu'])):.1f} ms median.",
    ]
    if batch_median is not None:
        lines += [
            "",
            f"Batches of {args.batch_size} random contacts in one call (as the pending-marks "
            f"sweep does), {len(incremental['batch'])} batches: median {ms(batch_median):.0f} ms "
            f"per batch, {ms(batch_median) / args.batch_size:.1f} ms per contact.",
        ]
    lines += [
        "",
    ]
    worst_steady = max(results.values(), key=lambda r: r["steady"])["steady"]
    worst_preview = max(results.values(), key=lambda r: r["preview"])["preview"]
    checks = [
        (
            f"every steady-state full evaluation <= {TARGET_STEADY_RATIO:g}x floor",
            f"worst {worst_steady / floor:.2f}x ({ms(worst_steady):.0f} ms)",
            worst_steady <= TARGET_STEADY_RATIO * floor,
        ),
        (
            f"every preview < {TARGET_PREVIEW_MS:.0f} ms",
            f"worst {ms(worst_preview):.0f} ms",
            ms(worst_preview) < TARGET_PREVIEW_MS,
        ),
        (
            f"incremental update, median < {TARGET_INCREMENTAL_MS:.0f} ms",
            f"{ms(inc_median):.1f} ms",
            ms(inc_median) < TARGET_INCREMENTAL_MS,
        ),
    ]
    lines += ["| target | measured | |", "|---|---|---|"]
    lines += [f"| {what} | {got} | {'PASS' if ok else 'MISS'} |" for what, got, ok in checks]
    return "\n".join(lines)


def write_docs(command: str, body: str, key: str) -> None:
    """Write this run's figures into docs/performance.md, in a block of the section
    DOCS_HEADING owned by the run's settings (`key`): a run replaces its own block and keeps
    the rest of the file, other blocks of the section and the text around them."""
    marker = f"<!-- bench/segments.py {key}"
    begin, end = f"{marker}: begin -->", f"{marker}: end -->"
    block = f"{begin}\n```\n{command}\n```\n\n{body}\n{end}"
    text = DOCS.read_text() if DOCS.exists() else "# Performance\n"
    section = re.compile(rf"^{re.escape(DOCS_HEADING)}\n.*?(?=^## |\Z)", re.M | re.S)
    found = section.search(text)
    if found is None:
        text = f"{text.rstrip()}\n\n{DOCS_HEADING}\n\n{block}\n"
    else:
        old = found.group(0)
        owned = re.compile(rf"{re.escape(begin)}.*?{re.escape(end)}", re.S)
        if owned.search(old):
            new = owned.sub(lambda _: block, old, count=1)
        else:
            new = f"{old.rstrip()}\n\n{block}\n\n"
        text = text[: found.start()] + new + text[found.end() :]
    DOCS.write_text(text.rstrip("\n") + "\n")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded data set")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measured step")
    parser.add_argument("--incremental", type=int, default=200, help="contacts to update")
    parser.add_argument(
        "--skip-first",
        action="store_true",
        help="compute the memberships once without timing the first computation",
    )
    parser.add_argument("--batch-size", type=int, default=100, help="contacts per batch")
    parser.add_argument("--batches", type=int, default=10, help="batches to time (0: none)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the bench's sessions (e.g. jit=off); repeatable",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="instead of timing: EXPLAIN (ANALYZE, BUFFERS) of every segment's query and of "
        "the incremental query",
    )
    parser.add_argument("--explain-contact", type=int, help="the contact for --explain")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        metavar="CPUS",
        help="before timing, wait until other processes keep less than CPUS cores busy (e.g. 0.3)",
    )
    parser.add_argument("--wait-timeout", type=float, default=1800, help="seconds (--wait-quiet)")
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    return parser.parse_args()


def configure_django(args, var_dir: str) -> list[str]:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DEBUG"] = "false"  # no query log
    os.environ.setdefault("SECRET_KEY", "segments-bench")
    os.environ.setdefault("BEACON_PUBLIC_URL", "http://127.0.0.1:8000")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # bench/dashboard.py's client: http
    # segment_create enqueues a refresh on commit: keep those messages out of the shared var/.
    os.environ["BEACON_VAR_DIR"] = var_dir
    os.environ["CELERY_BROKER_URL"] = "filesystem://"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    from django.db.backends.signals import connection_created

    settings_applied = []
    for item in args.set:
        name, _, value = item.partition("=")
        if not re.fullmatch(r"[a-z_.]+", name) or not value:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE")
        settings_applied.append(f"{name}={value}")

    def apply(sender, connection, **kwargs):
        with connection.cursor() as cursor:
            for item in settings_applied:
                name, _, value = item.partition("=")
                cursor.execute("SELECT set_config(%s, %s, false)", [name, value])

    connection_created.connect(apply, weak=False, dispatch_uid="bench.segments.settings")
    return settings_applied


def main() -> int:
    args = parse_args()
    var_dir = tempfile.mkdtemp(prefix="bench-segments-")
    try:
        return run(args, var_dir)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args, var_dir: str) -> int:
    args.code_version = code_version()  # what this process imports
    if not args.reuse:
        print(f"Recreating {args.database_url}", flush=True)
        recreate_database(args.database_url)
    settings_applied = configure_django(args, var_dir)
    from django.core.management import call_command

    from contacts.models import App

    # A reused data set gets the migrations written since it was loaded (and their backfills).
    call_command("migrate", verbosity=0)
    if not args.reuse:
        anchor = datetime.now(UTC).replace(microsecond=0)
        app, type_ids = setup_app()
        print(f"Loading {args.contacts:,} contacts and ~{args.events:,} events", flush=True)
        started = time.perf_counter()
        timings = load_data(args, app.pk, type_ids, anchor)
        for step, seconds in timings.items():
            print(f"  {step}: {seconds:.1f} s")
        print(f"  total load: {time.perf_counter() - started:.1f} s", flush=True)
        with psycopg.connect(args.database_url) as conn:
            counts = [
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("events_event", "contacts_device", "events_contacteventstats")
            ]
            event_types = conn.execute(
                "SELECT count(DISTINCT event_type_id) FROM events_contacteventstats"
            ).fetchone()[0]
        save_meta(
            args.database_url,
            {
                "anchor": anchor.isoformat(),
                "contacts": args.contacts,
                "events": counts[0],
                "devices": counts[1],
                "stats": counts[2],
                "event_types": event_types,
                "seed": args.seed,
                "app_id": app.pk,
            },
        )
    meta = load_meta(args.database_url)
    anchor = datetime.fromisoformat(meta["anchor"])
    app = App.objects.get(pk=int(meta["app_id"]))

    segments = create_segments(app)
    if args.explain:
        explain_all(app, segments, anchor, args.explain_contact or int(meta["contacts"]) // 2)
        return 0
    wait_quiet(args.wait_quiet, args.wait_timeout, pause=10)
    load_before = os.getloadavg()[0]
    print(f"Timing ({len(segments)} segments, repeat {args.repeat})", flush=True)
    floor = measure_floor(args.repeat)
    print(f"  floor: {ms(floor):.0f} ms", flush=True)
    results = measure_segments(app, segments, anchor, args.repeat, not args.skip_first)
    incremental = measure_incremental(app, anchor, args)
    floor = statistics.median([floor, measure_floor(args.repeat)])  # before and after
    load = (load_before, os.getloadavg()[0])
    body = report(args, meta, floor, results, segments, incremental, settings_applied, load)
    print()
    print(body)
    if args.write_docs:
        command = " ".join([".venv/bin/python bench/segments.py", *sys.argv[1:]])
        write_docs(command, body, ", ".join(settings_applied) or "stock")
        print(f"\nWrote {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
