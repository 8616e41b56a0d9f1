"""The app-wide push policy, email settings and messaging policy (rules across campaigns)."""

from __future__ import annotations

from campaigns.models import EmailSettings, MessagingPolicy, PushPolicy
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
    *,
    app: App,
    from_email: str,
    from_name: str = "",
    reply_to: str = "",
    daily_cap: int | None = None,
    max_per_second: int | None = None,
) -> EmailSettings:
    """Who the app's emails are from, where replies go, the daily cap per contact and the send
    rate."""
    settings, _ = EmailSettings.objects.update_or_create(
        app=app,
        defaults={
            "from_email": from_email,
            "from_name": from_name,
            "reply_to": reply_to,
            "daily_cap": daily_cap,
            "max_per_second": max_per_second,
        },
    )
    return settings


def messaging_policy_update(*, app: App, daily_cap: int | None) -> MessagingPolicy:
    """The cap of messages per contact per day, pushes and emails together."""
    policy, _ = MessagingPolicy.objects.update_or_create(app=app, defaults={"daily_cap": daily_cap})
    return policy
