"""A real browser for the SDK tests: Debian's Chromium driven by Playwright.

The tests never skip: CI installs Chromium (`.ci/run`), and a missing browser is a failure to fix,
not a test to lose. Playwright's own browser download is not used.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"  # git-ignored
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


# Registered before any script of the page (an init script), so it runs first: once a test is
# over, the page's exit events reach no other listener (see browser_context).
QUIET_EXIT = """
const quiet = (event) => window.__quietExit && event.stopImmediatePropagation();
window.addEventListener("pagehide", quiet);
document.addEventListener("visibilitychange", quiet);
"""


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
    context.add_init_script(QUIET_EXIT)
    yield context
    # Closing a page fires pagehide and visibilitychange, on which the SDK reports the page's
    # @PRESENCE: a request the live server would handle while the test's database is flushed (a
    # deadlock on PostgreSQL). The pages go quiet first.
    for page in context.pages:
        with contextlib.suppress(PlaywrightError):  # a page that crashed or is closed
            page.evaluate("() => { window.__quietExit = true; }")
    context.close()


class ConsoleErrors(list):
    def take(self, *fragments: str) -> None:
        """Take out the errors a test provokes on purpose, checking that each one happened."""
        for fragment in fragments:
            matching = [error for error in self if fragment in error]
            assert matching, f"no console error with {fragment!r} among {list(self)}"
            self[:] = [error for error in self if fragment not in error]


@pytest.fixture
def console_errors():
    """The page's uncaught JavaScript errors and console errors (a failed request among them):
    any one left at teardown fails the test. A test that provokes some on purpose takes them
    out with `console_errors.take("fragment", ...)`."""
    errors = ConsoleErrors()
    yield errors
    if errors:
        pytest.fail("JavaScript console errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def page(browser_context, console_errors):
    page = browser_context.new_page()

    def on_console(message) -> None:
        print(f"[browser {message.type}] {message.text}")
        # The browser's own favicon request is not the page's doing.
        automatic = message.location.get("url", "").endswith("/favicon.ico")
        if message.type == "error" and not automatic:
            console_errors.append(f"console.error: {message.text} ({message.location})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(f"uncaught: {error}"))
    return page


@pytest.fixture
def demo(settings, tmp_path, live_server, ingest_key):
    """The demo page as `make run` serves it: DEBUG on, the demo credentials in var/."""
    settings.DEBUG = True
    settings.DEMO_CREDENTIALS_FILE = tmp_path / "demo-credentials.json"
    settings.DEMO_CREDENTIALS_FILE.write_text(json.dumps({"ingest_key": ingest_key}))
    return f"{live_server.url}/demo/"


@pytest.fixture
def screenshot(page):
    """`screenshot("name")`: the whole page as test-artifacts/<name>.png, for people to look at."""

    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        # From the top: the admin's sticky sidebar is drawn where the page was scrolled to.
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page, live_server, username: str, password: str) -> None:
    """Sign in through the admin's login form and wait for the dashboard."""
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#beacon-dashboard")


@pytest.fixture
def signed_in(page, live_server, db):
    """`signed_in(role, *apps)`: a new staff user in that role ("Marketer" or "Admin"), member of
    the apps, signed in through the login form; returns the user. The page is on the dashboard."""
    from django.contrib.auth import get_user_model

    from contacts.services.roles import roles_install

    def sign_in(role: str, *apps, username: str | None = None):
        username = username or role.lower()
        user = get_user_model().objects.create_user(username, password="pw-123456", is_staff=True)
        user.groups.add(roles_install()[role])
        for member_of in apps:
            member_of.members.add(user)
        page.set_viewport_size({"width": 1440, "height": 900})
        log_in(page, live_server, username, "pw-123456")
        return user

    return sign_in
