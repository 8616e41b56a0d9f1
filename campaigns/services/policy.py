"""The app-wide push policy (rules across campaigns)."""

from __future__ import annotations

from campaigns.models import PushPolicy
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
