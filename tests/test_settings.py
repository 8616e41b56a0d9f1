"""Settings come from the environment; a bad value stops the start with a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import deploy_doc

ROOT = Path(__file__).resolve().parent.parent


# What production must set; a process started with none of them refuses to start.
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-long-random-secret-key-of-a-production-deployment-0123456789",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/beacon",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "BEACON_PUBLIC_URL": "https://beacon.example.com",
}
SETTINGS_ENV = {*PRODUCTION, *deploy_doc.environment(), "CSRF_TRUSTED_ORIGINS"}


def env_example() -> dict[str, str]:
    """The variables .env.example sets (not those it shows commented out)."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_env_example_sets_what_the_deployment_guide_sets():
    assert set(deploy_doc.environment()) <= set(env_example())


def clean_env(tmp_path, **env) -> dict[str, str]:
    """This process's environment without Beacon's settings, then `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV}
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "BEACON_VAR_DIR": str(tmp_path),
        **env,
    }


def load_settings(tmp_path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DATABASES)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path, **{"DEBUG": "true", **env}),
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EVENT_RETENTION_DAYS": "ninety"}, "EVENT_RETENTION_DAYS='ninety' is not an integer"),
        ({"SEGMENTATION_MAX_EVENTS": "0"}, "SEGMENTATION_MAX_EVENTS='0' must be at least 1"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
        ({"DEBUG": "false"}, "SECRET_KEY must be set when DEBUG is false"),
        ({"DATABASE_URL": "mysql://x/y"}, "sqlite:// or postgres://"),
        ({"CELERY_BROKER_URL": "kafka://x"}, "CELERY_BROKER_URL='kafka://x'"),
        ({"CACHE_URL": "memcached://x"}, "CACHE_URL='memcached://x'"),
        ({"API_RATE_INGEST": "100"}, "API_RATE_INGEST='100' is not a rate"),
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


@pytest.mark.parametrize("missing", sorted(set(PRODUCTION) - {"DEBUG"}))
def test_production_refuses_to_start_without_each_required_variable(tmp_path, missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = load_settings(tmp_path, **env)
    assert result.returncode != 0
    assert f"{missing} must be set when DEBUG is false" in result.stderr


def test_production_is_the_default_when_debug_is_unset(tmp_path):
    env = clean_env(tmp_path)
    env.pop("DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DEBUG"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is false" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "celery", "-A", "config", "worker", "--loglevel=info"],
        ["-m", "celery", "-A", "config", "beat", "--loglevel=info"],
    ],
    ids=["worker", "beat"],
)
def test_a_worker_or_beat_without_a_database_url_exits_naming_it(tmp_path, command):
    """The field report: a worker and beat without DATABASE_URL silently used var/'s SQLite."""
    env = {k: v for k, v in PRODUCTION.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path, **env),
    )
    assert result.returncode != 0
    assert "DATABASE_URL must be set when DEBUG is false" in result.stderr
    assert not (tmp_path / "beacon.sqlite3").exists()


@pytest.mark.parametrize("source", ["docs/deploy.md", ".env.example"])
def test_the_documented_production_environment_passes_djangos_deploy_checks(tmp_path, source):
    env = deploy_doc.environment() if source == "docs/deploy.md" else env_example()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path, **env),
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_development_turns_the_https_settings_off(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path, DEBUG="true"),
    )
    assert result.stdout.split() == ["False", "False", "0"], result.stderr
