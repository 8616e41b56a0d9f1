"""Quiet hours: a daily window in the contact's local time when a campaign does not push."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from campaigns.models import Campaign


def quiet_until(campaign: Campaign, timezone_name: str, now: datetime) -> datetime | None:
    """When the quiet window that contains `now` ends (an aware datetime), or None if `now` is
    outside it. A window may wrap midnight (22:00-08:00)."""
    start, end = campaign.quiet_start, campaign.quiet_end
    if start is None or end is None:
        return None
    try:
        zone = ZoneInfo(timezone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    if not _inside(local.time(), start, end):
        return None
    end_day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=zone)


def _inside(moment: time, start: time, end: time) -> bool:
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end
