"""The dashboard's figures for a set of apps: each read is one indexed query of its own app's
selectors (events per hour, new contacts, reachable devices, segments, campaigns), and the saved
insights' charts (dashboard/insights.py: one query each)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from campaigns.selectors import campaigns_recent
from contacts.models import App
from contacts.selectors import contacts_new_count, devices_reachable_count
from dashboard.insights import insights_on_dashboard
from events.selectors import events_per_hour, top_series
from segments.selectors import segments_largest

TOP_EVENT_TYPES = 5


def dashboard_get(*, apps: QuerySet[App], now: datetime, built_in: bool = False) -> dict:
    """`built_in`: whether the events' figures count Beacon's own @ events (a session, a push
    sent or opened): off, they show what the apps' users did."""
    hours, counts = events_per_hour(apps=apps, now=now, built_in=built_in)
    series = top_series(counts, top=TOP_EVENT_TYPES)
    return {
        "events": {
            "built_in": built_in,
            "total": sum(sum(per_hour) for per_hour in counts.values()),
            "per_type": [(name, sum(per_hour)) for name, per_hour in series.items()],
            "chart": {
                "labels": [hour.strftime("%H:%M") for hour in hours],
                "series": [{"name": name, "counts": c} for name, c in series.items()],
            },
        },
        "contacts_new": contacts_new_count(apps=apps, now=now),
        "devices_reachable": devices_reachable_count(apps=apps),
        "segments": segments_largest(apps=apps),
        "campaigns": [
            (campaign, {**stats, "open_percent": round(stats["open_rate"] * 100, 1)})
            for campaign, stats in campaigns_recent(apps=apps)
        ],
        "insights": insights_on_dashboard(apps=apps, now=now),
    }
