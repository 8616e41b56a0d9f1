"""The web push provider against the local push service: real pywebpush encryption and VAPID
signatures, decrypted and verified on the other side; every answer of the service mapped."""

from __future__ import annotations

import base64
import http.client
import select
import socket
import ssl
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from py_vapid import Vapid02
from pywebpush import WebPusher

from campaigns.providers import connections
from campaigns.providers.base import (
    BACKOFF_BASE_SECONDS,
    BACKOFF_CAP_SECONDS,
    MAX_ATTEMPTS,
    Outcome,
    PushMessage,
    backoff_seconds,
)
from campaigns.providers.webpush import (
    MAX_BODY_BYTES,
    MAX_PLAINTEXT_BYTES,
    RETRY_AFTER_MAX_SECONDS,
    VAPID_EXPIRY_SECONDS,
    VAPID_REUSE_SECONDS,
    WebPushProvider,
    encode_payload,
    parse_retry_after,
)
from contacts.models import Device
from contacts.push import push_endpoint_error
from tests.campaigns.push_service import _Refused, verify_vapid

MESSAGE = PushMessage(
    title="Your order shipped",
    body="Ça arrive demain 📦",
    url="https://shop.example/orders/42",
    icon="https://shop.example/icon.png",
    image="https://shop.example/parcel.jpg",
    ttl=3600,
    urgency="high",
    topic="order-42",
    data={"open_token": "tok-123", "open_url": "https://beacon.example/o"},
)


@pytest.fixture
def provider(vapid):
    return WebPushProvider(vapid, timeout=2.0)


def device(subscription: dict) -> Device:
    return Device(platform="web", token=subscription["endpoint"], subscription=subscription)


def sized_message(size: int) -> PushMessage:
    """A message whose payload is exactly `size` bytes of JSON."""
    empty = len(encode_payload(PushMessage(title="")))
    return PushMessage(title="x" * (size - empty))


def test_payload_arrives_decrypted_with_its_headers(provider, push_service, vapid):
    subscription = push_service.subscription()

    outcome = provider.send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.status, outcome.error) == (Outcome.SENT, 201, "")
    [received] = push_service.received(subscription)
    assert received.error == ""
    assert received.payload == {
        "title": "Your order shipped",
        "body": "Ça arrive demain 📦",
        "url": "https://shop.example/orders/42",
        "icon": "https://shop.example/icon.png",
        "image": "https://shop.example/parcel.jpg",
        "open_token": "tok-123",
        "open_url": "https://beacon.example/o",
    }
    assert (received.ttl, received.urgency, received.topic) == (3600, "high", "order-42")
    assert received.headers["authorization"].endswith(f"k={vapid.public_key}")


def test_vapid_claims_name_the_endpoint_origin_and_expire_within_a_day(provider, push_service):
    subscription = push_service.subscription()

    provider.send(device(subscription), MESSAGE)

    [received] = push_service.received()
    assert received.claims["aud"] == push_service.url
    assert received.claims["sub"] == "mailto:ops@example.com"
    assert time.time() + 3600 < received.claims["exp"] <= time.time() + 24 * 3600


def test_each_send_carries_claims_for_its_own_origin(provider, push_service):
    first = push_service.subscription(host="127.0.0.1")
    second = push_service.subscription(host="localhost")

    outcomes = [provider.send(device(s), MESSAGE) for s in (first, second, first)]

    assert [outcome.kind for outcome in outcomes] == [Outcome.SENT] * 3
    audiences = [received.claims["aud"] for received in push_service.received()]
    port = push_service.port
    assert audiences == [
        f"http://{host}:{port}" for host in ("127.0.0.1", "localhost", "127.0.0.1")
    ]


def test_a_signature_is_reused_for_an_origin_for_an_hour_then_signed_again(
    provider, push_service, monkeypatch
):
    subscription = push_service.subscription()
    now = time.time()
    for moment in (now, now + VAPID_REUSE_SECONDS - 1, now + VAPID_REUSE_SECONDS + 1):
        monkeypatch.setattr(time, "time", lambda moment=moment: moment)
        assert provider.send(device(subscription), MESSAGE).kind == Outcome.SENT

    tokens = [received.headers["authorization"] for received in push_service.received()]
    assert tokens[0] == tokens[1] != tokens[2]
    expiries = [received.claims["exp"] for received in push_service.received()]
    assert expiries[2] == int(now + VAPID_REUSE_SECONDS + 1) + VAPID_EXPIRY_SECONDS
    # a reused header still has 11 of its 12 hours when it is last used
    assert expiries[0] - (now + VAPID_REUSE_SECONDS) >= VAPID_EXPIRY_SECONDS - 3600 - 1


