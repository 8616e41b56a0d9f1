"""No server-side request forgery through push endpoints (issue 15): the worker connects only to
public addresses. An endpoint whose host is a non-public literal is refused before any
connection; a name is resolved once when connecting, refused if any address it has is not
public, and the socket goes to the addresses checked (a second answer can't rebind it). A refused
endpoint fails its delivery for good and invalidates the device, as a gone subscription does.

Every test here turns WEBPUSH_ALLOW_HTTP_LOCALHOST off (the guard on), as in production."""

from __future__ import annotations

import socket

import pytest

from campaigns.models import Campaign, Delivery
from campaigns.providers import connections
from campaigns.providers.base import Outcome, PushMessage
from campaigns.providers.webpush import WebPushProvider
from campaigns.services.broadcasts import broadcasts_start_due
from campaigns.services.dispatch import deliveries_claim_due
from campaigns.services.sending import deliveries_send
from contacts.models import Device
from events import catalog
from events.models import Event
from tests.campaigns.factories import KEYS, active_campaign, subscribe

MESSAGE = PushMessage(title="Sale")


@pytest.fixture
def listener():
    """A TCP port on 127.0.0.1 that counts the connections made to it (the kernel completes
    the handshake of each into the backlog, so nothing needs to accept them to be seen)."""
    server = socket.create_server(("127.0.0.1", 0), backlog=16)
    server.setblocking(False)

    class Listener:
        port = server.getsockname()[1]

        @staticmethod
        def connections() -> int:
            count = 0
            while True:
                try:
                    peer, _ = server.accept()
                except BlockingIOError:
                    return count
                peer.close()
                count += 1

    yield Listener
    server.close()


@pytest.fixture
def guard_on(settings, monkeypatch, forget_connections):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = False
    monkeypatch.setenv("NO_PROXY", "*")  # straight to the endpoint, whatever the environment


