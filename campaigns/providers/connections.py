"""HTTP to push services on urllib3: keep-alive connection pools per origin, shared by a
process's send threads, through the environment's proxy if one is set.

Why urllib3: it is already installed (pywebpush requires requests, which requires it), web push
and FCM speak HTTP/1.1, and it keeps connections alive, checks an idle one is still open before
reusing it, tunnels https through a proxy with CONNECT and bounds its pools. It costs ~0.09 ms
more client CPU per request than the bare http.client code it replaced (0.16-0.17 against
0.07-0.08 ms to the local push service, 1,500 requests each, alternating), kept for a library
that is maintained. httpx would bring HTTP/2, which APNs requires, but it is no dependency yet
and was not measured here: the APNs provider can take httpx with h2 on its own, measured then.

The environment's proxy (HTTPS_PROXY / HTTP_PROXY, NO_PROXY, as requests reads them) is honoured:
https endpoints through a CONNECT tunnel, http ones in absolute form; http:// and https:// proxies
(socks needs another package, and says so).

Only public addresses are connected to (server-side request forgery, contacts/push.py): a
connection resolves its host once, refuses with `AddressRefused` unless every address passes
`address_error`, and connects to the addresses it checked, so a name that answers differently
the second time (DNS rebinding) cannot slip past. Through a proxy the proxy resolves the
endpoint's name (it may be the only one that can), so there the check is the proxy's egress
policy; Beacon still refuses IP literals and local names before sending (contacts/push.py).
"""

from __future__ import annotations

import functools
import os
import socket
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit
from urllib.request import getproxies, proxy_bypass_environment

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ProxySchemeUnknown,
)
from urllib3.util.connection import allowed_gai_family

from contacts.push import address_error

MAX_ANSWER_BYTES = 64 * 1024  # a push service's answer is a status and a short text
# Origins (and proxies) whose idle connections are kept, the least recently used closed first;
# each keeps at most one per send thread: at most 64 idle connections per thread, as before.
MAX_POOLS = 64


class ProxyNotSupported(ValueError):
    pass


class AddressRefused(Exception):
    """The endpoint's host resolves to an address push requests must not reach; nothing was
    sent. Not an OSError, so urllib3 passes it through instead of retrying or wrapping it."""


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: Mapping[str, str]  # case-insensitive
    body: bytes


