from django.urls import path

from campaigns.api import credentials, views

urlpatterns = [
    path("campaigns", views.CampaignListView.as_view(), name="campaign-list"),
    path("campaigns/<int:campaign_id>", views.CampaignDetailView.as_view(), name="campaign-detail"),
    path(
        "campaigns/<int:campaign_id>/activate",
        views.CampaignActivateView.as_view(),
        name="campaign-activate",
    ),
    path(
        "campaigns/<int:campaign_id>/pause",
        views.CampaignPauseView.as_view(),
        name="campaign-pause",
    ),
    path(
        "campaigns/<int:campaign_id>/archive",
        views.CampaignArchiveView.as_view(),
        name="campaign-archive",
    ),
    path(
        "campaigns/<int:campaign_id>/stats",
        views.CampaignStatsView.as_view(),
        name="campaign-stats",
    ),
    path(
        "campaigns/<int:campaign_id>/deliveries",
        views.CampaignDeliveriesView.as_view(),
        name="campaign-deliveries",
    ),
    path(
        "campaigns/<int:campaign_id>/preview",
        views.CampaignPreviewView.as_view(),
        name="campaign-preview",
    ),
    path(
        "campaigns/<int:campaign_id>/test", views.CampaignTestView.as_view(), name="campaign-test"
    ),
    path("push/policy", views.PushPolicyView.as_view(), name="push-policy"),
    path("push/credentials", credentials.PushCredentialsView.as_view(), name="push-credentials"),
    path(
        "push/credentials/fcm",
        credentials.FcmCredentialsView.as_view(),
        name="push-credentials-fcm",
    ),
    path(
        "push/credentials/apns",
        credentials.ApnsCredentialsView.as_view(),
        name="push-credentials-apns",
    ),
    path(
        "push/credentials/onesignal",
        credentials.OneSignalCredentialsView.as_view(),
        name="push-credentials-onesignal",
    ),
    path("push/opened", views.PushOpenedView.as_view(), name="push-opened"),
]
