"""Install the periodic tasks and, with --demo (used by `make run`), create once a demo app with
an admin user and API keys, then print the credentials.

The demo credentials are kept in a git-ignored file under var/ so that every start can show them
again; this is for local development only and is refused when DEBUG is false.
"""

from __future__ import annotations

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from campaigns.vapid import vapid_keys
from config.schedules import periodic_tasks_install
from contacts.models import ApiKey, App
from contacts.services.apps import api_key_create, api_key_revoke, app_create, hash_api_key

DEMO_TENANT = "demo"
DEMO_USER = "admin"


class Command(BaseCommand):
    help = "Install periodic tasks; with --demo, create the demo app, user and keys once."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="create and print demo credentials")
        parser.add_argument("--url", default="http://127.0.0.1:8000", help="where Beacon listens")

    def handle(self, *args, demo: bool, url: str, **options):
        periodic_tasks_install()
        vapid_keys()  # generated once into var/ unless the settings give a pair
        if not demo:
            return
        if not settings.DEBUG:
            raise CommandError("--demo stores keys in clear under var/: only with DEBUG=true")
        credentials = self._load() or self._create()
        self.stdout.write(f"Admin URL: {url}/admin/")
        self.stdout.write(f"Username: {credentials['username']}")
        self.stdout.write(f"Password: {credentials['password']}")
        self.stdout.write(f"Tenant ID: {credentials['tenant_id']}")
        self.stdout.write(f"Admin API key: {credentials['admin_key']}")
        self.stdout.write(f"Ingest API key: {credentials['ingest_key']}")

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
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USER).first() or user_model(
            username=DEMO_USER
        )
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
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
        # Created private (0600) before anything is written into it.
        path = settings.DEMO_CREDENTIALS_FILE
        path.unlink(missing_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(json.dumps(credentials, indent=2))
        return credentials
