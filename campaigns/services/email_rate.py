"""An app's email send rate (EmailSettings.max_per_second), for all its workers together.

The settings row keeps when the app's next email may go (`rate_next_at`). A send task reserves
slots for a few emails at a time, in a transaction that locks the row (SELECT FOR UPDATE on
PostgreSQL; SQLite's transactions take the write lock at BEGIN), then sends each at its slot.
A reservation that would start more than MAX_WAIT from now is not taken: the emails go back to
the queue, due at that time, so a send task never sleeps past its lease (the rows would be
claimed again and sent twice)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction

from campaigns.models import EmailSettings

MAX_WAIT = timedelta(seconds=5)
SLOTS_PER_RESERVATION = 8


def email_slots_reserve(
    *, app_id: int, rate: int, count: int, now: datetime
) -> tuple[datetime, bool]:
    """(when the first of `count` slots is, whether they were reserved): reserved only when that
    is at most MAX_WAIT away."""
    with transaction.atomic():
        settings = EmailSettings.objects.select_for_update().get(app_id=app_id)
        start = max(settings.rate_next_at or now, now)
        if start - now > MAX_WAIT:
            return start, False
        end = start + timedelta(seconds=count / rate)
        EmailSettings.objects.filter(pk=settings.pk).update(rate_next_at=end)
    return start, True


@dataclass
class EmailPacer:
    """Paces a claim's emails by their apps' rates: `wait(row)` sleeps until the row's slot and
    returns None, or returns the time the row should be sent instead (no slot soon enough)."""

    rates: dict[int, int]  # app id -> max emails per second (apps with a rate only)
    left: dict[int, int]  # app id -> emails of the claim not sent yet
    now: datetime  # the send's time; the pacer's clock runs on from it
    _started: float = field(default_factory=time.monotonic)
    _slots: dict[int, list[datetime]] = field(default_factory=dict)
    _later: dict[int, datetime] = field(default_factory=dict)

    def clock(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._started)

    def wait(self, app_id: int) -> datetime | None:
        rate = self.rates.get(app_id)
        if rate is None:
            return None
        if app_id in self._later:
            return self._later[app_id]
        slots = self._slots.setdefault(app_id, [])
        if not slots:
            count = min(SLOTS_PER_RESERVATION, self.left[app_id])
            start, reserved = email_slots_reserve(
                app_id=app_id, rate=rate, count=count, now=self.clock()
            )
            if not reserved:
                self._later[app_id] = start
                return start
            slots.extend(start + timedelta(seconds=i / rate) for i in range(count))
        self.left[app_id] -= 1
        pause = (slots.pop(0) - self.clock()).total_seconds()
        if pause > 0:
            time.sleep(pause)
        return None
