"""`manage.py beacon_setup`: periodic tasks, and with --demo the demo app's credentials."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.http import HttpRequest
from django.test import Client
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from config.schedules import PERIODIC_TASKS
from contacts.models import ApiKey, App
from contacts.selectors import api_key_lookup

LABELS = [
    "Admin URL",
    "Username",
    "Password",
    "Tenant ID",
    "Admin API key",
    "Ingest API key",
    "Marketer username",
    "Marketer password",
]


@pytest.fixture
def demo_settings(db, settings, tmp_path):
    settings.DEBUG = True
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    return settings


def run_demo() -> dict[str, str]:
    out = io.StringIO()
    call_command("beacon_setup", "--demo", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == LABELS
    return dict(line.split(": ", 1) for line in lines)


def test_demo_prints_the_six_credential_lines_then_the_marketers(demo_settings):
    credentials = run_demo()
    assert credentials["Admin URL"] == "http://127.0.0.1:8000/admin/"
    assert credentials["Username"] == "admin"
    assert credentials["Tenant ID"] == "demo"
    assert credentials["Admin API key"].startswith("bk_admin_")
    assert credentials["Ingest API key"].startswith("bk_ingest_")
    assert credentials["Marketer username"] == "marketer"
    assert demo_settings.DEMO_CREDENTIALS_FILE.stat().st_mode & 0o077 == 0


def test_the_demo_has_one_user_of_each_role_in_the_demo_app(demo_settings):
    credentials = run_demo()
    app = App.objects.get(tenant_id="demo")
    members = {user.username: user for user in app.members.all()}
    assert [g.name for g in members["admin"].groups.all()] == ["Admin"]
    marketer = members["marketer"]
    assert [g.name for g in marketer.groups.all()] == ["Marketer"]
    assert marketer.is_staff and not marketer.is_superuser
    client = Client()
    assert client.login(
        request=HttpRequest(), username="marketer", password=credentials["Marketer password"]
    )
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/contacts/apikey/").status_code == 403


def test_an_older_credentials_file_gets_a_marketer_and_keeps_the_rest(demo_settings):
    first = run_demo()
    path = demo_settings.DEMO_CREDENTIALS_FILE
    stored = json.loads(path.read_text())
    del stored["marketer_username"], stored["marketer_password"]
    path.write_text(json.dumps(stored))
    second = run_demo()
    assert {k: v for k, v in second.items() if not k.startswith("Marketer")} == {
        k: v for k, v in first.items() if not k.startswith("Marketer")
    }
    assert Client().login(
        request=HttpRequest(), username="marketer", password=second["Marketer password"]
    )
    assert path.stat().st_mode & 0o077 == 0


def test_a_second_run_prints_the_same_credentials_and_creates_nothing(demo_settings):
    first = run_demo()
    assert run_demo() == first
    assert App.objects.count() == 1
    assert ApiKey.objects.count() == 2


def test_the_printed_password_logs_in_to_the_admin(demo_settings):
    credentials = run_demo()
    client = Client()
    assert client.login(
        request=HttpRequest(), username=credentials["Username"], password=credentials["Password"]
    )
    assert client.get("/admin/").status_code == 200


def test_the_printed_keys_work_on_the_api_with_their_scopes(demo_settings):
    credentials = run_demo()
    for label, scope in [("Admin API key", "admin"), ("Ingest API key", "ingest")]:
        key = api_key_lookup(raw_key=credentials[label])
        assert (key.scope, key.app.tenant_id) == (scope, credentials["Tenant ID"])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {credentials[label]}")
        response = client.post(
            "/api/v1/events", {"event_name": "demo", "app_user_id": "u1"}, format="json"
        )
        assert response.status_code == 200, response.content


def test_the_demo_app_is_seeded_like_any_app(demo_settings):
    run_demo()
    app = App.objects.get(tenant_id="demo")
    assert app.event_types.filter(is_system=True).count() > 70
    assert app.identifier_rules.filter(is_default=True).exists()
    assert app.members.filter(username="admin", is_superuser=True).exists()


def test_lost_credentials_are_replaced_without_a_second_app(demo_settings):
    first = run_demo()
    demo_settings.DEMO_CREDENTIALS_FILE.unlink()
    second = run_demo()
    assert second["Password"] != first["Password"]
    assert App.objects.count() == 1
    assert Client().login(request=HttpRequest(), username="admin", password=second["Password"])


def test_setup_installs_the_periodic_tasks(db):
    call_command("beacon_setup", stdout=io.StringIO())
    call_command("beacon_setup", stdout=io.StringIO())  # idempotent
    tasks = PeriodicTask.objects.filter(name__in=PERIODIC_TASKS)
    assert {t.name: t.task for t in tasks} == {n: task for n, (task, _) in PERIODIC_TASKS.items()}
    assert all(t.enabled and t.interval is not None for t in tasks)
    assert not App.objects.exists()


def test_demo_also_installs_the_periodic_tasks(demo_settings):
    run_demo()
    purge = PeriodicTask.objects.get(task="events.tasks.events_purge_expired_task")
    assert purge.interval.every == PERIODIC_TASKS[purge.name][1]


def test_demo_is_refused_without_debug(demo_settings):
    demo_settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("beacon_setup", "--demo", stdout=io.StringIO())
    assert not App.objects.exists()
    assert not demo_settings.DEMO_CREDENTIALS_FILE.exists()


def test_replaced_credentials_revoke_the_lost_keys(demo_settings):
    first = run_demo()
    demo_settings.DEMO_CREDENTIALS_FILE.unlink()
    second = run_demo()
    assert api_key_lookup(raw_key=first["Admin API key"]) is None
    assert api_key_lookup(raw_key=second["Admin API key"]) is not None
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 2


def test_a_revoked_demo_key_is_replaced_at_the_next_start(demo_settings):
    from contacts.services.apps import api_key_revoke

    first = run_demo()
    api_key_revoke(key=api_key_lookup(raw_key=first["Ingest API key"]))
    second = run_demo()
    assert second["Ingest API key"] != first["Ingest API key"]
    assert api_key_lookup(raw_key=second["Ingest API key"]) is not None


def test_the_credentials_file_is_private(demo_settings):
    run_demo()
    assert demo_settings.DEMO_CREDENTIALS_FILE.stat().st_mode & 0o077 == 0