def test_sends_from_one_thread_reuse_one_connection(provider, push_service):
    subscriptions = [push_service.subscription() for _ in range(3)]

    for subscription in subscriptions:
        provider.send(device(subscription), MESSAGE)

    assert len({received.client_port for received in push_service.received()}) == 1


def test_ttl_zero_is_sent_as_zero(provider, push_service):
    subscription = push_service.subscription()

    provider.send(device(subscription), PushMessage(title="now or never", ttl=0))

    assert push_service.received()[0].ttl == 0


@pytest.mark.parametrize(
    "status, kind",
    [
        (200, Outcome.SENT),
        (201, Outcome.SENT),
        (202, Outcome.SENT),
        (404, Outcome.GONE),
        (410, Outcome.GONE),
        (413, Outcome.FAILED),
        (400, Outcome.FAILED),
        (401, Outcome.FAILED),
        (403, Outcome.FAILED),
        (301, Outcome.FAILED),
        (307, Outcome.FAILED),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (502, Outcome.RETRY),
        (503, Outcome.RETRY),
    ],
)
def test_push_service_answers_are_mapped(provider, push_service, status, kind):
    subscription = push_service.subscription()
    push_service.answer(subscription, status)

    outcome = provider.send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.status, outcome.retry_after) == (kind, status, None)
    assert (outcome.error == "") == (kind == Outcome.SENT)


def test_a_redirect_fails_for_good_and_says_so(provider, push_service):
    subscription = push_service.subscription()
    push_service.answer(subscription, 307)

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.FAILED
    assert outcome.error.startswith("the push service answered with a redirect (307")


@pytest.fixture
def forwarding_proxy():
    """An HTTP forward proxy on 127.0.0.1 (absolute-form requests, as RFC 9112 3.2.2 has them):
    records each request line and Proxy-Authorization, and passes the request on."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            seen.append((self.path, self.headers.get("Proxy-Authorization")))
            target = urlsplit(self.path)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k: v for k, v in self.headers.items() if not k.startswith("Proxy-")}
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=5)
            upstream.request("POST", target.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def connect_proxy(tls_push_endpoint):
    """An HTTP proxy on 127.0.0.1 that answers CONNECT (whatever the host asked for, it tunnels
    to the TLS push endpoint) and records each target and Proxy-Authorization."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_CONNECT(self):
            seen.append((self.path, self.headers.get("Proxy-Authorization")))
            upstream = socket.create_connection(("127.0.0.1", tls_push_endpoint.port))
            self.send_response(200, "Connection established")
            self.end_headers()
            self.close_connection = True
            with upstream:
                _relay(self.connection, upstream)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def _relay(one: socket.socket, other: socket.socket) -> None:
    """Copies bytes both ways until either side closes."""
    peers = {one: other, other: one}
    while True:
        readable, _, _ = select.select(list(peers), [], [], 5)
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)
        if not readable:
            return


