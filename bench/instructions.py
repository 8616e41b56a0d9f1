"""Instructions per tracked event, counted by valgrind: a figure that, unlike a rate, does not move
with this host's speed, so two checkouts can be compared on a busy machine.

    .venv/bin/python bench/instructions.py [--checkout DIR ...] [--requests 200] [--batches 3]

For each checkout (default: this one), on a PostgreSQL database of its own:
1. (natively) migrates, creates an app, and warms it up as bench/ingest.py does: one event for
   each of its 20,000 users (its EventFactory), in batches of 1000;
2. runs, under `valgrind --tool=callgrind` with PYTHONHASHSEED=0, the same client twice: once
   with no measured request and once with N, and prints (difference) / N:
   - `single`: POST /api/v1/events through Django's test client (middleware, auth, view), N =
     --requests;
   - `batch`: POST /api/v1/events/batch of 1000 of the bench's events, N = --batches.
Production settings (DEBUG=false), log lines to /dev/null. Counts the web process only, not
PostgreSQL. Two checkouts' figures differ by a few tenths of a percent from run to run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/beacon_bench_instructions"


def client(checkout: str, database_url: str, mode: str, count: int, payload: str) -> None:
    """The measured process: runs inside `checkout` (see main's re-invocation)."""
    os.environ.update(
        DEBUG="false",
        SECRET_KEY="instructions-" + "x" * 50,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL="filesystem://",
        BEACON_PUBLIC_URL="http://127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        ALLOWED_HOSTS="testserver",
        BEACON_VAR_DIR=tempfile.mkdtemp(),
        LOG_LEVEL="WARNING",
    )
    sys.path.insert(0, checkout)
    import django

    django.setup()
    import logging

    from django.core.management import call_command
    from django.test import Client

    from contacts.models import ApiKey, App
    from contacts.services.apps import api_key_create, app_create

    for handler in logging.getLogger().handlers:
        handler.stream = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    data = json.loads(Path(payload).read_text())
    if mode == "prepare":
        call_command("migrate", verbosity=0)
        app = app_create(name="Instructions", tenant_id="instructions")
    else:
        app = App.objects.get(tenant_id="instructions")
    key = api_key_create(app=app, name="k", scope=ApiKey.Scope.INGEST)[1]
    http = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def post(path: str, body: dict) -> None:
        response = http.post(path, json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content

    if mode == "prepare":
        for start in range(0, len(data["warm"]), 1000):
            post("/api/v1/events/batch", {"events": data["warm"][start : start + 1000]})
    elif mode == "single":
        singles = data["singles"]
        post("/api/v1/events", singles[0])  # the code paths warm, as in a running server
        for event in singles[1 : 1 + count]:
            post("/api/v1/events", event)
    else:
        post("/api/v1/events/batch", {"events": data["warm"][:1000]})  # duplicates: warm
        for events in data["batches"][:count]:
            post("/api/v1/events/batch", {"events": events})


def payload(path: Path, *, requests: int, batches: int) -> None:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_ingest", BENCH / "ingest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_ingest"] = module
    spec.loader.exec_module(module)
    factory = module.EventFactory(
        users=20_000, seed=20_261_122, now=datetime(2026, 12, 2, 12, tzinfo=UTC)
    )
    data = {
        "warm": factory.events(len(factory.users), users=factory.users),
        "singles": factory.events(requests + 1),
        "batches": [factory.events(1000) for _ in range(batches)],
    }
    path.write_text(json.dumps(data))


def recreate(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    base, name = database_url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def run(checkout: str, url: str, mode: str, count: int, data: Path, *, counted: bool) -> int:
    python = str(Path(checkout) / ".venv" / "bin" / "python")
    argv = [python, __file__, "--client", checkout, url, mode, str(count), str(data)]
    if counted:
        argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(argv, cwd=checkout, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{checkout} {mode} {count} failed:\n{done.stderr[-3000:]}")
    found = re.search(r"Collected : (\d+)", done.stderr)
    return int(found.group(1)) if found else 0


def main() -> None:
    if sys.argv[1:2] == ["--client"]:
        checkout, url, mode, count, data = sys.argv[2:7]
        client(checkout, url, mode, int(count), data)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", action="append", help="a checkout with its .venv")
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--batches", type=int, default=3)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp()) / "events.json"
    payload(data, requests=args.requests, batches=args.batches)
    for checkout in args.checkout or [str(BENCH.parent)]:
        checkout = str(Path(checkout).resolve())
        recreate(args.database_url)
        run(checkout, args.database_url, "prepare", 0, data, counted=False)
        for mode, count, events in (
            ("single", args.requests, args.requests),
            ("batch", args.batches, 1000 * args.batches),
        ):
            base = run(checkout, args.database_url, mode, 0, data, counted=True)
            total = run(checkout, args.database_url, mode, count, data, counted=True)
            print(f"{checkout}: {mode}: {(total - base) / events:,.0f} instructions per event")


if __name__ == "__main__":
    main()
