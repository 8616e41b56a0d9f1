from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Health checks, /metrics and the request log. It reads every app's tables (the scrape-time
    gauges), so it sits to the right of them all, beside the dashboard."""

    name = "monitoring"
