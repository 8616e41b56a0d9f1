"""Schemathesis over the live OpenAPI schema of a running Beacon, with one API key.

Every phase runs (examples, coverage, fuzzing, stateful) with every check, and the run is
summarised as figures: requests sent, 5xx answers and check failures per operation, each failure
with a curl command that reproduces it. The bounded run of `make test` and the longer run of
bench/fuzz_api.py share this module.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events

SCHEMA_PATH = "/api/v1/schema"
REPRODUCTIONS_KEPT = 3  # per (operation, kind of failure)


@dataclass
class FuzzReport:
    label: str
    seed: int | None = None
    requests: Counter = field(default_factory=Counter)  # operation -> requests sent
    server_errors: Counter = field(default_factory=Counter)  # operation -> 5xx answers
    failures: Counter = field(default_factory=Counter)  # (operation, check title) -> count
    examples: dict = field(default_factory=dict)  # (operation, title) -> [curl + reason]
    errors: list = field(default_factory=list)  # schemathesis' own errors (not API failures)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.server_errors or self.failures or self.errors)

    def summary(self) -> str:
        lines = [
            f"{self.label}: {sum(self.requests.values())} requests, "
            f"{sum(self.server_errors.values())} HTTP 5xx, "
            f"{sum(self.failures.values())} check failures, {len(self.errors)} errors, "
            f"{self.seconds:.0f} s, seed {self.seed}"
        ]
        for operation, count in self.server_errors.most_common():
            lines.append(f"  5xx {count:5d}  {operation}")
        for (operation, title), count in self.failures.most_common():
            lines.append(f"  failure {count:5d}  {operation}: {title}")
            lines.extend(f"      {example}" for example in self.examples[(operation, title)])
        lines.extend(f"  error: {error}" for error in self.errors)
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "label": self.label,
            "requests": sum(self.requests.values()),
            "server_errors": sum(self.server_errors.values()),
            "check_failures": sum(self.failures.values()),
            "errors": len(self.errors),
            "seconds": round(self.seconds, 1),
            "summary": self.summary(),
            "server_errors_by_operation": dict(self.server_errors),
            "failures_by_operation": {
                f"{op}: {title}": n for (op, title), n in self.failures.items()
            },
        }


# Writes that refuse schema-valid input for a rule OpenAPI can't state (cross-field or stateful),
# with a 400 naming the field; positive_data_acceptance takes that 400 there and nowhere else.
BUSINESS_RULES = {
    ("POST", "/api/v1/campaigns"): "the kind's fields, quiet hours in pairs, Liquid templates",
    ("PATCH", "/api/v1/campaigns/{campaign_id}"): "the same, and an archived campaign is frozen",
    ("POST", "/api/v1/campaigns/{campaign_id}/activate"): "only from some statuses",
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): "only an active campaign",
    ("POST", "/api/v1/campaigns/{campaign_id}/archive"): "only from some statuses",
    ("POST", "/api/v1/campaigns/{campaign_id}/preview"): "templates that render",
    ("POST", "/api/v1/campaigns/{campaign_id}/test"): "a contact with a push-permitted device",
    ("POST", "/api/v1/segments"): "the condition tree (docs/segments.md)",
    ("PATCH", "/api/v1/segments/{segment_id}"): "the condition tree",
    ("DELETE", "/api/v1/segments/{segment_id}"): "not while another segment or a campaign uses it",
    ("POST", "/api/v1/segments/preview"): "the condition tree",
    ("GET", "/api/v1/segments/{segment_id}/explain"): "?contact= names a contact of the app",
    ("PATCH", "/api/v1/contacts/{contact_id}"): "a valid email, an external_id free in the app",
    ("POST", "/api/v1/contacts/{contact_id}/events"): "event names and param types, as tracked",
    ("POST", "/api/v1/event-types"): "event name rules, a name not taken, no attribute twice",
    ("PATCH", "/api/v1/event-types/{event_type_id}"): "the segmentation cap per app",
    ("POST", "/api/v1/event-types/{event_type_id}/attributes"): "a declared type is kept",
    ("PATCH", "/api/v1/event-types/{event_type_id}/attributes/{attribute_id}"): "the same",
    ("POST", "/api/v1/events"): "event names and param types, event_time or timestamp",
    ("POST", "/api/v1/events/batch"): "event names and param types, event_time or timestamp",
    ("PUT", "/api/v1/push/credentials/fcm"): "a service account's JSON key, not any JSON",
    ("PUT", "/api/v1/push/credentials/apns"): "Apple's id formats, a P-256 key, the key at first",
    ("PUT", "/api/v1/push/credentials/onesignal"): "a UUID app id, a key at first",
    ("POST", "/api/v1/insights"): "the app's event type and segment, the measure's param, a range",
    ("PATCH", "/api/v1/insights/{insight_id}"): "the same, over the whole chart",
    ("GET", "/api/v1/insights/{insight_id}/data"): "from and to together, in order, 800 buckets",
}
# DELETE /campaigns/{id} archives a campaign that ran instead (its delivery log stays), so it is
# still there to read: a documented soft delete, not a use after free.
SOFT_DELETED_READS = [
    "/api/v1/campaigns/{campaign_id}",
    "/api/v1/campaigns/{campaign_id}/stats",
    "/api/v1/campaigns/{campaign_id}/deliveries",
]
POSITIVE_STATUSES = ["2xx", "401", "403", "404", "409", "429", "5xx"]


def _operation_settings(coverage_paths: str | None) -> list[dict]:
    business = [
        {
            "include-method": method,
            "include-path": path,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES + [400]}
            },
        }
        for method, path in BUSINESS_RULES
    ]
    soft_deleted = [
        {
            "include-method": "GET",
            "include-path": path,
            "checks": {"use_after_free": {"enabled": False}},
        }
        for path in SOFT_DELETED_READS
    ]
    if coverage_paths is None:
        return business + soft_deleted
    elsewhere = {"exclude-path-regex": coverage_paths, "phases": {"coverage": {"enabled": False}}}
    return business + soft_deleted + [elsewhere]


def fuzz_config(
    *,
    api_key: str,
    max_examples: int,
    stateful_steps: int,
    seed: int | None,
    max_time: int | None,
    coverage_paths: str | None,
) -> SchemathesisConfig:
    """All phases and all checks, one worker (the server may be a test's live server)."""
    settings = {
        "suppress-health-check": ["all"],
        "cache": {"enabled": False},  # each run starts afresh (and leaves no .schemathesis/)
        # The reproductions show what was sent (the keys are a test database's).
        "output": {"sanitization": {"enabled": False}},
        "headers": {"Authorization": f"Bearer {api_key}"},
        "workers": 1,
        "continue-on-failure": True,
        "request-timeout": 30,
        "checks": {"enabled": True},
        "operations": _operation_settings(coverage_paths),
        "generation": {"max-examples": max_examples, "database": "none"},
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": True, "max-steps": stateful_steps},
        },
    }
    if seed is not None:
        settings["seed"] = seed
    if max_time is not None:
        settings["max-time"] = max_time
    return SchemathesisConfig.from_dict(settings)


