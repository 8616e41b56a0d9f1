"""A circuit breaker for best-effort calls to a dependency that may be down (the broker, the cache).

After a failure the dependency is left alone for `cooldown` seconds: while the breaker is open,
callers skip the call and take their fallback at no cost, so an outage costs each process one
failed attempt per cooldown instead of one per request. The first call after the cooldown tries
again (and closes the breaker if it works). `failed()` and `succeeded()` tell the caller when an
outage starts and ends, so that it logs each once, never a traceback per request.

State is per process and not locked: with threaded workers two threads may both try once more,
which costs an attempt, never a wrong answer.
"""

from __future__ import annotations

from time import monotonic


class CircuitBreaker:
    def __init__(self, *, cooldown: float) -> None:
        self.cooldown = cooldown
        self.reset()

    def reset(self) -> None:
        self._retry_at = 0.0  # monotonic() before which calls are skipped
        self._down_since: float | None = None
        self.skipped = 0  # calls skipped during the current outage

    def is_open(self) -> bool:
        """True while calls should be skipped (counted in `skipped`)."""
        if monotonic() < self._retry_at:
            self.skipped += 1
            return True
        return False

    def failed(self) -> bool:
        """Record a failure and open the breaker; True when it starts an outage."""
        now = monotonic()
        self._retry_at = now + self.cooldown
        if self._down_since is not None:
            return False
        self._down_since, self.skipped = now, 0
        return True

    def succeeded(self) -> float | None:
        """Record a success; the outage's length in seconds when this ends one, else None."""
        if self._down_since is None:
            return None
        lasted, self._down_since = monotonic() - self._down_since, None
        return lasted
