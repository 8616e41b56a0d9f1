"""The campaigns API: manage campaigns, activate / pause / archive, stats, the delivery log,
message preview and test sends; and the open report of the service worker."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.api import serializers as s
from campaigns.filters import CampaignFilter, DeliveryFilter
from campaigns.models import Campaign, Delivery
from campaigns.selectors import (
    campaign_deliveries,
    campaign_get,
    campaign_list,
    campaign_stats,
    push_policy_get,
)
from campaigns.services.campaigns import (
    campaign_activate,
    campaign_archive,
    campaign_create,
    campaign_delete,
    campaign_pause,
    campaign_update,
)
from campaigns.services.opens import delivery_open
from campaigns.services.policy import push_policy_update
from campaigns.services.previews import campaign_preview, campaign_send_test
from config.api import validated
from contacts.api.views import contact_or_400


def campaign_or_404(request, campaign_id: int) -> Campaign:
    """The caller's app's campaign; another app's campaign is as unknown as a missing one."""
    campaign = campaign_get(app=request.user.app, campaign_id=campaign_id)
    if campaign is None:
        raise NotFound("no such campaign")
    return campaign


def _output(campaign: Campaign) -> Response:
    return Response(s.CampaignOutputSerializer(campaign).data)


class CampaignListView(generics.ListAPIView):
    serializer_class = s.CampaignOutputSerializer
    filterset_class = CampaignFilter
    queryset = Campaign.objects.none()  # for the schema only; get_queryset scopes to the app

    def get_queryset(self):
        return campaign_list(app=self.request.user.app)

    @extend_schema(request=s.CampaignInputSerializer, responses={201: s.CampaignOutputSerializer})
    def post(self, request):
        data = validated(s.CampaignInputSerializer, request.data)
        campaign = campaign_create(app=request.user.app, **data)
        return Response(s.CampaignOutputSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(APIView):
    @extend_schema(responses={200: s.CampaignOutputSerializer})
    def get(self, request, campaign_id: int):
        return _output(campaign_or_404(request, campaign_id))

    @extend_schema(request=s.CampaignInputSerializer, responses={200: s.CampaignOutputSerializer})
    def patch(self, request, campaign_id: int):
        campaign = campaign_or_404(request, campaign_id)
        data = validated(s.CampaignInputSerializer, request.data, partial=True)
        return _output(campaign_update(campaign=campaign, **data))

    @extend_schema(responses={204: None})
    def delete(self, request, campaign_id: int):
        """Delete a draft; a campaign that ran is archived instead (its log stays)."""
        campaign_delete(campaign=campaign_or_404(request, campaign_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _StatusAction(APIView):
    service = None

    @extend_schema(request=None, responses={200: s.CampaignOutputSerializer})
    def post(self, request, campaign_id: int):
        return _output(type(self).service(campaign=campaign_or_404(request, campaign_id)))


class CampaignActivateView(_StatusAction):
    """Start (or resume) the campaign: a broadcast goes out at send_at or now."""

    service = campaign_activate


class CampaignPauseView(_StatusAction):
    """Nothing new is scheduled or sent until it is activated again."""

    service = campaign_pause


class CampaignArchiveView(_StatusAction):
    """End the campaign for good; what was still scheduled is cancelled."""

    service = campaign_archive


class CampaignStatsView(APIView):
    @extend_schema(responses={200: s.CampaignStatsSerializer})
    def get(self, request, campaign_id: int):
        """Deliveries per status (test sends excluded), opens and the open rate."""
        return Response(campaign_stats(campaign=campaign_or_404(request, campaign_id)))


class CampaignDeliveriesView(generics.ListAPIView):
    """The delivery log, newest first; filter by status."""

    serializer_class = s.DeliveryOutputSerializer
    filterset_class = DeliveryFilter
    queryset = Delivery.objects.none()  # for the schema only

    def get_queryset(self):
        campaign = campaign_or_404(self.request, self.kwargs["campaign_id"])
        return campaign_deliveries(campaign=campaign)


class CampaignPreviewView(APIView):
    @extend_schema(
        request=s.CampaignPreviewInputSerializer, responses={200: s.CampaignPreviewOutputSerializer}
    )
    def post(self, request, campaign_id: int):
        """Render the message for a contact (optional) and a sample event's params."""
        campaign = campaign_or_404(request, campaign_id)
        data = validated(s.CampaignPreviewInputSerializer, request.data)
        contact_id = data.get("contact_id")
        contact = None
        if contact_id is not None:
            contact = contact_or_400(request, contact_id, field="contact_id")
        return Response(
            campaign_preview(
                campaign=campaign, contact=contact, event_params=data.get("event_params")
            )
        )


class CampaignTestView(APIView):
    @extend_schema(
        request=s.CampaignTestInputSerializer, responses={202: s.CampaignTestOutputSerializer}
    )
    def post(self, request, campaign_id: int):
        """Send the campaign's message to one contact's devices now (any status, no rules)."""
        campaign = campaign_or_404(request, campaign_id)
        data = validated(s.CampaignTestInputSerializer, request.data)
        contact = contact_or_400(request, data["contact_id"], field="contact_id")
        result = campaign_send_test(
            campaign=campaign, contact=contact, event_params=data.get("event_params")
        )
        return Response({"scheduled": result.scheduled}, status=status.HTTP_202_ACCEPTED)


class PushPolicyView(APIView):
    @extend_schema(responses={200: s.PushPolicySerializer})
    def get(self, request):
        """App-wide rules across campaigns: the daily cap per contact, and which service sends
        to iOS devices that did not name one."""
        return Response(s.PushPolicySerializer(push_policy_get(app=request.user.app)).data)

    @extend_schema(request=s.PushPolicySerializer, responses={200: s.PushPolicySerializer})
    def put(self, request):
        data = validated(s.PushPolicySerializer, request.data)
        policy = push_policy_update(
            app=request.user.app,
            daily_cap=data.get("daily_cap"),
            ios_provider=data.get("ios_provider"),
        )
        return Response(s.PushPolicySerializer(policy).data)


class PushOpenedView(APIView):
    """The service worker's (or the app's) click report. The open token in the push payload is
    the only credential: no API key (the worker runs on the customer's site). `button`: the id
    of the action button clicked, if one was; a track_event button also records its event."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=s.OpenInputSerializer,
        responses={
            200: s.OpenOutputSerializer,
            404: OpenApiResponse(description="No delivery has this token (`not_found`)"),
        },
        auth=[],
    )
    def post(self, request):
        data = validated(s.OpenInputSerializer, request.data)
        delivery = delivery_open(token=data["token"], button=data.get("button", ""))
        if delivery is None:
            raise NotFound("no delivery has this token")
        return Response({"opened_at": delivery.opened_at})