def fuzz_api(
    base_url: str,
    *,
    api_key: str,
    label: str,
    max_examples: int,
    stateful_steps: int = 20,
    seed: int | None = None,
    max_time: int | None = None,
    coverage_paths: str | None = None,
) -> FuzzReport:
    """Run schemathesis against the server at `base_url` with `api_key`; the figures.

    `coverage_paths` (a regex) limits the coverage phase, whose boundary values don't depend on
    `max_examples`, to those paths: an ingest key's requests to admin endpoints are refused
    before their input is read."""
    config = fuzz_config(
        api_key=api_key,
        max_examples=max_examples,
        stateful_steps=stateful_steps,
        seed=seed,
        max_time=max_time,
        coverage_paths=coverage_paths,
    )
    schema = schemathesis.openapi.from_url(base_url.rstrip("/") + SCHEMA_PATH, config=config)
    schema.config.base_url = base_url.rstrip("/")
    report = FuzzReport(label=label, seed=config.seed)
    lock = threading.Lock()

    @schema.hook
    def after_call(context, case, response) -> None:
        operation = case.operation.label
        with lock:
            report.requests[operation] += 1
            if response.status_code >= 500:
                report.server_errors[operation] += 1

    for event in schemathesis.engine.from_schema(schema).execute():
        _collect(report, event)
    return report


def _collect(report: FuzzReport, event) -> None:
    if isinstance(event, events.ScenarioFinished):
        for case_id, checks in event.recorder.checks.items():
            for check in checks:
                if check.status == Status.FAILURE and check.failure_info is not None:
                    _record_failure(report, check.failure_info, event.recorder, case_id)
    elif isinstance(event, events.NonFatalError):
        report.errors.append(f"{event.label}: {event.info.format()}"[:2000])
    elif isinstance(event, events.FatalError):
        report.errors.append(f"fatal: {event.exception!r}")
    elif isinstance(event, events.EngineFinished):
        report.seconds = event.running_time


def _record_failure(report: FuzzReport, info, recorder, case_id: str) -> None:
    failure = info.failure
    operation = failure.operation or recorder.label
    key = (operation, failure.title)
    report.failures[key] += 1
    kept = report.examples.setdefault(key, [])
    if len(kept) < REPRODUCTIONS_KEPT:
        response = recorder.find_response(case_id=case_id)
        answer = f"{response.status_code} {response.text[:300]!r}" if response is not None else ""
        kept.append(f"{info.code_sample}\n        -> {answer}\n        {failure.message[:500]}")
