"""The browser SDK in a real Chromium against a live Beacon: the demo page's queued calls, identify,
errors and retries, cross-origin use, and the push subscription request."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from campaigns.vapid import vapid_keys
from contacts.models import Contact, Device
from events.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

SDK = "**/static/beacon/beacon.js"


def events_named(*names: str) -> list[Event]:
    return list(
        Event.objects.filter(event_type__name__in=names)
        .select_related("contact", "event_type")
        .order_by("occurred_at")
    )


def wait_for_log(page, selector: str, count: int = 1) -> None:
    page.wait_for_function(
        "([selector, count]) => document.querySelectorAll(selector).length >= count",
        arg=[f"#log {selector}", count],
    )


def event_posts(page) -> list[dict]:
    """The tracking requests the page makes (bodies), recorded from the browser's network."""
    posts: list[dict] = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST"
            and request.url.endswith("/api/v1/events")
            and posts.append(json.loads(request.post_data))
        ),
    )
    return posts


def test_calls_queued_before_the_sdk_loads_are_sent_and_stored(page, demo):
    held = []
    page.route(SDK, lambda route: held.append(route))  # held until the test lets it go
    posts = event_posts(page)
    page.goto(demo, wait_until="domcontentloaded")
    page.wait_for_function("() => window.beacon.length === 3")
    assert page.evaluate("() => window.beacon.map((command) => command[0])") == [
        "init",
        "track",
        "track",
    ]
    assert posts == [] and Event.objects.count() == 0

    held[0].continue_()
    wait_for_log(page, '.ok[data-command="track"]', 2)

    viewed, product = events_named("screen_viewed", "product_viewed")
    assert viewed.params == {"screen_name": "demo"}
    assert product.params == {"product_id": "SKU-1", "category": "shoes", "price": 79.9}
    assert product.contact == viewed.contact
    assert product.contact.anonymous_id == page.evaluate("() => beacon.anonymousId()")
    assert len({post["event_id"] for post in posts}) == 2
    assert posts[1]["context"]["page_url"] == demo


def test_a_tracked_purchase_shows_beacons_answer_in_the_log(page, demo):
    page.goto(demo)
    wait_for_log(page, '.ok[data-command="track"]', 2)
    page.click("#track-purchase")
    wait_for_log(page, '.ok[data-command="track"]', 3)

    [purchase] = events_named("purchase_completed")
    assert purchase.params["amount"] == 49.99 and purchase.params["currency"] == "EUR"
    entry = page.locator('#log .ok[data-command="track"]').first
    assert "fingerprint" in entry.inner_text() and "duplicate false" in entry.inner_text()
    assert entry.get_attribute("data-contact-id") == str(purchase.contact_id)
    link = entry.locator("a")
    assert link.get_attribute("href") == f"/admin/contacts/contact/{purchase.contact_id}/change/"


def test_identify_merges_the_anonymous_visitor_into_the_known_user(page, demo, track):
    known = track(event_name="logged_in", app_user_id="demo-user-1").json()["contact_id"]
    page.goto(demo)
    wait_for_log(page, '.ok[data-command="track"]', 2)
    anonymous = Contact.objects.get(anonymous_id=page.evaluate("() => beacon.anonymousId()"))
    assert anonymous.pk != known

    page.click("#identify")
    wait_for_log(page, '.ok[data-command="identify"]')

    assert not Contact.objects.filter(pk=anonymous.pk).exists()
    assert {e.contact_id for e in events_named("screen_viewed", "product_viewed")} == {known}
    [identified] = events_named("user_identified")
    assert identified.contact_id == known
    assert identified.params == {"Email": "ann@example.com"}
    assert page.evaluate("() => beacon.userId()") == "demo-user-1"

    page.click("#track-product")  # later events carry the user id
    wait_for_log(page, '.ok[data-command="track"]', 3)
    assert events_named("product_viewed")[-1].contact_id == known


