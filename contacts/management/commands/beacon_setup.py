"""Install the periodic tasks and the roles, let the other apps set up what they need
(contacts.signals.setup_requested: events adds the catalog's newer event types to every app,
campaigns creates the VAPID key pair once) and, with --demo
(used by `make run`), create once a demo app with an admin user, a marketer user and API keys,
then print the credentials.

The demo credentials are kept in a git-ignored file under var/ so that every start can show them
again; this is for local development only and is refused when DEBUG is false.
"""

from __future__ import annotations

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from config.schedules import periodic_tasks_install
from contacts.models import ApiKey, App
from contacts.services.apps import api_key_create, api_key_revoke, app_create, hash_api_key
from contacts.services.roles import ADMIN, MARKETER, roles_install
from contacts.signals import setup_requested

DEMO_TENANT = "demo"
DEMO_USER = "admin"
DEMO_MARKETER = "marketer"


class Command(BaseCommand):
    help = "Install periodic tasks and roles; with --demo, create the demo app, users, keys once."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="create and print demo credentials")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where Beacon listens")

    def handle(self, *args, demo: bool, url: str, **options):
        periodic_tasks_install()
        groups = roles_install()
        setup_requested.send(sender=self.__class__)
        if not demo:
            return
        if not settings.DEBUG:
            raise CommandError("--demo stores keys in clear under var/: only with DEBUG=true")
        credentials = self._load() or self._create()
        if not self._marketer_valid(credentials):
            credentials = self._create_marketer(credentials)
        groups[ADMIN].user_set.add(get_user_model().objects.get(username=credentials["username"]))
        self.stdout.write(f"Admin URL: {url}/admin/")
        self.stdout.write(f"Username: {credentials['username']}")
        self.stdout.write(f"Password: {credentials['password']}")
        self.stdout.write(f"Tenant ID: {credentials['tenant_id']}")
        self.stdout.write(f"Admin API key: {credentials['admin_key']}")
        self.stdout.write(f"Ingest API key: {credentials['ingest_key']}")
        self.stdout.write(f"Marketer username: {credentials['marketer_username']}")
        self.stdout.write(f"Marketer password: {credentials['marketer_password']}")

    def _load(self) -> dict | None:
        """The stored credentials, if they still match the database."""
        path = settings.DEMO_CREDENTIALS_FILE
        if not path.exists():
            return None
        credentials = json.loads(path.read_text())
        user = get_user_model().objects.filter(username=credentials["username"]).first()
        if user is None or not user.check_password(credentials["password"]):
            return None
        app = App.objects.filter(tenant_id=credentials["tenant_id"]).first()
        if app is None:
            return None
        active = {k.key_hash for k in app.api_keys.filter(revoked_at__isnull=True)}
        keys = (credentials["admin_key"], credentials["ingest_key"])
        if not all(hash_api_key(key) in active for key in keys):
            return None
        return credentials

    def _create(self) -> dict:
        app = App.objects.filter(tenant_id=DEMO_TENANT).first() or app_create(
            name="Demo shop", tenant_id=DEMO_TENANT
        )
        password = secrets.token_urlsafe(12)
        user = _demo_user(DEMO_USER, password, superuser=True)
        app.members.add(user)
        # Keys of an earlier demo set (lost file, revoked key) stop working.
        for key in app.api_keys.filter(name__startswith="Demo ", revoked_at__isnull=True):
            api_key_revoke(key=key)
        _, admin_key = api_key_create(app=app, name="Demo admin key", scope=ApiKey.Scope.ADMIN)
        _, ingest_key = api_key_create(app=app, name="Demo ingest key", scope=ApiKey.Scope.INGEST)
        credentials = {
            "username": DEMO_USER,
            "password": password,
            "tenant_id": app.tenant_id,
            "admin_key": admin_key,
            "ingest_key": ingest_key,
        }
        return self._create_marketer(credentials)

    def _marketer_valid(self, credentials: dict) -> bool:
        """The marketer was added after the first demo sets: an older file lacks it."""
        username = credentials.get("marketer_username")
        user = get_user_model().objects.filter(username=username).first() if username else None
        return user is not None and user.check_password(credentials["marketer_password"])

    def _create_marketer(self, credentials: dict) -> dict:
        password = secrets.token_urlsafe(12)
        user = _demo_user(DEMO_MARKETER, password, superuser=False)
        user.groups.add(Group.objects.get(name=MARKETER))
        App.objects.get(tenant_id=credentials["tenant_id"]).members.add(user)
        credentials = {**credentials, "marketer_username": DEMO_MARKETER}
        credentials["marketer_password"] = password
        _save(credentials)
        return credentials


def _demo_user(username: str, password: str, *, superuser: bool):
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first() or user_model(username=username)
    user.is_staff = True
    user.is_superuser = superuser
    user.set_password(password)
    user.save()
    return user


def _save(credentials: dict) -> None:
    # Created private (0600) before anything is written into it.
    path = settings.DEMO_CREDENTIALS_FILE
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
        file.write(json.dumps(credentials, indent=2))
