"""The insights API: manage the dashboard's saved charts as the admin does, and read a chart's
figures as the dashboard draws them."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import validated
from dashboard.api.serializers import (
    InsightDataQuerySerializer,
    InsightDataSerializer,
    InsightInputSerializer,
    InsightOutputSerializer,
)
from dashboard.insights import insight_data, insight_get, insight_list
from dashboard.models import Insight
from dashboard.services import insight_create, insight_delete, insight_update


def insight_or_404(request, insight_id: int) -> Insight:
    """The caller's app's insight; another app's insight is as unknown as a missing one."""
    insight = insight_get(app=request.user.app, insight_id=insight_id)
    if insight is None:
        raise NotFound("no such insight")
    return insight


def _input(request, **kwargs) -> dict:
    return validated(
        InsightInputSerializer, request.data, context={"app": request.user.app}, **kwargs
    )


class InsightListView(generics.ListAPIView):
    """The app's insights in their order on the dashboard."""

    serializer_class = InsightOutputSerializer
    queryset = Insight.objects.none()  # for the schema only; get_queryset scopes to the app

    def get_queryset(self):
        return insight_list(app=self.request.user.app)

    @extend_schema(request=InsightInputSerializer, responses={201: InsightOutputSerializer})
    def post(self, request):
        """A new chart, last on the dashboard unless `position` says where."""
        insight = insight_create(app=request.user.app, **_input(request))
        return Response(InsightOutputSerializer(insight).data, status=status.HTTP_201_CREATED)


class InsightDetailView(APIView):
    @extend_schema(responses={200: InsightOutputSerializer})
    def get(self, request, insight_id: int):
        return Response(InsightOutputSerializer(insight_or_404(request, insight_id)).data)

    @extend_schema(request=InsightInputSerializer, responses={200: InsightOutputSerializer})
    def patch(self, request, insight_id: int):
        insight = insight_or_404(request, insight_id)
        insight = insight_update(insight=insight, **_input(request, partial=True))
        return Response(InsightOutputSerializer(insight).data)

    @extend_schema(responses={204: None})
    def delete(self, request, insight_id: int):
        insight_delete(insight=insight_or_404(request, insight_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class InsightDataView(APIView):
    @extend_schema(parameters=[InsightDataQuerySerializer], responses={200: InsightDataSerializer})
    def get(self, request, insight_id: int):
        """The chart's figures now, as the dashboard draws them: the period's total, and a
        value per bucket in each series (one, or one per top value of the split and "other")."""
        insight = insight_or_404(request, insight_id)
        # A dict, not the QueryDict: DRF reads an empty value of a QueryDict (`?from=`) as absent,
        # where the schema says what a date is and "" isn't one.
        query = validated(
            InsightDataQuerySerializer, request.query_params.dict(), context={"insight": insight}
        )
        return Response(insight_data(insight=insight, now=timezone.now(), **query))
