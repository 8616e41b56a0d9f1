"""docs/deploy.md, followed word for word on PostgreSQL and Redis: its environment, its deploy
steps, then gunicorn as its processes block says. A client sends what a TLS-terminating proxy
would (X-Forwarded-Proto: https); the admin's CSS, the SDK, the API docs and the health
endpoints load, and in Chromium the admin's segment builder renders."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import Message

import psycopg
import pytest
from psycopg import sql

from tests import deploy_doc
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.celery_processes import REDIS_URL

PROXY = {"X-Forwarded-Proto": "https"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database():
    """A PostgreSQL database of its own (production is PostgreSQL, whatever the suite runs on)."""
    name = f"beacon_production_{os.getpid()}"
    admin = "postgres://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield f"postgres://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def production(tmp_path, database):
    """Deployed as docs/deploy.md says, gunicorn serving; yields its base URL."""
    port = free_port()
    documented = deploy_doc.environment()
    local = {
        "DATABASE_URL": database,
        "CELERY_BROKER_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "ALLOWED_HOSTS": "127.0.0.1",
        "BEACON_PUBLIC_URL": f"https://127.0.0.1:{port}",
        "SECRET_KEY": "test-" + os.urandom(32).hex(),
    }
    assert set(local) <= set(documented), "the test sets only what the guide lists"
    clean = {k: v for k, v in os.environ.items() if k not in documented}
    env = {
        **clean,
        **documented,
        **local,
        # The browser here speaks plain http to gunicorn (the header says https, as a proxy's
        # would), so its forms carry an http:// origin.
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "BEACON_VAR_DIR": str(tmp_path / "var"),
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
        "DJANGO_SUPERUSER_USERNAME": "root",
        "DJANGO_SUPERUSER_PASSWORD": "root-password-123",
        "DJANGO_SUPERUSER_EMAIL": "root@example.com",
    }
    for line in deploy_doc.sh_block("Each deploy"):
        run = subprocess.run(
            deploy_doc.command(line), cwd=deploy_doc.ROOT, env=env, capture_output=True, text=True
        )
        assert run.returncode == 0, f"{line}\n{run.stdout}\n{run.stderr}"
    createsuperuser = [sys.executable, "manage.py", "createsuperuser", "--noinput"]
    subprocess.run(createsuperuser, cwd=deploy_doc.ROOT, env=env, check=True, capture_output=True)

    processes = deploy_doc.sh_block("The processes")
    gunicorn = deploy_doc.command(next(line for line in processes if "gunicorn" in line))
    gunicorn[gunicorn.index("-b") + 1] = f"127.0.0.1:{port}"
    gunicorn[gunicorn.index("-w") + 1] = "2"
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        gunicorn, cwd=deploy_doc.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while fetch(base, "/healthz", check=False)[0] != 200:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer within 30 s"
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def fetch(base: str, path: str, *, check: bool = True, **headers) -> tuple[int, Message, bytes]:
    """GET through the "proxy": status, headers (case-insensitive) and body."""
    request = urllib.request.Request(base + path, headers={**PROXY, **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        if check:
            raise
        return error.code, error.headers, error.read()
    except OSError:
        if check:
            raise
        return 0, Message(), b""


def linked(html: bytes, pattern: str) -> list[str]:
    return re.findall(pattern, html.decode())


def test_the_documented_layout_serves_admin_assets_sdk_docs_and_health(production):
    status, _, login = fetch(production, "/admin/login/")
    assert status == 200
    stylesheets = linked(login, r'<link[^>]+href="(/static/[^"]+\.css)"')
    assert stylesheets, "the login page links no stylesheet"
    for url in stylesheets:
        assert re.search(r"\.[0-9a-f]{12}\.css$", url), f"{url} is not a hashed name"
        status, headers, body = fetch(production, url, **{"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Type"].startswith("text/css"), url
        assert "immutable" in headers["Cache-Control"] and body

    status, headers, sdk = fetch(production, "/static/beacon/beacon.js", Origin="https://shop.test")
    assert status == 200 and b"beacon" in sdk
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Cache-Control"] == "max-age=300, public"

    status, _, docs = fetch(production, "/api/v1/docs")
    assert status == 200
    scripts = linked(docs, r'<script[^>]+src="(/static/[^"]+)"')
    assert scripts, "the API docs page loads no script"
    for url in scripts:
        assert fetch(production, url)[0] == 200, url

    assert fetch(production, "/healthz")[0] == 200
    status, _, ready = fetch(production, "/readyz")
    assert status == 200, ready


def test_plain_http_is_redirected_to_https(production):
    request = urllib.request.Request(production + "/admin/login/")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    assert answer.value.code == 301
    assert answer.value.headers["Location"].startswith("https://127.0.0.1")


def test_an_admin_adds_an_app_and_the_segment_builder_renders(production):
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), f"{CHROMIUM} is missing (make test installs it)"
    failed: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(extra_http_headers=PROXY)
            context.set_default_timeout(15_000)
            page = context.new_page()
            page.on("console", lambda m: m.type == "error" and failed.append(m.text))
            page.on("pageerror", lambda error: failed.append(str(error)))
            page.on(
                "response",
                lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"),
            )
            page.goto(f"{production}/admin/")
            page.fill("#id_username", "root")
            page.fill("#id_password", "root-password-123")
            page.click("input[type=submit]")
            page.wait_for_selector("#beacon-dashboard")

            page.goto(f"{production}/admin/contacts/app/add/")
            page.fill("#id_name", "Shop")
            page.fill("#id_tenant_id", "shop")
            page.click("input[name=_save]")
            page.wait_for_selector("text=was added successfully")

            page.goto(f"{production}/admin/segments/segment/add/")
            # The live count is a POST of the builder's JavaScript (CSRF, secure cookies).
            page.locator(".sb-add-condition").first.select_option("device")
            page.wait_for_selector("#segment-builder-count[data-status=ok][data-count='0']")
        finally:
            browser.close()
    assert failed == []