@pytest.fixture
def resolver(monkeypatch):
    """Names of the test's own, answered by connections.getaddrinfo (the one resolver the
    guard uses); every lookup is recorded. `answers["push.test"] = ["127.0.0.1"]`."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, family=0, kind=0, *args):
        lookups.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, kind, 6, "", (ip, port))
            for ip in answers[host]
        ]

    monkeypatch.setattr(connections, "getaddrinfo", getaddrinfo)
    return answers, lookups


def device(endpoint: str) -> Device:
    subscription = {"endpoint": endpoint, "keys": KEYS}
    return Device(platform="web", token=endpoint, subscription=subscription)


@pytest.fixture
def provider(vapid):
    return WebPushProvider(vapid, timeout=2.0)


@pytest.mark.parametrize(
    "host, kind",
    [
        ("127.0.0.1", "a loopback address"),
        ("[::1]", "a loopback address"),
        ("localhost", "a local host"),
    ],
)
def test_a_local_tls_server_receives_no_connection(provider, listener, guard_on, host, kind):
    # The reproduction: an endpoint on 127.0.0.1:9443 received the worker's handshake.
    outcome = provider.send(device(f"https://{host}:{listener.port}/push/x"), MESSAGE)

    assert outcome.kind == Outcome.GONE
    assert outcome.error.startswith("refused: the subscription's endpoint is on ")
    assert kind in outcome.error
    assert listener.connections() == 0


def test_a_name_resolving_to_loopback_is_refused_when_connecting(
    provider, listener, guard_on, resolver
):
    answers, lookups = resolver
    answers["push.test"] = ["127.0.0.1"]  # passes registration: a name, not local by itself

    outcome = provider.send(device(f"https://push.test:{listener.port}/push/x"), MESSAGE)

    assert outcome.kind == Outcome.GONE
    assert outcome.error == (
        "refused: the subscription's endpoint is not on a public address: "
        "push.test resolves to 127.0.0.1, a loopback address"
    )
    assert lookups == ["push.test"]
    assert listener.connections() == 0


@pytest.mark.parametrize(
    "addresses, refused",
    [
        (["10.1.2.3"], "10.1.2.3, a private address"),
        (["169.254.169.254"], "169.254.169.254, a link-local address"),
        (["100.64.0.9"], "100.64.0.9, a shared (carrier-grade NAT) address"),
        (["0.0.0.0"], "0.0.0.0, an unspecified address"),
        (["::"], "::, an unspecified address"),
        (["::ffff:192.168.1.1"], "::ffff:192.168.1.1, a private address"),
        (["64:ff9b::a9fe:a9fe"], "64:ff9b::a9fe:a9fe, a link-local address"),  # NAT64
        (["fd00::5"], "fd00::5, a private address"),
        (["ff02::1"], "ff02::1, a multicast address"),
        (["239.1.2.3"], "239.1.2.3, a multicast address"),
        (["240.0.0.1"], "240.0.0.1, a reserved address"),
        # Rebinding with two answers at once: one private address refuses the name whole.
        (["93.184.216.34", "127.0.0.1"], "127.0.0.1, a loopback address"),
    ],
)
def test_every_address_a_name_resolves_to_must_be_public(guard_on, resolver, addresses, refused):
    answers, lookups = resolver
    answers["push.test"] = addresses

    with pytest.raises(connections.AddressRefused) as refusal:
        connections.post("https://push.test/x", body=b"{}", headers={}, timeout=2.0)

    assert str(refusal.value) == f"push.test resolves to {refused}"
    assert lookups == ["push.test"]


def test_localhost_is_refused_by_the_system_resolver_too(listener, guard_on):
    # Through the transport alone (no registration check before it): the real resolver's
    # answer for localhost is checked.
    with pytest.raises(connections.AddressRefused, match="localhost resolves to .*loopback"):
        connections.post(
            f"https://localhost:{listener.port}/x", body=b"{}", headers={}, timeout=2.0
        )
    assert listener.connections() == 0


def test_the_socket_goes_to_the_address_resolved_once(
    provider, tls_push_endpoint, resolver, settings, guard_on
):
    # push.test exists only in the test's resolver: the push reaching the server proves the
    # socket went to the address looked up, never asking the system's resolver again; TLS
    # still checks the certificate against the name (the server's is for push.test).
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True  # 127.0.0.1 allowed: only the path is tested
    answers, lookups = resolver
    answers["push.test"] = ["127.0.0.1"]

    endpoint = f"https://push.test:{tls_push_endpoint.port}/push/x"
    outcome = provider.send(device(endpoint), MESSAGE)

    assert (outcome.kind, outcome.status) == (Outcome.SENT, 201)
    [(path, headers)] = tls_push_endpoint.received
    assert (path, headers["Host"]) == ("/push/x", f"push.test:{tls_push_endpoint.port}")
    assert lookups == ["push.test"]


def test_a_refused_endpoint_fails_its_delivery_and_invalidates_the_device(
    app, listener, resolver, settings, guard_on
):
    """Registered while the setting was on (or by a name that resolved elsewhere then), sent
    with the guard on: no connection, the delivery failed with the reason, the device gone."""
    answers, _ = resolver
    answers["push.test"] = ["127.0.0.1"]
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    by_name = subscribe(app, "ann", endpoint=f"https://push.test:{listener.port}/push/a")
    literal = subscribe(app, "bob", endpoint=f"https://127.0.0.1:{listener.port}/push/b")
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = False
    active_campaign(app, kind=Campaign.Kind.BROADCAST, name="Sale", title="Sale!")
    broadcasts_start_due()

    for claim in deliveries_claim_due():
        deliveries_send(claim=claim)

    assert listener.connections() == 0
    errors = {d.contact_id: (d.status, d.last_error) for d in Delivery.objects.all()}
    assert errors == {
        by_name.pk: (
            Delivery.Status.FAILED,
            "refused: the subscription's endpoint is not on a public address: "
            "push.test resolves to 127.0.0.1, a loopback address",
        ),
        literal.pk: (
            Delivery.Status.FAILED,
            "refused: the subscription's endpoint is on a loopback address (127.0.0.1); "
            "push services are on public addresses",
        ),
    }
    assert not Device.objects.filter(invalidated_at__isnull=True).exists()
    opt_outs = Event.objects.filter(event_type__name=catalog.OPT_OUT)
    assert sorted(e.contact_id for e in opt_outs) == sorted([by_name.pk, literal.pk])