def test_pushes_go_through_the_environments_proxy(
    provider, push_service, forwarding_proxy, monkeypatch, forget_connections
):
    port, seen = forwarding_proxy
    monkeypatch.setenv("HTTP_PROXY", f"http://bea%40con:s3cret@127.0.0.1:{port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    subscription = push_service.subscription()

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.SENT
    assert push_service.received(subscription)[0].payload["title"] == MESSAGE.title
    credentials = base64.b64encode(b"bea@con:s3cret").decode()
    assert seen == [(subscription["endpoint"], f"Basic {credentials}")]


def test_no_proxy_hosts_are_reached_directly(
    provider, push_service, forwarding_proxy, monkeypatch, forget_connections
):
    port, seen = forwarding_proxy
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    subscription = push_service.subscription()

    assert provider.send(device(subscription), MESSAGE).kind == Outcome.SENT
    assert seen == []


def test_proxy_urls_without_a_scheme_are_read_as_http(
    provider, push_service, forwarding_proxy, monkeypatch, forget_connections
):
    port, seen = forwarding_proxy
    monkeypatch.setenv("HTTP_PROXY", f"127.0.0.1:{port}")  # as requests reads it
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    subscription = push_service.subscription()

    assert provider.send(device(subscription), MESSAGE).kind == Outcome.SENT
    assert seen == [(subscription["endpoint"], None)]


def test_https_endpoints_tunnel_through_the_proxy(
    provider, push_service, tls_push_endpoint, connect_proxy, monkeypatch, forget_connections
):
    port, seen = connect_proxy
    monkeypatch.setenv("HTTPS_PROXY", f"http://beacon:s3cret@127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "push.local")
    subscription = {**push_service.subscription(), "endpoint": "https://push.test/fcm/send/abc"}

    outcome = provider.send(device(subscription), MESSAGE)

    # push.test resolves nowhere: only the proxy's CONNECT could reach it, then TLS end to end
    assert (outcome.kind, outcome.status) == (Outcome.SENT, 201)
    credentials = base64.b64encode(b"beacon:s3cret").decode()
    assert seen == [("push.test:443", f"Basic {credentials}")]
    [(path, headers)] = tls_push_endpoint.received
    assert (path, headers["TTL"], headers["Host"]) == ("/fcm/send/abc", "3600", "push.test")


def test_an_https_push_service_with_an_untrusted_certificate_is_not_sent_to(
    provider, push_service, tls_push_endpoint, monkeypatch, forget_connections
):
    monkeypatch.setattr(connections, "_tls_context", ssl.create_default_context)  # the system's
    monkeypatch.setenv("NO_PROXY", "*")
    subscription = push_service.subscription()
    subscription["endpoint"] = f"https://localhost:{tls_push_endpoint.port}/push/x"

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.RETRY
    assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
    assert tls_push_endpoint.received == []


def test_an_unsupported_proxy_fails_with_a_clear_error(
    provider, push_service, monkeypatch, forget_connections
):
    monkeypatch.setenv("HTTP_PROXY", "socks5://proxy.internal:1080")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)

    outcome = provider.send(device(push_service.subscription()), MESSAGE)

    assert outcome.kind == Outcome.FAILED
    assert "only http:// and https:// proxies are supported, not socks5://" in outcome.error


def test_a_connection_the_push_service_closed_is_replaced(provider, push_service):
    first, second = push_service.subscription(), push_service.subscription()
    assert provider.send(device(first), MESSAGE).kind == Outcome.SENT
    for connection in list(push_service._server.connections):
        connection.shutdown(socket.SHUT_RDWR)  # the service closes its idle connections

    assert provider.send(device(second), MESSAGE).kind == Outcome.SENT
    [sent_first], [sent_second] = push_service.received(first), push_service.received(second)
    assert sent_first.client_port != sent_second.client_port


@pytest.fixture
def plain_server():
    """Starts an HTTP/1.1 server answering each POST with `answers[n]` bytes of body (201, then
    keep-alive); records (client address, path, Host)."""
    servers = []

    def start(family: socket.AddressFamily, host: str, answers: list[int]):
        seen = []

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                seen.append((self.client_address, self.path, self.headers["Host"]))
                body = b"x" * answers[len(seen) - 1]
                self.send_response(201)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        class Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True

        server = Server((host, 0), Handler)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server.server_address[1], seen

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_ipv6_literal_endpoints_are_reached(plain_server, forget_connections, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "*")
    try:
        port, seen = plain_server(socket.AF_INET6, "::1", [0])
    except OSError as exc:  # a machine without ::1 can't run this test; it never skips
        pytest.fail(f"no IPv6 loopback here: {exc}")

    answer = connections.post(
        f"http://[::1]:{port}/push/v6", body=b"{}", headers={"TTL": "60"}, timeout=2.0
    )

    assert answer.status == 201
    [(client, path, host)] = seen
    assert (client[0], path, host) == ("::1", "/push/v6", f"[::1]:{port}")


def test_an_overlong_answer_is_cut_and_its_connection_not_reused(
    plain_server, forget_connections, monkeypatch
):
    monkeypatch.setenv("NO_PROXY", "*")
    port, seen = plain_server(socket.AF_INET, "127.0.0.1", [3 * connections.MAX_ANSWER_BYTES, 5, 5])

    answers = [
        connections.post(f"http://127.0.0.1:{port}/p", body=b"", headers={}, timeout=2.0)
        for _ in range(3)
    ]

    assert [len(answer.body) for answer in answers] == [connections.MAX_ANSWER_BYTES, 5, 5]
    first, second, third = (client[1] for client, _, _ in seen)
    assert first != second == third  # a fresh connection after the cut, kept alive after that


def test_413_says_the_payload_was_too_large(provider, push_service):
    subscription = push_service.subscription()
    push_service.answer(subscription, 413)

    outcome = provider.send(device(subscription), MESSAGE)

    assert "too large" in outcome.error


def test_401_points_at_the_vapid_configuration(provider, push_service):
    subscription = push_service.subscription()
    push_service.answer(subscription, 401)

    outcome = provider.send(device(subscription), MESSAGE)

    assert "VAPID" in outcome.error


def test_429_retries_after_the_seconds_asked(provider, push_service):
    subscription = push_service.subscription()
    push_service.answer(subscription, 429, retry_after="7")

    outcome = provider.send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.retry_after) == (Outcome.RETRY, 7.0)


