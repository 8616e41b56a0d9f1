"""Property-based: on random data ingested through the real pipeline and random condition trees,
the SQL engine selects exactly the contacts the reference evaluator (docs/segments.md) selects.

SEGMENT_EXAMPLES=1000 runs more examples than the default, to hunt for disagreements."""

from __future__ import annotations

import json
import os

from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from contacts.models import App, Contact, Device
from segments.conditions.validation import conditions_validate
from segments.models import Segment
from tests.segments.helpers import attribute_declare, engine_members, ingest
from tests.segments.reference import evaluate, load_from_database
from tests.segments.strategies import NOWS, Scenario, Trees, anchors, scenarios

EXAMPLES = int(os.environ.get("SEGMENT_EXAMPLES", "60"))
TREES_PER_EXAMPLE = 15
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    # No shrinking: it takes minutes over ingested data sets; a failure reports the smallest
    # disagreeing node of the tree and the data of the contacts involved instead.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
# "level" is stored as numbers, then strings, then booleans, its declared type changing in
# between, so that filters meet values of another type than the attribute's.
LEVEL_PHASES = {int: "number", float: "number", str: "string", bool: "boolean"}
# Declared before any event, so that a tree may filter on them even if no event sends them.
ARRAYS = {"string_tags": "string", "int_sizes": "number"}


def arrays_declare(app: App) -> None:
    for name, type_ in ARRAYS.items():
        attribute_declare(app=app, name=name, type_=type_, is_array=True)


def scenario_store(app: App, scenario: Scenario) -> None:
    app.timezone = scenario.timezone_name
    app.save(update_fields=["timezone"])
    arrays_declare(app)
    phases = {"number": [], "string": [], "boolean": []}
    for user, name, moment, params in scenario.events:
        phase = LEVEL_PHASES[type(params["level"])] if "level" in params else "number"
        phases[phase].append(_payload(user, name, moment, params))
    for type_, payloads in phases.items():
        attribute_declare(app=app, name="level", type_=type_)
        if payloads:
            ingest(app=app, payloads=payloads)
    attribute_declare(app=app, name="level", type_=scenario.level_type)
    for user, fields in scenario.contacts.items():
        contact = _contact(app, user)
        Contact.objects.filter(pk=contact.pk).update(
            email=fields.email,
            phone=fields.phone,
            country=fields.country,
            language=fields.language,
            timezone=fields.timezone,
            created_at=fields.created_at,
            custom_fields=fields.custom_fields,
        )
        for index, (platform, granted, invalidated) in enumerate(fields.devices):
            Device.objects.create(
                app=app,
                contact=contact,
                token=f"{user}-{index}",
                platform=platform,
                push_permission_granted=granted,
                invalidated_at=scenario.now if invalidated else None,
            )


def _payload(user, name, moment, params) -> dict:
    identity = {"anonymous_id": "anon-1"} if user == "anon" else {"app_user_id": user}
    return {"event_name": name, "event_time": moment.isoformat(), "params": params, **identity}


def _contact(app: App, user: str) -> Contact:
    if user == "ghost":
        return Contact.objects.create(app=app)
    if user == "anon":
        return Contact.objects.get(app=app, anonymous_id="anon-1")
    return Contact.objects.get(app=app, external_id=user)


def segments_store(app: App, data, trees: Trees) -> None:
    """Two segments, and a third that may refer to them, for segment conditions to use."""
    for _ in range(3):
        conditions = data.draw(trees.tree(depth=2))
        segment = Segment.objects.create(app=app, name="s", conditions=conditions)
        trees.segment_ids.append(segment.pk)


def share(selected: set[int], contacts: list) -> str:
    return "none" if not selected else "all" if len(selected) == len(contacts) else "some"


def smallest_disagreement(app: App, tree: dict, now, loaded: dict) -> dict:
    """The smallest node of `tree` on which the engine and the reference disagree (the tree
    itself when only the whole does): a readable failure without a long shrink."""
    for node in sorted(subtrees(tree), key=lambda n: len(json.dumps(n))):
        engine = engine_members(app=app, conditions=node, now=now)
        if engine != evaluate(node, now=now, **loaded):
            return node
    return tree


def subtrees(node: dict) -> list[dict]:
    children = node.get("conditions") or ([node["condition"]] if "condition" in node else [])
    return [node, *(sub for child in children for sub in subtrees(child))]


def mismatch(app: App, tree: dict, now, loaded: dict) -> str:
    """The smallest disagreeing node, and everything about the contacts it is about."""
    node = smallest_disagreement(app, tree, now, loaded)
    engine = engine_members(app=app, conditions=node, now=now)
    reference = evaluate(node, now=now, **loaded)
    lines = [
        f"now: {now.isoformat()} in {loaded['timezone_name']}",
        f"tree: {json.dumps(tree)}",
        f"smallest disagreeing node: {json.dumps(node)}",
        f"engine only: {engine - reference}, reference only: {reference - engine}",
        f"segments: {loaded['segments']}",
    ]
    for contact in loaded["contacts"]:
        if contact.id in engine ^ reference:
            lines.append(f"contact: {contact}")
            lines += [
                f"  {e.name} {e.occurred_at.isoformat()} {e.params}"
                for e in loaded["events"]
                if e.contact_id == contact.id
            ]
    return "\n".join(lines)


@SETTINGS
@given(scenario=scenarios(), data=st.data())
def test_the_engine_selects_the_contacts_the_reference_selects(segmentable_app, scenario, data):
    app = segmentable_app
    with transaction.atomic():
        scenario_store(app, scenario)
        trees = Trees(
            points=scenario.points, level_type=scenario.level_type, moments=scenario.moments()
        )
        segments_store(app, data, trees)
        loaded = load_from_database(app)
        ids = [contact.id for contact in loaded["contacts"]]
        for tree in data.draw(st.lists(trees.tree(), min_size=5, max_size=TREES_PER_EXAMPLE)):
            engine = engine_members(app=app, conditions=tree, now=scenario.now)
            reference = evaluate(tree, now=scenario.now, **loaded)
            assert engine == reference, mismatch(app, tree, scenario.now, loaded)
            event(f"selects {share(reference, loaded['contacts'])} of the contacts")
            # Restricted to some contacts, as the incremental update evaluates trees.
            some = data.draw(st.sets(st.sampled_from(ids))) if ids else set()
            restricted = engine_members(
                app=app, conditions=tree, now=scenario.now, contact_ids=some
            )
            assert restricted == reference & some, mismatch(app, tree, scenario.now, loaded)
        transaction.set_rollback(True)  # examples never see each other's rows


@SETTINGS
@given(level_type=st.sampled_from(("number", "string", "boolean")), data=st.data())
def test_the_generated_trees_are_valid(segmentable_app, level_type, data):
    """The trees above are ones the contract allows; validation must accept them."""
    app = segmentable_app
    with transaction.atomic():
        attribute_declare(app=app, name="level", type_=level_type)
        arrays_declare(app)
        ids = [
            Segment.objects.create(
                app=app, name="s", conditions={"type": "device", "platform": "web"}
            ).pk
        ]
        trees = Trees(points=anchors(NOWS[0], "UTC"), level_type=level_type, segment_ids=ids)
        for tree in data.draw(st.lists(trees.tree(), min_size=1, max_size=20)):
            try:
                conditions_validate(app=app, conditions=tree)
            except ValidationError as exc:
                raise AssertionError(f"{json.dumps(tree)} refused: {exc.message_dict}") from None
        transaction.set_rollback(True)
