"""Schemathesis over the whole API (issue 15): no input answers 5xx, and every answer matches the
published schema, with an admin key and with an ingest key.

A bounded run (a few minutes in all) is part of `make test`. BEACON_FUZZ_EXAMPLES and
BEACON_FUZZ_STEPS scale it up, BEACON_FUZZ_SEED picks the seed ("random": a new one), and
BEACON_FUZZ_REPORT names a JSON-lines file the figures are appended to: bench/fuzz_api.py runs it
that way, for longer.
"""

from __future__ import annotations

import json
import os

import pytest

from campaigns.services.policy import push_policy_update
from contacts.models import ApiKey
from contacts.services.apps import api_key_create, app_create
from dashboard.services import insight_create
from events.models import EventType
from segments.services import segment_create, segment_refresh
from tests.campaigns.factories import active_campaign, subscribe, track
from tests.campaigns.push_service import LocalPushService
from tests.fuzz.harness import fuzz_api

MAX_EXAMPLES = int(os.environ.get("BEACON_FUZZ_EXAMPLES", "5"))
STATEFUL_STEPS = int(os.environ.get("BEACON_FUZZ_STEPS", "8"))
# A fixed seed by default, so that `make test` is repeatable; "random" for a new one each run.
_SEED = os.environ.get("BEACON_FUZZ_SEED", "20261202")
SEED = None if _SEED == "random" else int(_SEED)
REPORT = os.environ.get("BEACON_FUZZ_REPORT")
# What an ingest key may call; it gets 403 elsewhere whatever it sends.
INGEST_PATHS = r"^/(api/v1/(events|events/batch|push/config)|v1/[a-z]+)$"


def _fill(app, push_service) -> None:
    """Rows for the fuzzer to find by id: contacts with a device and events, a campaign, a
    segment, an insight, a push policy."""
    subscribe(app, f"{app.tenant_id}-user", subscription=push_service.subscription())
    track(app, f"{app.tenant_id}-user", "purchase_completed", amount=12.5, sku="A-1")
    track(app, f"{app.tenant_id}-other-user", "page_viewed", path="/")
    active_campaign(app, name=f"{app.tenant_id} campaign")
    segment = segment_create(app=app, name="Reachable", conditions={"type": "device"})
    segment_refresh(segment=segment)
    insight_create(
        app=app,
        name="Sales by SKU",
        event_type=EventType.objects.get(app=app, name="purchase_completed"),
        measure="sum",
        param="amount",
        split_param="sku",
        segment=segment,
    )
    push_policy_update(app=app, daily_cap=3)


@pytest.fixture
def fuzz_target(transactional_db, live_server, settings):
    settings.WEBPUSH_ALLOW_HTTP_LOCALHOST = True
    with LocalPushService() as push_service:
        app = app_create(name="Fuzz", tenant_id="fuzz")
        # Another app's rows: the fuzzer must never reach them with this app's keys.
        other = app_create(name="Other", tenant_id="other")
        for each in (app, other):
            _fill(each, push_service)
        yield live_server.url, app


@pytest.mark.parametrize("scope", [ApiKey.Scope.ADMIN, ApiKey.Scope.INGEST])
def test_no_input_answers_5xx_or_breaks_the_schema(fuzz_target, scope):
    base_url, app = fuzz_target
    _, raw_key = api_key_create(app=app, name=f"fuzz {scope}", scope=scope)
    report = fuzz_api(
        base_url,
        api_key=raw_key,
        label=f"{scope} key",
        max_examples=MAX_EXAMPLES,
        stateful_steps=STATEFUL_STEPS,
        seed=SEED,
        coverage_paths=INGEST_PATHS if scope == ApiKey.Scope.INGEST else None,
    )
    print(report.summary())
    if REPORT:
        with open(REPORT, "a") as out:
            out.write(json.dumps(report.as_dict()) + "\n")
    assert report.requests, "schemathesis sent no request"
    assert report.ok, report.summary()
