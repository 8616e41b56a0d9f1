"""The longer schemathesis run over the whole API (issue 15): requests tried, HTTP 5xx and check
failures per key kind, on the database DATABASE_URL names (SQLite when unset).

    .venv/bin/python bench/fuzz_api.py [--examples 200] [--steps 50] [--seed N] [--key admin]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/beacon_fuzz .venv/bin/python bench/fuzz_api.py

It runs the bounded test of `make test` (tests/fuzz/test_api_fuzz.py: a live server with an app,
its rows and another app's, schemathesis with every phase and check) with more examples per
operation and longer stateful sequences, then prints the figures of each key and every failure
with a curl command that reproduces it. Exit status 1 if any request answered 5xx or any check
failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/fuzz/test_api_fuzz.py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="per operation and phase")
    parser.add_argument("--steps", type=int, default=50, help="stateful steps per scenario")
    parser.add_argument("--seed", type=int, help="replay a run (default: a new seed)")
    parser.add_argument("--key", choices=["admin", "ingest"], help="one key kind (default both)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.jsonl"
        env = {
            **os.environ,
            "DEBUG": os.environ.get("DEBUG", "true"),
            "BEACON_VAR_DIR": os.environ.get("BEACON_VAR_DIR", scratch),
            "BEACON_FUZZ_EXAMPLES": str(args.examples),
            "BEACON_FUZZ_STEPS": str(args.steps),
            "BEACON_FUZZ_REPORT": str(report),
            "BEACON_FUZZ_SEED": "random" if args.seed is None else str(args.seed),
        }
        command = [sys.executable, "-m", "pytest", TEST, "-p", "no:cacheprovider", "-q"]
        command += ["--show-capture=no", "-p", "no:logging"]
        if os.environ.get("DATABASE_URL"):
            command.append("--create-db")
        if args.key:
            command += ["-k", args.key]
        database = os.environ.get("DATABASE_URL", "").split("@")[-1] or "SQLite"
        print(f"schemathesis on {database}: {args.examples} examples, {args.steps} steps")
        started = time.monotonic()
        subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        elapsed = time.monotonic() - started
        lines = report.read_text().splitlines() if report.exists() else []
        runs = [json.loads(line) for line in lines]

    for run in runs:
        print()
        print(run["summary"])
    total = {name: sum(run[name] for run in runs) for name in ("requests", "server_errors")}
    failures = sum(run["check_failures"] + run["errors"] for run in runs)
    print(
        f"\n{len(runs)} key kinds, {total['requests']} requests, "
        f"{total['server_errors']} HTTP 5xx, {failures} check failures or errors, {elapsed:.0f} s"
    )
    return 0 if runs and not (total["server_errors"] or failures) else 1


if __name__ == "__main__":
    sys.exit(main())
