"""Reads on campaigns and deliveries."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from campaigns.models import Campaign, Delivery, PushPolicy
from contacts.models import App


def campaign_list(*, app: App) -> QuerySet[Campaign]:
    return Campaign.objects.filter(app=app).order_by("-created_at", "-pk")


def campaign_get(*, app: App, campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(app=app, pk=campaign_id).select_related("app").first()


def campaign_deliveries(*, campaign: Campaign) -> QuerySet[Delivery]:
    return campaign.deliveries.order_by("-created_at", "-pk")


def campaign_stats(*, campaign: Campaign) -> dict:
    """Deliveries per status, opens and the open rate, in one query."""
    counts = campaign.deliveries.filter(is_test=False).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in Delivery.Status.values},
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
    )
    counts["open_rate"] = round(counts["opened"] / counts["sent"], 4) if counts["sent"] else 0.0
    return counts


def campaigns_recent(*, apps: QuerySet[App], limit: int = 5) -> list[tuple[Campaign, dict]]:
    """The newest campaigns, each with its campaign_stats (one query per campaign, on the
    (campaign, status) index)."""
    campaigns = Campaign.objects.filter(app__in=apps).select_related("app")
    recent = campaigns.order_by("-created_at", "-pk")[:limit]
    return [(campaign, campaign_stats(campaign=campaign)) for campaign in recent]


def push_policy_get(*, app: App) -> PushPolicy:
    return PushPolicy.objects.filter(app=app).first() or PushPolicy(app=app)
