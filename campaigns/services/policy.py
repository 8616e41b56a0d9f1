"""The app-wide push policy (rules across campaigns)."""

from __future__ import annotations

from campaigns.models import PushPolicy
from contacts.models import App


def push_policy_update(*, app: App, daily_cap: int | None) -> PushPolicy:
    policy, _ = PushPolicy.objects.update_or_create(app=app, defaults={"daily_cap": daily_cap})
    return policy