def test_503_retries_after_the_http_date_asked(provider, push_service):
    subscription = push_service.subscription()
    later = datetime.now(UTC) + timedelta(seconds=120)
    push_service.answer(subscription, 503, retry_after=format_datetime(later, usegmt=True))

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.RETRY
    assert 110 <= outcome.retry_after <= 120


def test_a_hanging_push_service_is_retried_once_the_timeout_passes(vapid, push_service):
    provider = WebPushProvider(vapid, timeout=0.5)
    subscription = push_service.subscription()
    push_service.answer(subscription, hang=30)

    started = time.monotonic()
    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.RETRY
    assert outcome.status is None
    assert "timed out" in outcome.error
    assert time.monotonic() - started < 2.5  # connect and read timeouts, on a busy machine


def test_an_unreachable_push_service_is_retried(provider, push_service):
    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    subscription = push_service.subscription()
    subscription["endpoint"] = f"http://127.0.0.1:{port}/push/x"

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.RETRY
    assert "unreachable" in outcome.error


def test_malformed_subscription_keys_fail_without_a_request(provider, push_service):
    subscription = push_service.subscription()
    subscription["keys"] = {"p256dh": "not-a-key", "auth": "AAAA"}

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.FAILED
    assert "invalid subscription" in outcome.error
    assert push_service.received() == []


def test_a_device_without_subscription_fails(provider):
    outcome = provider.send(Device(platform="web", token="t", subscription=None), MESSAGE)

    assert (outcome.kind, outcome.error) == (
        Outcome.FAILED,
        "the subscription's endpoint is missing",
    )


# The payload limit


def test_plaintext_limit_is_what_fills_4096_bytes_of_aes128gcm(push_service):
    pusher = WebPusher(push_service.subscription())

    assert len(pusher.encode(b"x" * MAX_PLAINTEXT_BYTES)["body"]) == MAX_BODY_BYTES
    assert len(pusher.encode(b"x" * (MAX_PLAINTEXT_BYTES + 1))["body"]) == MAX_BODY_BYTES + 1


def test_a_payload_at_the_limit_is_sent(provider, push_service):
    subscription = push_service.subscription()
    message = sized_message(MAX_PLAINTEXT_BYTES)

    outcome = provider.send(device(subscription), message)

    assert provider.payload_too_large(message) is None
    assert outcome.kind == Outcome.SENT
    assert push_service.received()[0].payload["title"] == message.title


def test_a_payload_over_the_limit_is_refused_before_any_request(provider, push_service):
    subscription = push_service.subscription()
    message = sized_message(MAX_PLAINTEXT_BYTES + 1)

    outcome = provider.send(device(subscription), message)

    assert outcome.kind == Outcome.FAILED
    assert outcome.error == provider.payload_too_large(message)
    assert "3994 bytes" in outcome.error and "at most 3993" in outcome.error
    assert push_service.received() == []


# Which endpoints may be sent to


