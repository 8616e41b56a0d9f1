"""Dashboard benchmark: the admin's index on the segments benchmark's data set, on PostgreSQL.

    .venv/bin/python bench/dashboard.py [--database-url postgres://postgres@127.0.0.1:5432/...]
        [--contacts 200000] [--events 5000000] [--reuse] [--repeat 5]

1. (Unless --reuse) recreates the database and loads bench/segments.py's data set with its loader
   (contacts, devices, events over the 90 days before "now", Zipf over ~60 event types), then
   adds its segments (member counts set, not computed: the dashboard reads the stored count) and
   five campaigns, one with 50,000 sent deliveries (a fifth opened); VACUUM ANALYZE.
2. Times, --repeat times (warm; medians): `dashboard_get` for the app, each of its queries, and
   a GET of /admin/ as a marketer through Django's test client (template and app list included).
   Prints EXPLAIN (ANALYZE) of the events-per-hour query.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/beacon_bench_dashboard"
TARGET_MS = 1000.0
PLAIN_STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"


def segments_bench():
    """bench/segments.py, under a name that does not hide the `segments` Django app."""
    spec = importlib.util.spec_from_file_location("bench_segments", ROOT / "bench" / "segments.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded data set")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    args.set = []  # bench/segments.py's configure_django reads it
    return args


def load(bench, args) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    anchor = datetime.now(UTC).replace(microsecond=0)
    app, type_ids = bench.setup_app()
    print(f"Loading {args.contacts:,} contacts and ~{args.events:,} events", flush=True)
    started = time.perf_counter()
    bench.load_data(args, app.pk, type_ids, anchor)
    print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
    bench.save_meta(args.database_url, {"anchor": anchor.isoformat(), "app_id": app.pk})
    add_segments_and_campaigns(bench, app, anchor)


def add_segments_and_campaigns(bench, app, anchor: datetime) -> None:
    import secrets

    from campaigns.models import Campaign, Delivery
    from campaigns.services.campaigns import campaign_create
    from contacts.models import Contact, Device
    from segments.models import Segment

    rng = random.Random(7)
    for segment in bench.create_segments(app):
        Segment.objects.filter(pk=segment.pk).update(member_count=rng.randint(0, 200_000))
    campaigns = [
        campaign_create(app=app, name=f"Campaign {n}", kind=Campaign.Kind.BROADCAST, title="Hi")
        for n in range(5)
    ]
    devices = Device.objects.filter(app=app).values_list("pk", "contact_id")[:50_000]
    sent = anchor - timedelta(hours=3)
    Delivery.objects.bulk_create(
        (
            Delivery(
                app=app,
                campaign=campaigns[-1],
                contact_id=contact_id,
                device_id=device_id,
                source=f"broadcast:{campaigns[-1].pk}",
                due_at=sent,
                status=Delivery.Status.SENT,
                sent_at=sent,
                opened_at=sent if n % 5 == 0 else None,
                open_token=secrets.token_urlsafe(32),
                created_at=sent,
            )
            for n, (device_id, contact_id) in enumerate(devices)
        ),
        batch_size=5000,
    )
    print(f"  {Contact.objects.filter(app=app).count():,} contacts, deliveries added", flush=True)


def timed(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def measure(args, anchor: datetime, app_id: int) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from contacts.models import App
    from contacts.services.roles import MARKETER, roles_install
    from dashboard.selectors import dashboard_get
    from events.models import Event, EventType

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    apps = App.objects.filter(pk=app_id)
    dashboard_get(apps=apps, now=anchor)  # warm
    median = timed(lambda: dashboard_get(apps=apps, now=anchor), args.repeat)
    with CaptureQueriesContext(connection) as queries:
        figures = dashboard_get(apps=apps, now=anchor)
    print(f"\ndashboard_get: {median:.0f} ms (median of {args.repeat}), {len(queries)} queries")
    print(f"  events in 24 h: {figures['events']['total']:,}")
    print(f"  new contacts: {figures['contacts_new']}")
    print(f"  reachable devices: {figures['devices_reachable']:,}")
    for query in queries.captured_queries:
        print(f"  {float(query['time']) * 1000:7.1f} ms  {query['sql'][:110]}")

    setup_test_environment()
    # Production settings name static files from collectstatic's manifest, which a bench has
    # not built; the page's own time is what is measured, so its static URLs stay plain.
    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": PLAIN_STATIC_STORAGE}}
    override_settings(STORAGES=plain).enable()
    user, _ = get_user_model().objects.get_or_create(username="bench-marketer", is_staff=True)
    user.groups.add(roles_install()[MARKETER])
    App.objects.get(pk=app_id).members.add(user)
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 200
    page = timed(lambda: client.get("/admin/"), args.repeat)
    verdict = "PASS" if page < TARGET_MS else "MISS"
    print(f"\nGET /admin/ (dashboard, wall clock now): {page:.0f} ms; target < 1 s: {verdict}")

    first = anchor.replace(minute=0, second=0) - timedelta(hours=23)
    names = list(EventType.objects.filter(app_id=app_id).values_list("pk", flat=True))
    events = Event.objects.filter(event_type_id__in=names, occurred_at__gte=first)
    from django.db.models import Count
    from django.db.models.functions import TruncHour

    grouped = (
        events.filter(occurred_at__lte=anchor)
        .annotate(hour=TruncHour("occurred_at"))
        .values("event_type_id", "hour")
        .annotate(n=Count("*"))
        .order_by()
    )
    print("\nEXPLAIN ANALYZE, events per hour:")
    print(grouped.explain(analyze=True))


def main() -> int:
    args = parse_args()
    bench = segments_bench()
    var_dir = tempfile.mkdtemp(prefix="bench-dashboard-")
    try:
        if not args.reuse:
            print(f"Recreating {args.database_url}", flush=True)
            bench.recreate_database(args.database_url)
        bench.configure_django(args, var_dir)
        if not args.reuse:
            load(bench, args)
        meta = bench.load_meta(args.database_url)
        measure(args, datetime.fromisoformat(meta["anchor"]), int(meta["app_id"]))
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
