"""Mounted under /api/v1/push/ (config/urls.py); the CORS allowlist covers this prefix."""

from django.urls import path

from campaigns.api import browser

urlpatterns = [
    path("config", browser.PushConfigView.as_view(), name="push-config"),
]
