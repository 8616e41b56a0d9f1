"""Typed readers for environment variables: a bad value stops the start with a clear message."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_required(name: str, development_default: str, *, debug: bool) -> str:
    """A variable that production must set; only with DEBUG=true does it fall back."""
    value = os.environ.get(name, "")
    if value:
        return value
    if not debug:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is false (`make run` and `make test` set DEBUG=true)"
        )
    return development_default


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


@dataclass(frozen=True)
class Rate:
    requests: int
    seconds: int


_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_NO_LIMIT = {"", "off", "none"}


@functools.lru_cache(maxsize=64)
def parse_rate(text: str | None) -> Rate | None:
    """DRF's notation, "<requests>/<s|m|h|d>" (only the period's first letter counts, so "1000/min"
    too); None for "off" or nothing. Raises ValueError for anything else."""
    if text is None or text.strip().lower() in _NO_LIMIT:
        return None
    count, _, period = text.partition("/")
    seconds = _PERIODS.get(period.strip()[:1])
    if not count.strip().isdigit() or int(count) < 1 or seconds is None:
        raise ValueError(f"{text!r} is not a rate: use <requests>/<s|m|h|d>, e.g. 1000/m, or off")
    return Rate(int(count), seconds)


def env_rate(name: str, default: str) -> str | None:
    """A rate limit for DRF's DEFAULT_THROTTLE_RATES: "1000/m", or "off" (None: no limit)."""
    raw = os.environ.get(name, default)
    try:
        return raw.strip() if parse_rate(raw) else None
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={exc}") from None