def test_an_invalid_event_shows_the_400_and_is_not_retried(page, demo, console_errors):
    posts = event_posts(page)
    page.goto(demo)
    wait_for_log(page, '.ok[data-command="track"]', 2)
    page.click("#track-invalid")
    wait_for_log(page, '.failed[data-status="400"]')

    entry = page.locator('#log .failed[data-status="400"]').inner_text()
    assert "HTTP 400 after 1 attempt(s)" in entry and "event_name" in entry
    page.wait_for_timeout(2500)  # longer than the first backoff (at most 1.5 s)
    assert [post["event_name"] for post in posts].count("bad*name") == 1
    assert not events_named("bad*name")
    console_errors.take("status of 400")


def test_a_lost_answer_is_retried_with_the_same_event_id_and_stored_once(
    page, demo, console_errors
):
    """The first request reaches Beacon, but its answer is lost on the way back (the browser sees
    a network error): the SDK retries the same event, and Beacon recognises it."""
    page.goto(demo)
    wait_for_log(page, '.ok[data-command="track"]', 2)
    lost = []

    def lose_first_answer(route):
        if lost:
            return route.continue_()
        lost.append(route.fetch())  # reaches the live Beacon, which stores the event
        route.abort("connectionreset")

    page.route("**/api/v1/events", lose_first_answer)
    page.click("#track-purchase")
    wait_for_log(page, '.ok[data-command="track"]', 3)

    assert lost[0].status == 200 and lost[0].json()["duplicate"] is False
    assert len(events_named("purchase_completed")) == 1
    entry = page.locator('#log .ok[data-command="track"]').first.inner_text()
    assert "after 2 attempt(s)" in entry and "duplicate true" in entry
    console_errors.take("ERR_CONNECTION_RESET")


CUSTOMER_PAGE = """<!doctype html><title>A shop</title>
<script>
  window.beacon = window.beacon || [];
  window.results = [];
  beacon.push(["init", {apiKey: "%(key)s", endpoint: "%(beacon)s",
                        onResult: (result) => window.results.push(result)}]);
  beacon.push(["track", "product_viewed", {product_id: "SKU-9"}]);
</script>
<script async src="%(beacon)s/static/beacon/beacon.js"></script>
"""


@pytest.fixture
def customer_site():
    """A customer's web site: its own HTTP server on 127.0.0.1, another origin than Beacon's live
    server (localhost), both in the loopback address space as Chromium requires."""
    pages: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield (
        lambda path, html: (
            pages.update({path: html.encode()}) or (f"http://127.0.0.1:{server.server_port}{path}")
        )
    )
    server.shutdown()
    server.server_close()


def test_a_page_on_another_origin_may_track_but_not_read_contacts(
    page, live_server, customer_site, ingest_key, admin_client, console_errors
):
    """The browser sends real CORS preflights from the customer's origin to Beacon."""
    beacon = live_server.url
    page.goto(customer_site("/shop/", CUSTOMER_PAGE % {"key": ingest_key, "beacon": beacon}))
    page.wait_for_function("() => window.results.some((r) => r.command === 'track')")

    [track] = page.evaluate("() => window.results.filter((r) => r.command === 'track')")
    assert track["ok"] and track["status"] == 200 and track["attempts"] == 1
    assert events_named("product_viewed")[0].params == {"product_id": "SKU-9"}
    config = page.evaluate(
        """async ([beacon, key]) => (await fetch(beacon + "/api/v1/push/config",
            {headers: {Authorization: "Bearer " + key}})).json()""",
        [beacon, ingest_key],
    )
    assert config == {"vapid_public_key": vapid_keys().public_key}

    # The admin API grants no cross-origin access, whatever key the page holds.
    admin_key = admin_client._credentials["HTTP_AUTHORIZATION"]
    refused = page.evaluate(
        """async ([beacon, authorization]) => {
            const headers = {Authorization: authorization};
            try { await fetch(beacon + "/api/v1/contacts", {headers}); }
            catch (error) { return error.name + ": " + error.message; }
            return "answered"; }""",
        [beacon, admin_key],
    )
    assert refused == "TypeError: Failed to fetch"
    console_errors.take("blocked by CORS policy", "ERR_FAILED")


OTHER_SDKS_PAGE = """<!doctype html><title>A shop moving from WonderPush</title>
<script>
  window.beacon = window.beacon || [];
  window.results = [];
  beacon.push(["init", {apiKey: "%(key)s", endpoint: "%(beacon)s",
                        onResult: (result) => window.results.push(result)}]);
  beacon.push(["setUserId", "wp-user-1"]);
  beacon.push(["trackEvent", "purchase", {float_amount: 9.5, string_sku: "A-1"}]);
</script>
<script async src="%(beacon)s/static/beacon/beacon.js"></script>
"""