@pytest.mark.parametrize(
    "url",
    ["https://fcm.googleapis.com/fcm/send/abc", "https://updates.push.services.mozilla.com/x"],
)
def test_https_endpoints_are_allowed(url, settings):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = False

    assert push_endpoint_error(url) is None


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8999/push/a", "http://localhost/push/a", "http://LOCALHOST:80/"]
)
def test_http_localhost_is_allowed_only_with_the_setting(url, settings):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    assert push_endpoint_error(url) is None

    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = False
    assert "WEBPUSH_ALLOW_HTTP_LOCALHOST" in push_endpoint_error(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://push.example.com/a",
        "http://127.0.0.1.example.com/a",
        "http://localhost@example.com/a",
        "http://10.0.0.1/a",
        "ftp://localhost/a",
        "https:///nohost",
        "https://example.com:notaport/a",
        "",
        None,
    ],
)
def test_other_endpoints_are_refused(url, settings):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True

    assert push_endpoint_error(url)


def test_a_refused_endpoint_is_not_sent_to(provider, push_service, settings):
    subscription = push_service.subscription()
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = False

    outcome = provider.send(device(subscription), MESSAGE)

    assert outcome.kind == Outcome.FAILED
    assert push_service.received() == []


# Retry timing


@pytest.mark.parametrize(
    "value, seconds",
    [("7", 7.0), (" 0 ", 0.0), ("86400", RETRY_AFTER_MAX_SECONDS), ("soon", None), ("", None)],
)
def test_retry_after_in_seconds(value, seconds):
    assert parse_retry_after(value) == seconds


def test_retry_after_as_an_http_date():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    assert parse_retry_after("Sun, 01 Mar 2026 12:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now) == 0.0


@pytest.mark.parametrize("attempt", range(1, MAX_ATTEMPTS + 3))
def test_backoff_is_jittered_within_a_doubling_capped_window(attempt):
    window = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))

    delays = [backoff_seconds(attempt) for _ in range(200)]

    assert all(0 <= delay <= window for delay in delays)
    assert max(delays) > window / 2  # spread over the window, not pinned to one end


def test_backoff_stays_capped_for_absurd_attempts():
    assert backoff_seconds(10_000) <= BACKOFF_CAP_SECONDS


# The message and the provider registry


@pytest.mark.parametrize(
    "fields", [{"urgency": "urgent"}, {"topic": "has spaces"}, {"topic": "x" * 33}, {"ttl": -1}]
)
def test_a_message_the_protocol_cannot_carry_is_refused(fields):
    with pytest.raises(ValueError):
        PushMessage(title="t", **fields)


# The local push service checks what it is sent (or the tests above would prove nothing)


def sign(claims: dict) -> str:
    signer = Vapid02()
    signer.generate_keys()
    return signer.sign(claims)["Authorization"]


def test_service_accepts_a_valid_vapid_header():
    header = sign({"aud": "http://a:1", "exp": int(time.time()) + 60, "sub": "mailto:x@y.z"})

    assert verify_vapid(header, "http://a:1")["sub"] == "mailto:x@y.z"


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"aud": "http://b:1", "exp": 60}, "aud"),
        ({"aud": "http://a:1", "exp": -60}, "exp"),
        ({"aud": "http://a:1", "exp": 25 * 3600}, "exp"),
    ],
)
def test_service_refuses_a_wrong_audience_or_expiry(claims, reason):
    claims = {**claims, "exp": int(time.time()) + claims["exp"], "sub": "mailto:x@y.z"}

    with pytest.raises(_Refused, match=reason):
        verify_vapid(sign(claims), "http://a:1")


def test_service_refuses_a_signature_by_another_key():
    header = sign({"aud": "http://a:1", "exp": int(time.time()) + 60, "sub": "mailto:x@y.z"})
    other = sign({"aud": "http://a:1", "exp": int(time.time()) + 60, "sub": "mailto:x@y.z"})
    forged = header.split(",k=")[0] + ",k=" + other.split(",k=")[1]

    with pytest.raises(_Refused, match="invalid VAPID"):
        verify_vapid(forged, "http://a:1")


def test_service_refuses_a_payload_encrypted_for_another_subscription(provider, push_service):
    subscription = push_service.subscription()
    subscription["keys"] = push_service.subscription()["keys"]

    outcome = provider.send(device(subscription), MESSAGE)

    assert (outcome.kind, outcome.status) == (Outcome.FAILED, 400)
    assert "cannot decrypt" in push_service.received()[0].error
