"""The segments API: manage segments, preview a tree, list members, refresh, explain a
contact's membership, size over time, and a contact's segments."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from contacts.api.views import contact_or_400, contact_or_404
from segments.api.serializers import (
    ContactSampleSerializer,
    ContactSegmentSerializer,
    RefreshScheduledSerializer,
    SegmentExplainOutputSerializer,
    SegmentExplainQuerySerializer,
    SegmentHistoryOutputSerializer,
    SegmentHistoryQuerySerializer,
    SegmentInputSerializer,
    SegmentMemberSerializer,
    SegmentOutputSerializer,
    SegmentPreviewInputSerializer,
    SegmentPreviewOutputSerializer,
)
from segments.conditions.explain import segment_explain
from segments.filters import SegmentFilter
from segments.models import Segment, SegmentMembership
from segments.selectors import (
    contact_segment_list,
    segment_get,
    segment_history,
    segment_list,
    segment_member_list,
    segment_preview,
)
from segments.services import (
    segment_create,
    segment_delete,
    segment_schedule_refresh,
    segment_update,
)

PREVIEW_SAMPLE_SIZE = 10


def segment_or_404(request, segment_id: int) -> Segment:
    """The caller's app's segment; another app's segment is as unknown as a missing one."""
    segment = segment_get(app=request.user.app, segment_id=segment_id)
    if segment is None:
        raise NotFound("no such segment")
    return segment


class SegmentListView(generics.ListAPIView):
    serializer_class = SegmentOutputSerializer
    filterset_class = SegmentFilter
    queryset = Segment.objects.none()  # for the schema only; get_queryset scopes to the app

    def get_queryset(self):
        return segment_list(app=self.request.user.app).order_by("name", "id")

    @extend_schema(request=SegmentInputSerializer, responses={201: SegmentOutputSerializer})
    def post(self, request):
        data = validated(SegmentInputSerializer, request.data)
        segment = segment_create(app=request.user.app, **data)
        return Response(SegmentOutputSerializer(segment).data, status=status.HTTP_201_CREATED)


class SegmentDetailView(APIView):
    @extend_schema(responses={200: SegmentOutputSerializer})
    def get(self, request, segment_id: int):
        return Response(SegmentOutputSerializer(segment_or_404(request, segment_id)).data)

    @extend_schema(request=SegmentInputSerializer, responses={200: SegmentOutputSerializer})
    def patch(self, request, segment_id: int):
        segment = segment_or_404(request, segment_id)
        data = validated(SegmentInputSerializer, request.data, partial=True)
        segment = segment_update(segment=segment, **data)
        return Response(SegmentOutputSerializer(segment).data)

    @extend_schema(responses={204: None})
    def delete(self, request, segment_id: int):
        segment_delete(segment=segment_or_404(request, segment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SegmentPreviewView(APIView):
    @extend_schema(
        request=SegmentPreviewInputSerializer, responses={200: SegmentPreviewOutputSerializer}
    )
    def post(self, request):
        """Count the contacts a tree matches now, with a sample; nothing is saved."""
        data = validated(SegmentPreviewInputSerializer, request.data)
        count, sample = segment_preview(
            app=request.user.app, conditions=data["conditions"], sample_size=PREVIEW_SAMPLE_SIZE
        )
        return Response({"count": count, "sample": ContactSampleSerializer(sample, many=True).data})


class SegmentContactsView(generics.ListAPIView):
    """The segment's members as of its last computation, latest entries first."""

    serializer_class = SegmentMemberSerializer
    queryset = SegmentMembership.objects.none()  # for the schema only

    def get_queryset(self):
        return segment_member_list(segment=segment_or_404(self.request, self.kwargs["segment_id"]))


class SegmentRefreshView(APIView):
    @extend_schema(request=None, responses={202: RefreshScheduledSerializer})
    def post(self, request, segment_id: int):
        """Recompute the segment's members in the background."""
        segment = segment_or_404(request, segment_id)
        segment_schedule_refresh(segment=segment)
        return Response({"status": "scheduled"}, status=status.HTTP_202_ACCEPTED)


class SegmentExplainView(APIView):
    @extend_schema(
        parameters=[SegmentExplainQuerySerializer],
        responses={200: SegmentExplainOutputSerializer},
    )
    def get(self, request, segment_id: int):
        """Why a contact is or is not in the segment now: the tree with each node's value."""
        segment = segment_or_404(request, segment_id)
        query = validated(SegmentExplainQuerySerializer, request.query_params)
        contact = contact_or_400(request, query["contact"], field="contact")
        return Response(segment_explain(segment=segment, contact=contact))


class SegmentHistoryView(APIView):
    @extend_schema(
        parameters=[SegmentHistoryQuerySerializer],
        responses={200: SegmentHistoryOutputSerializer},
    )
    def get(self, request, segment_id: int):
        """Entries, exits and size for each of the last `days` days (the app's timezone)."""
        segment = segment_or_404(request, segment_id)
        query = validated(SegmentHistoryQuerySerializer, request.query_params)
        points = segment_history(segment=segment, days=query["days"])
        history = {"segment": segment.pk, "points": points}
        return Response(SegmentHistoryOutputSerializer(history).data)


class ContactSegmentsView(generics.ListAPIView):
    """The segments a contact is in (as of their last computation)."""

    serializer_class = ContactSegmentSerializer
    queryset = SegmentMembership.objects.none()  # for the schema only

    def get_queryset(self):
        contact = contact_or_404(self.request, self.kwargs["contact_id"])
        return contact_segment_list(contact=contact)
