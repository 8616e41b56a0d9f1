"""HTTP for the mobile push providers (FCM, APNs, OneSignal) on httpx, speaking HTTP/2 where the
service offers it (APNs requires it) and HTTP/1.1 elsewhere.

One client per send thread, not one per process: httpcore (1.0) picks an HTTP/2 stream's id and
sends its headers in two steps without a lock between them, so two threads sharing a connection
can open streams out of order, which the server must answer with a connection error that fails
every push in flight on it (tests/campaigns/test_apns_provider.py caught it). The send threads
live as long as the worker (campaigns/services/sending.py), so each keeps its connections alive.

Unlike web push (connections.py), these hosts come from the operator's settings, never from
clients, so there is no address check: a private gateway may sit on a private network. Redirects
are never followed (a 3xx is an answer, reported as a failure); the environment's proxy
(HTTPS_PROXY, NO_PROXY) is honoured by httpx; `timeout` bounds the connect and each read; an
answer is read up to MAX_ANSWER_BYTES.
"""

from __future__ import annotations

import functools
import os
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from campaigns.providers.base import Outcome, SendOutcome
from campaigns.providers.webpush import parse_retry_after

MAX_ANSWER_BYTES = 64 * 1024  # a push service's answer is a status and a short JSON


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers  # case-insensitive
    body: bytes

    def json(self) -> Any:
        """The body's JSON, or None if it has none."""
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return None

    def detail(self) -> str:
        return f"{self.status}: {self.body[:300].decode('utf-8', 'replace')}".strip(" :")

    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))


def post(
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
    timeout: float,
) -> Answer:
    """POST and read the answer. Raises httpx.HTTPError (unreachable, reset, timed out, TLS,
    a protocol error)."""
    client = thread_client()
    with client.stream("POST", url, content=content, headers=headers, timeout=timeout) as response:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= MAX_ANSWER_BYTES:  # closing the response drops the rest
                break
    return Answer(response.status_code, response.headers, bytes(body[:MAX_ANSWER_BYTES]))


def unreachable(service: str, exc: Exception) -> SendOutcome:
    return SendOutcome(Outcome.RETRY, error=f"{service} unreachable: {exc!r}")


def busy_or_unexpected(service: str, answer: Answer) -> SendOutcome:
    """What every provider does with an answer it has no specific rule for: a redirect is a
    failure (never followed), 408, 429 and 5xx are retried after Retry-After or the backoff,
    anything else failed."""
    status = answer.status
    if 300 <= status < 400:
        error = f"{service} answered with a redirect, not followed ({answer.detail()})"
        return SendOutcome(Outcome.FAILED, error=error, status=status)
    if status in (408, 429) or status >= 500:
        error = f"{service} busy ({answer.detail()})"
        return SendOutcome(Outcome.RETRY, answer.retry_after(), error, status)
    error = f"unexpected answer from {service} ({answer.detail()})"
    return SendOutcome(Outcome.FAILED, error=error, status=status)


_local = threading.local()
_generation = 0  # forget() bumps it: every thread then makes a new client on its next request


def thread_client() -> httpx.Client:
    """This thread's client, made on its first request."""
    held = getattr(_local, "held", None)
    if held is None or held[0] != _generation:
        if held is not None:
            held[1].close()
        _local.held = (_generation, _new_client())
    return _local.held[1]


def _new_client() -> httpx.Client:
    return httpx.Client(
        http2=True,
        follow_redirects=False,
        verify=_tls_context(),
        # Idle connections kept: one per origin (a few), and per thread on HTTP/1.1.
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying context per process (loading the CA store takes tens of milliseconds);
    tests put in one that trusts their local services."""
    return ssl.create_default_context()


def forget() -> None:
    """Every thread makes a new client on its next request (tests change the TLS context)."""
    global _generation
    _generation += 1


def _forget_after_fork() -> None:
    """A forked child (a Celery prefork worker) starts without its parent's connections (they
    are the parent's sockets: dropped, not closed)."""
    global _local
    _local = threading.local()


os.register_at_fork(after_in_child=_forget_after_fork)
