"""Settings come from the environment; a bad value stops the start with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DATABASES)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "BEACON_VAR_DIR": str(tmp_path),
            **env,
        },
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EVENT_RETENTION_DAYS": "ninety"}, "EVENT_RETENTION_DAYS='ninety' is not an integer"),
        ({"SEGMENTATION_MAX_EVENTS": "0"}, "SEGMENTATION_MAX_EVENTS='0' must be at least 1"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set"),
        ({"DATABASE_URL": "mysql://x/y"}, "sqlite:// or postgres://"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL='kafka://x'"),
        (
            {"DATABASE_URL": "postgres://x/y", "DATABASE_PREPARE_THRESHOLD": "-1"},
            "DATABASE_PREPARE_THRESHOLD='-1' must be at least 0",
        ),
    ],
)
def test_bad_setting_fails_at_start_with_a_message(tmp_path, env, message):
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_defaults_use_sqlite_in_wal_mode_under_var(tmp_path):
    result = load_settings(tmp_path)
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "beacon.sqlite3") in result.stdout
    assert "journal_mode=WAL" in result.stdout


@pytest.mark.parametrize(("raw", "threshold"), [(None, "5"), ("0", "None"), ("20", "20")])
def test_postgresql_prepares_hot_statements_unless_told_not_to(tmp_path, raw, threshold):
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/beacon"}
    if raw is not None:
        env["DATABASE_PREPARE_THRESHOLD"] = raw
    result = load_settings(tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert f"'prepare_threshold': {threshold}" in result.stdout
