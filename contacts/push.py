"""Which web push endpoints Beacon accepts from clients and will send to.

A subscription's endpoint comes from a browser, or from whoever holds an app's public ingest key,
so the worker must not be made to connect inside our own network (server-side request forgery):
push requests go to public addresses only, unless WEBPUSH_ALLOW_HTTP_LOCALHOST is set (tests and
development, whose push services run on 127.0.0.1). It is checked twice:

1. at registration (`push_endpoint_error`, on every tracked event that carries a subscription):
   the URL, its scheme, and the host as written: an IP literal in any form a resolver accepts
   (`127.1`, `2130706433`, `[::ffff:10.0.0.1]`, ...) or a name that is local by definition
   (`localhost`, `*.localhost`). No DNS here: ingest must not wait on a resolver that whoever
   registers the endpoint controls (a slow name server, a fresh name per request defeating any
   cache), and an answer at registration proves nothing at send time (DNS rebinding: the name
   may answer differently a second later). A name that resolves to a private address passes
   this step and is refused at the first send, which also invalidates its device: one refused
   resolution, no connection;
2. at connect time (campaigns/providers/connections.py): the host is resolved once, every
   address it resolves to must pass `address_error`, and the socket connects to the addresses
   checked, never resolving the name again.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

LOCAL_HOSTS = ("127.0.0.1", "localhost")
# Names no public push service can have (RFC 6761 section 6.3: they are loopback by definition).
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")
# IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it through a
# translator (RFC 6052 NAT64, RFC 8215): judged by the IPv4 address they reach.
NAT64_PREFIXES = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 shared address space

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def push_endpoint_error(endpoint: object) -> str | None:
    """Why a subscription endpoint is refused, or None (the registration check: no DNS).
    Browsers only hand out https endpoints; http is for local push services (tests,
    development) when WEBPUSH_ALLOW_HTTP_LOCALHOST is on."""
    return push_endpoint_form_error(endpoint) or push_endpoint_host_error(endpoint)


def push_endpoint_form_error(endpoint: object) -> str | None:
    """Why an endpoint is not a URL Beacon sends to (malformed, or not https), or None."""
    if not isinstance(endpoint, str) or not endpoint:
        return "is missing"
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return f"is not a valid URL ({endpoint[:100]!r})"
    if not parts.hostname:
        return "is not a valid URL (no host)"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        if settings.WEBPUSH_ALLOW_HTTP_LOCALHOST:
            return None
        return "must use https (http on localhost needs the setting WEBPUSH_ALLOW_HTTP_LOCALHOST)"
    return "must use https"


def push_endpoint_host_error(endpoint: str) -> str | None:
    """Why the endpoint's host, as written, is one Beacon must not connect to, or None (also
    None for a well-formed name: its addresses are checked when connecting)."""
    if settings.WEBPUSH_ALLOW_HTTP_LOCALHOST:
        return None
    host = _normalized(urlsplit(endpoint).hostname or "")
    if host is None:
        return "is not a valid URL (the host is not a valid name)"
    if host in LOCAL_NAMES or host.endswith(".localhost"):
        return f"is on a local host ({host}); push services are public"
    address = ip_literal(host)
    if address is not None and (kind := address_kind(address)):
        return f"is on {kind} ({host}); push services are on public addresses"
    return None


def address_error(address: str) -> str | None:
    """Why a resolved address must not be connected to (e.g. "a loopback address"), or None."""
    if settings.WEBPUSH_ALLOW_HTTP_LOCALHOST:
        return None
    try:
        return address_kind(ipaddress.ip_address(address))
    except ValueError:
        return "not an IP address"


def address_kind(address: Address) -> str | None:
    """What makes an address non-public, or None for a public (globally reachable) one."""
    address = _embedded_ipv4(address) or address
    for kind, test in (
        ("an unspecified address", address.is_unspecified),
        ("a loopback address", address.is_loopback),
        ("a link-local address", address.is_link_local),
        ("a multicast address", address.is_multicast),
        ("a reserved address", address.is_reserved),
        ("a private address", address.is_private),
        ("a shared (carrier-grade NAT) address", address in CGNAT),
        ("a special-purpose address", not address.is_global),
    ):
        if test:
            return kind
    return None


def ip_literal(host: str) -> Address | None:
    """The address a host written as an IP literal stands for, in every form the system's
    resolver takes without DNS (inet_aton: `127.1`, `0x7f.0.0.1`, `2130706433`), or None."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host.isascii() and all(part.isalnum() for part in host.split(".")):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one reaches: IPv4-mapped (::ffff:a.b.c.d), 6to4, NAT64."""
    if address.version == 4:
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if any(address in prefix for prefix in NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _normalized(host: str) -> str | None:
    """The host as the resolver will see it: IDNA-mapped (a fullwidth `１２７.０.０.１` or
    `ⓛocalhost` is what its ASCII form is), lowercase, without the root's trailing dot."""
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None
    return ascii_host.lower().rstrip(".")