def post(endpoint: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST to a push endpoint over a pooled connection to its origin; `timeout` bounds the
    connect and each wait for the answer. Raises OSError or urllib3.exceptions.HTTPError
    (unreachable, reset, timed out, TLS, a malformed answer; the connection is closed then, so
    the next request starts afresh instead of reading a late answer), ProxyNotSupported, or
    AddressRefused (the host resolves to a non-public address: no connection was made)."""
    response = _manager(urlsplit(endpoint)).urlopen(
        "POST",
        endpoint,
        body=body,
        headers=headers,
        timeout=timeout,
        retries=False,  # the send task retries with backoff; a redirect is an answer, not followed
        redirect=False,
        preload_content=False,  # read at most MAX_ANSWER_BYTES below
        decode_content=False,
    )
    try:
        data = response.read(MAX_ANSWER_BYTES)
        if not response.closed:  # an answer too long to read: don't reuse the connection
            response.close()
    finally:
        response.release_conn()  # back to the pool (closed, if unfinished: it reconnects)
    return Answer(response.status, response.reason or "", response.headers, data)


def _manager(parts: SplitResult) -> urllib3.PoolManager:
    """This process's pool manager for an endpoint: the direct one, or one per proxy."""
    proxy = _proxy_for(parts)
    manager = _managers.get(proxy)
    if manager is None:
        manager = _managers[proxy] = _new_manager(proxy)
    return manager


def _new_manager(proxy: str) -> urllib3.PoolManager:
    options = {
        "num_pools": MAX_POOLS,
        # A send thread holds one connection at a time; more than that many are closed after use.
        "maxsize": settings.PUSH_SEND_CONCURRENCY,
        "ssl_context": _tls_context(),
    }
    if not proxy:
        return _checking(urllib3.PoolManager(**options))
    parts = urlsplit(proxy)
    try:
        manager = urllib3.ProxyManager(
            proxy,
            proxy_headers=_proxy_authorization(parts),
            proxy_ssl_context=_tls_context(),
            **options,
        )
    except ProxySchemeUnknown:
        scheme = parts.scheme
        raise ProxyNotSupported(
            f"only http:// and https:// proxies are supported, not {scheme}://"
        ) from None
    return _checking(manager)


def _proxy_authorization(proxy: SplitResult) -> dict[str, str]:
    # urllib3 leaves the proxy URL's credentials out, and they may be percent-encoded.
    if proxy.username is None:
        return {}
    credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
    return urllib3.make_headers(proxy_basic_auth=credentials)


# Connecting to checked addresses only ------------------------------------------------------------

# The resolver: socket.getaddrinfo; tests put in one that answers names of their own.
getaddrinfo = socket.getaddrinfo


class _CheckedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        """urllib3's, but resolving the host once and connecting only to addresses checked."""
        if self.proxy is not None:  # the operator's proxy: it resolves the endpoint's name
            return super()._new_conn()
        try:
            sock = _connect_checked(self)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:  # socket.timeout, on the connect
            message = f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
            raise ConnectTimeoutError(self, message) from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock


class _CheckedHTTPSConnection(_CheckedConnection, HTTPSConnection):
    pass  # TLS still names the host (SNI, certificate check): only the socket is ours


def _connect_checked(connection: HTTPConnection) -> socket.socket:
    """1. resolve the host (once); 2. refuse unless every address it has is allowed (a name
    with one private address among public ones is refused whole); 3. connect to the checked
    addresses in turn, as urllib3's create_connection would, with its socket options."""
    host = connection.host.strip("[]")
    answers = getaddrinfo(host, connection.port, allowed_gai_family(), socket.SOCK_STREAM)
    for *_, sockaddr in answers:
        if reason := address_error(sockaddr[0]):
            raise AddressRefused(f"{host} resolves to {sockaddr[0]}, {reason}")
    error: OSError = OSError(f"{host} resolves to no address")
    for family, kind, proto, _, sockaddr in answers:
        sock = socket.socket(family, kind, proto)
        try:
            for option in connection.socket_options or ():
                sock.setsockopt(*option)
            if isinstance(connection.timeout, int | float):
                sock.settimeout(connection.timeout)
            if connection.source_address:
                sock.bind(connection.source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error


class _CheckedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _CheckedConnection


class _CheckedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


def _checking(manager: urllib3.PoolManager) -> urllib3.PoolManager:
    manager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}
    return manager


# Proxy URL ("" for none) -> this process's manager. Shared by the send threads: urllib3's pools
# are thread-safe, and a race to create one only creates two.
_managers: dict[str, urllib3.PoolManager] = {}


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context per process (the system's CA store, hostnames checked): urllib3
    would load the CA store again for each connection, tens of milliseconds each."""
    return ssl.create_default_context()


_proxies: dict[str, str] | None = None


def _proxy_for(parts: SplitResult) -> str:
    """The proxy URL for an endpoint ("" for none). The environment is read once: scanning it on
    every request cost a fifth of a send's CPU."""
    global _proxies
    if _proxies is None:
        _proxies = getproxies()
    proxy = _proxies.get(parts.scheme, "")
    if proxy and proxy_bypass_environment(parts.hostname or "", _proxies):
        return ""
    if proxy and "://" not in proxy:  # "proxy:3128", as requests reads it
        proxy = f"http://{proxy}"
    return proxy


def forget() -> None:
    """Read the environment's proxies again and close the pools (tests change the proxies)."""
    global _proxies
    _proxies = None
    for manager in list(_managers.values()):
        manager.clear()
    _managers.clear()


def _forget_after_fork() -> None:
    """A forked child (a Celery prefork worker) starts without its parent's pools: it drops them
    unclosed (the sockets are the parent's) and reads the environment itself."""
    global _proxies
    _proxies = None
    _managers.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
