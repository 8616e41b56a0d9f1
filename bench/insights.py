"""Insights benchmark: the dashboard's saved charts on the segments benchmark's data set, on
PostgreSQL, against a same-run floor.

On a quiet machine, after bench/dashboard.py has loaded the 5M-event data set:

    .venv/bin/python bench/dashboard.py            # loads it (~minutes), once
    .venv/bin/python bench/insights.py --reuse

or on its own (it loads the same data set with bench/dashboard.py's loader):

    .venv/bin/python bench/insights.py [--database-url postgres://postgres@127.0.0.1:5432/...]
        [--contacts 200000] [--events 5000000] [--reuse] [--repeat 5] [--explain]

(developed with `--contacts 20000 --events 200000` on a database of its own).

1. (Unless --reuse) recreates the database and loads bench/dashboard.py's data set (bench/
   segments.py's contacts and events over the 90 days before "now": Zipf over ~60 event types;
   product_viewed carries product_id out of 5,000 and category, purchase_completed amount).
2. Creates, through `insight_create`, four charts of the last 30 days by day at the data set's
   "now", and a "Buyers" segment (did purchase_completed), refreshed once, untimed:
   - count of product_viewed;
   - sum of purchase_completed's amount;
   - count of product_viewed split by product_id, top 5 (5,000 values: the rest as "other");
   - count of product_viewed by the Buyers segment's members.
3. Times `insight_data` of each, --repeat times (warm; medians), and the floor: `SELECT count(*)
   FROM events_event` (warm), before and after, as bench/segments.py does. Prints each time, its
   ratio to the floor, and PASS/MISS against the target (< 1 s each); with --explain, EXPLAIN
   (ANALYZE, BUFFERS) of each chart's statement.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 1000.0


def bench_module(name: str):
    """bench/<name>.py under a name that does not hide the Django app of the same name."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args(default_url: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=default_url)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded data set")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN each chart's statement")
    args = parser.parse_args()
    args.set = []  # bench/segments.py's configure_django reads it
    return args


def create_charts(app) -> list:
    from django.db import connection

    from dashboard.models import Insight
    from dashboard.services import insight_create
    from events.models import EventType
    from segments.services import segment_create, segment_refresh

    Insight.objects.filter(app=app).delete()
    types = {t.name: t for t in EventType.objects.filter(app=app)}
    buyers = segment_create(
        app=app,
        name="Buyers (insights bench)",
        conditions={"type": "event", "event": "purchase_completed", "performed": True},
    )
    segment_refresh(segment=buyers)
    with connection.cursor() as cursor:  # as autovacuum would after such an insert
        cursor.execute("ANALYZE segments_segmentmembership")
    buyers.refresh_from_db()
    print(f"  segment Buyers: {buyers.member_count:,} members", flush=True)
    viewed, bought = types["product_viewed"], types["purchase_completed"]
    month = {"period": "30d", "granularity": "day"}
    return [
        insight_create(app=app, name="Product views", event_type=viewed, **month),
        insight_create(
            app=app,
            name="Revenue",
            event_type=bought,
            measure="sum",
            param="amount",
            **month,
        ),
        insight_create(
            app=app,
            name="Views by product, top 5",
            event_type=viewed,
            split_param="product_id",
            top_n=5,
            **month,
        ),
        insight_create(
            app=app, name="Product views by buyers", event_type=viewed, segment=buyers, **month
        ),
    ]


def timed(fn, repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(args, bench, anchor: datetime, app_id: int) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from contacts.models import App
    from dashboard.insights import insight_data

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    app = App.objects.get(pk=app_id)
    charts = create_charts(app)
    floor = bench.measure_floor(args.repeat)
    print(f"\nFloor: SELECT count(*) FROM events_event (warm) = {floor * 1000:.0f} ms", flush=True)
    results = []
    for insight in charts:
        seconds = timed(lambda i=insight: insight_data(insight=i, now=anchor), args.repeat)
        with CaptureQueriesContext(connection) as queries:
            data = insight_data(insight=insight, now=anchor)
        results.append((insight, seconds, data, queries.captured_queries))
    floor = statistics.median([floor, bench.measure_floor(args.repeat)])  # before and after

    print(f"\n{'chart (30 days by day)':<28} {'ms':>7} {'x floor':>8}  queries  figure   verdict")
    missed = 0
    for insight, seconds, data, queries in results:
        verdict = "PASS" if seconds * 1000 < TARGET_MS else "MISS"
        missed += verdict == "MISS"
        series = ", ".join(s["name"] for s in data["series"])
        print(
            f"{insight.name:<28} {seconds * 1000:7.0f} {seconds / floor:8.2f}  {len(queries):7}  "
            f"{data['total']:,.0f}  {verdict}  ({series})"
        )
    print(f"\nTarget: each < {TARGET_MS:.0f} ms: {'PASS' if not missed else 'MISS'}")
    if args.explain:
        for insight, _, _, queries in results:
            print(f"\nEXPLAIN (ANALYZE, BUFFERS), {insight.name}:")
            print(bench.explain(queries[-1]["sql"], None))
    return 1 if missed else 0


def main() -> int:
    dashboard_bench = bench_module("dashboard")
    bench = dashboard_bench.segments_bench()
    args = parse_args(dashboard_bench.DEFAULT_URL)
    var_dir = tempfile.mkdtemp(prefix="bench-insights-")
    try:
        if not args.reuse:
            print(f"Recreating {args.database_url}", flush=True)
            bench.recreate_database(args.database_url)
        bench.configure_django(args, var_dir)
        if args.reuse:  # a data set loaded before the insights' table was made gets it
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        else:
            dashboard_bench.load(bench, args)
        meta = bench.load_meta(args.database_url)
        return measure(args, bench, datetime.fromisoformat(meta["anchor"]), int(meta["app_id"]))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