def test_wonderpush_and_customer_io_commands_are_aliases(
    page, live_server, customer_site, ingest_key
):
    page.goto(
        customer_site("/wp/", OTHER_SDKS_PAGE % {"key": ingest_key, "beacon": live_server.url})
    )
    page.wait_for_function(
        "() => ['identify', 'track'].every((c) => window.results.some((r) => r.command === c))"
    )
    assert all(r["ok"] for r in page.evaluate("() => window.results"))

    [identified] = events_named("user_identified")
    [purchase] = events_named("purchase")
    assert identified.contact.external_id == "wp-user-1" == purchase.contact.external_id
    assert purchase.params == {"float_amount": 9.5, "string_sku": "A-1"}
    # Customer.io's identify({id, ...attributes}), once the SDK is loaded
    result = page.evaluate(
        """() => beacon.push(["identify", {id: "cio-user-1", email: "ann@example.com"}])"""
    )
    assert result["ok"] and result["status"] == 200
    cio = events_named("user_identified")[-1]
    assert (cio.contact.external_id, cio.params) == ("cio-user-1", {"email": "ann@example.com"})
    # Only the aliases: no name of Object's prototype is a command
    unknown = page.evaluate("""() => beacon.push(["constructor"])""")
    assert (unknown["ok"], unknown["error"]) == (False, "unknown command")


# A test double for the browser's push API only (headless Chromium has no push service: in
# Playwright's incognito contexts subscribe() is refused, and with a profile it waits for Google's
# FCM forever). Everything else is real: the service worker registration, the permission grant,
# GET /api/v1/push/config and POST /api/v1/events.
FAKE_PUSH_MANAGER = """
window.FakePushManagerForTests = {calls: [], subscription: null};
PushManager.prototype.getSubscription = async function () {
  return FakePushManagerForTests.subscription;
};
PushManager.prototype.subscribe = async function (options) {
  const key = Array.from(new Uint8Array(options.applicationServerKey));
  FakePushManagerForTests.calls.push({userVisibleOnly: options.userVisibleOnly, key});
  const json = {
    endpoint: "https://push.example.test/send/fake-browser-1",
    expirationTime: null,
    keys: {p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQ", auth: "tBHItJI5svbpez7KI4CCXg"},
  };
  const subscription = {
    options, endpoint: json.endpoint, toJSON: () => json, unsubscribe: async () => true,
  };
  FakePushManagerForTests.subscription = subscription;
  return subscription;
};
"""


def test_subscribe_push_registers_the_worker_and_sends_the_subscription(
    browser_context, demo, live_server
):
    browser_context.grant_permissions(["notifications"], origin=live_server.url)
    browser_context.add_init_script(FAKE_PUSH_MANAGER)
    page = browser_context.new_page()
    page.goto(demo)
    wait_for_log(page, '.ok[data-command="track"]', 2)
    page.click("#subscribe-push")
    wait_for_log(page, '.ok[data-command="subscribePush"]')

    [call] = page.evaluate("() => FakePushManagerForTests.calls")
    assert call["userVisibleOnly"] is True
    assert bytes(call["key"]) == _base64url(vapid_keys().public_key)
    scope = page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).scope")
    assert scope == f"{live_server.url}/"

    device = Device.objects.get()
    assert device.platform == "web" and device.push_permission_granted is True
    assert device.token == "https://push.example.test/send/fake-browser-1"
    assert device.subscription["keys"]["auth"] == "tBHItJI5svbpez7KI4CCXg"
    [granted] = events_named("push_permission_granted")
    assert granted.contact_id == device.contact_id


def test_subscribe_push_when_the_visitor_blocks_notifications(page, demo):
    page.goto(demo)  # headless Chromium answers the permission prompt with "denied"
    wait_for_log(page, '.ok[data-command="track"]', 2)
    page.click("#subscribe-push")
    wait_for_log(page, '.ok[data-command="subscribePush"]')

    assert events_named("push_permission_denied")
    assert not Device.objects.exists()


def _base64url(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
