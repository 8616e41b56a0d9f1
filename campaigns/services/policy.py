"""The app-wide push policy and email settings (rules across campaigns)."""

from __future__ import annotations

from campaigns.models import EmailSettings, PushPolicy
from contacts.models import App


def push_policy_update(
    *, app: App, daily_cap: int | None, ios_provider: str | None = None
) -> PushPolicy:
    """Set the policy; an `ios_provider` of None keeps the current one (FCM on a new policy)."""
    values = {"daily_cap": daily_cap}
    if ios_provider is not None:
        values["ios_provider"] = ios_provider
    policy, _ = PushPolicy.objects.update_or_create(app=app, defaults=values)
    return policy


def email_settings_update(
    *, app: App, from_email: str, from_name: str = "", reply_to: str = "", daily_cap=None
) -> EmailSettings:
    """Who the app's emails are from, where replies go, and the daily cap per contact."""
    settings, _ = EmailSettings.objects.update_or_create(
        app=app,
        defaults={
            "from_email": from_email,
            "from_name": from_name,
            "reply_to": reply_to,
            "daily_cap": daily_cap,
        },
    )
    return settings
