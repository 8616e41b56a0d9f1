"""Mounted under /api/v1/push/ (config/urls.py); the CORS allowlist (CORS_URLS_REGEX) names each
of these paths, not the prefix: admin endpoints live under it too."""

from django.urls import path

from campaigns.api import browser

urlpatterns = [
    path("config", browser.PushConfigView.as_view(), name="push-config"),
]
