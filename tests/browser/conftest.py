"""A real browser for the SDK tests: Debian's Chromium driven by Playwright.

The tests never skip: CI installs Chromium (`.ci/run`), and a missing browser is a failure to fix,
not a test to lose. Playwright's own browser download is not used.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("BEACON_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="package")
def chromium():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Chromium (apt-get install -y chromium)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop on this thread for as long as it runs, which
    # Django takes for async code; the tests' ORM calls (and database flushes) are plain
    # synchronous code between browser steps.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context()
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    page = browser_context.new_page()
    page.on("console", lambda message: print(f"[browser {message.type}] {message.text}"))
    return page


@pytest.fixture
def demo(settings, tmp_path, live_server, ingest_key):
    """The demo page as `make run` serves it: DEBUG on, the demo credentials in var/."""
    settings.DEBUG = True
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    settings.DEMO_CREDENTIALS_FILE.write_text(json.dumps({"ingest_key": ingest_key}))
    return f"{live_server.url}/demo/"
