"""Keep-alive HTTP connections to push services: one per send thread and origin, on the standard
library's http.client.

A broadcast posts thousands of small requests to the same few origins (fcm.googleapis.com,
updates.push.services.mozilla.com, ...). Measured against the local push service, urllib3's
PoolManager spent ~0.5 ms of CPU per request on this 2-core machine and a bare
`http.client.HTTPConnection` ~0.3 ms (a push cost ~2.5 ms of worker CPU in all). Each send
thread keeps its own connections (no locks; the send pool's threads live as long as the
process), reused while the push service keeps them open.

The environment's proxy (HTTPS_PROXY / HTTP_PROXY, NO_PROXY, as requests reads them) is honoured:
https endpoints through a CONNECT tunnel, http ones in absolute form. Only http:// proxies are
supported (TLS to the proxy itself is not).
"""

from __future__ import annotations

import base64
import functools
import http.client
import os
import select
import ssl
import threading
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass_environment

MAX_ANSWER_BYTES = 64 * 1024  # a push service's answer is a status and a short text
MAX_CONNECTIONS_PER_THREAD = 64


class ProxyNotSupported(ValueError):
    pass


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes


def post(endpoint: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST to a push endpoint over this thread's connection to its origin; `timeout` bounds the
    connect and each wait for the answer. Raises OSError (unreachable, reset, timed out) or
    http.client.HTTPException (a malformed answer); the connection is closed then, so the next
    request starts afresh instead of reading a late answer."""
    parts = urlsplit(endpoint)
    proxy = _proxy_for(parts)
    connection = _connection(parts, proxy, timeout)
    target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
    if proxy and parts.scheme == "http":
        target = urlunsplit(parts._replace(fragment=""))  # absolute form (RFC 9112 3.2.2)
        headers = {**headers, **_proxy_authorization(proxy)}
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read(MAX_ANSWER_BYTES)
        if not response.isclosed():  # an answer too long to read: don't reuse the connection
            connection.close()
    except (OSError, http.client.HTTPException):
        connection.close()
        raise
    return Answer(response.status, response.reason or "", response.headers, data)


def _connection(parts: SplitResult, proxy: str, timeout: float) -> http.client.HTTPConnection:
    connections = _thread_connections()
    key = (parts.scheme, parts.hostname, parts.port, proxy, timeout)
    connection = connections.get(key)
    if connection is None:
        if len(connections) >= MAX_CONNECTIONS_PER_THREAD:  # origins are few; bounds odd ones
            for idle in connections.values():
                idle.close()
            connections.clear()
        connection = connections[key] = _open(parts, proxy, timeout)
    elif connection.sock is not None and _dropped(connection.sock):
        connection.close()  # the push service closed it while idle; the request reconnects
    return connection


def _open(parts: SplitResult, proxy: str, timeout: float) -> http.client.HTTPConnection:
    https = parts.scheme == "https"
    # The port always given: http.client would read "::1" as host ":" and port 1.
    port = parts.port or (443 if https else 80)
    if not proxy:
        if https:
            return http.client.HTTPSConnection(
                parts.hostname, port, timeout=timeout, context=_tls_context()
            )
        return http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    proxy_parts = urlsplit(proxy)
    if proxy_parts.scheme != "http":
        raise ProxyNotSupported(f"only http:// proxies are supported, not {proxy_parts.scheme}://")
    proxy_port = proxy_parts.port or 80
    if not https:
        return http.client.HTTPConnection(proxy_parts.hostname, proxy_port, timeout=timeout)
    # TCP to the proxy, CONNECT, then TLS with the push service itself through the tunnel
    connection = http.client.HTTPSConnection(
        proxy_parts.hostname, proxy_port, timeout=timeout, context=_tls_context()
    )
    connection.set_tunnel(parts.hostname, port, headers=_proxy_authorization(proxy))
    return connection


def _dropped(sock) -> bool:
    """An idle keep-alive socket that is readable was closed by the other side (or sent
    something unasked): either way it can't carry the next request."""
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


_local = threading.local()


def _thread_connections() -> dict:
    """This thread's connections; a forked child (a Celery prefork worker) starts without its
    parent's sockets."""
    if getattr(_local, "pid", None) != os.getpid():
        _local.pid, _local.connections = os.getpid(), {}
    return _local.connections


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context per process: loading the CA store costs tens of milliseconds."""
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


def _proxy_authorization(proxy: str) -> dict[str, str]:
    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(credentials).decode()}


def forget() -> None:
    """Read the environment's proxies again (tests change them)."""
    global _proxies
    _proxies = None
    _local.__dict__.clear()


os.register_at_fork(after_in_child=forget)
