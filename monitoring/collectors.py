"""Gauges computed from the database at scrape time: what is waiting, and for how long.

Each is one aggregate query per scrape. The two "oldest" ages use indexes (trigger marks are
few: the matcher deletes them; the due-delivery index is partial on status = scheduled); the
count by status scans the deliveries table, which stays cheap until it holds millions of rows.
"""

from __future__ import annotations

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from campaigns.models import Delivery, TriggerMark


class QueueCollector(Collector):
    def collect(self):
        now = timezone.now()
        yield self._trigger_marks(now)
        yield self._due_deliveries(now)
        yield self._deliveries_by_status()

    def _trigger_marks(self, now) -> GaugeMetricFamily:
        oldest = TriggerMark.objects.aggregate(oldest=Min("created_at"))["oldest"]
        return GaugeMetricFamily(
            "beacon_trigger_mark_oldest_age_seconds",
            "Age of the oldest event not yet matched against campaign triggers (0: none)",
            value=_age(oldest, now),
        )

    def _due_deliveries(self, now) -> GaugeMetricFamily:
        due = Delivery.objects.filter(status=Delivery.Status.SCHEDULED, due_at__lte=now)
        oldest = due.aggregate(oldest=Min("due_at"))["oldest"]
        return GaugeMetricFamily(
            "beacon_delivery_due_oldest_age_seconds",
            "How long the longest-waiting due delivery has been due and not sent (0: none)",
            value=_age(oldest, now),
        )

    def _deliveries_by_status(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "beacon_deliveries", "Deliveries by status (all apps)", labels=["status"]
        )
        counts = dict(Delivery.objects.order_by().values_list("status").annotate(n=Count("*")))
        for status in Delivery.Status.values:
            family.add_metric([status], counts.get(status, 0))
        return family


def _age(moment, now) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment else 0.0
