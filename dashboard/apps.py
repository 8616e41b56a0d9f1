from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class BeaconAdminConfig(AdminConfig):
    """Django's admin with Beacon's site (the dashboard and the app selector) as `admin.site`, so
    that every `@admin.register` lands on it."""

    default_site = "dashboard.sites.BeaconAdminSite"


class DashboardConfig(AppConfig):
    """The admin's front page; it reads from every app, so it sits to the right of them all."""

    name = "dashboard"
