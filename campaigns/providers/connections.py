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
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit
from urllib.request import getproxies, proxy_bypass_environment

import urllib3
from django.conf import settings
from urllib3.exceptions import ProxySchemeUnknown

MAX_ANSWER_BYTES = 64 * 1024  # a push service's answer is a status and a short text
# Origins (and proxies) whose idle connections are kept, the least recently used closed first;
# each keeps at most one per send thread: at most 64 idle connections per thread, as before.
MAX_POOLS = 64


class ProxyNotSupported(ValueError):
    pass


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
    the next request starts afresh instead of reading a late answer), or ProxyNotSupported."""
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
        return urllib3.PoolManager(**options)
    parts = urlsplit(proxy)
    try:
        return urllib3.ProxyManager(
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


def _proxy_authorization(proxy: SplitResult) -> dict[str, str]:
    # urllib3 leaves the proxy URL's credentials out, and they may be percent-encoded.
    if proxy.username is None:
        return {}
    credentials = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}"
    return urllib3.make_headers(proxy_basic_auth=credentials)


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
