"""WonderPush's attribute formats (docs/events.md): the number prefixes and their ranges,
ignore_, and arrays of a type, through the tracking API and the attribute declarations."""

from __future__ import annotations

import re

import pytest

from events.models import ContactParamStats, Event, EventAttribute, EventType
from events.services.event_types import event_attribute_declare


def stored_params(name="x"):
    return Event.objects.get(event_type__name=name).params


def attribute(name, event="x"):
    return EventAttribute.objects.get(event_type__name=event, name=name)


def events(name="x"):
    return Event.objects.filter(event_type__name=name)


def attributes(event="x"):
    return EventAttribute.objects.filter(event_type__name=event)


def refused(response, field: str, reason: str) -> None:
    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert field in detail, detail
    assert reason in detail[field][0], detail[field]


# Numbers ----------------------------------------------------------------------------------------
def test_every_number_prefix_types_a_number(track):
    params = {"byte_a": "7", "short_b": -300, "long_c": 2**62, "double_d": "0.5", "int_e": 3.0}
    assert track(event_name="x", app_user_id="u", params=params).status_code == 200
    assert stored_params() == {
        "byte_a": 7,
        "short_b": -300,
        "long_c": 2**62,
        "double_d": 0.5,
        "int_e": 3,
    }
    assert {a.name: a.type for a in attributes()} == dict.fromkeys(params, "number")


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [("byte_n", -128, 127), ("short_n", -32768, 32767), ("long_n", -(2**63), 2**63 - 1)],
)
def test_integer_prefixes_take_their_whole_range(track, name, low, high):
    for value in (low, high):
        assert track(event_name="x", params={name: value}).status_code == 200
    assert sorted(e.params[name] for e in events()) == [low, high]


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("byte_n", 128, "from -128 to 127 (byte_)"),
        ("byte_n", -129, "from -128 to 127 (byte_)"),
        ("short_n", "40000", "from -32768 to 32767 (short_)"),
        ("long_n", 2**63, "64 bits"),
        ("byte_n", 1.5, "integer"),
    ],
)
def test_an_integer_out_of_its_prefix_range_is_a_400(track, name, value, reason):
    refused(track(event_name="x", params={name: value}), f"params.{name}", reason)
    assert not events().exists()


def test_int_prefix_keeps_64_bits(track):
    assert track(event_name="x", params={"int_big": 2**40}).status_code == 200
    assert stored_params()["int_big"] == 2**40


# ignore_ ----------------------------------------------------------------------------------------
def test_ignored_params_are_stored_as_sent_and_never_typed_or_counted(track):
    params = {"ignore_raw": "39", "ignore_n": 5, "ignore_blob": [1, {"a": None}], "amount": 2}
    assert track(event_name="x", app_user_id="u", params=params).status_code == 200
    # A second event of another shape: nothing typed them, so nothing refuses it.
    later = {"ignore_raw": {"any": "thing"}, "ignore_n": "five"}
    assert track(event_name="x", app_user_id="u", params=later).status_code == 200
    assert events().order_by("pk").first().params == params
    assert list(attributes().values_list("name", flat=True)) == ["amount"]
    assert list(ContactParamStats.objects.values_list("param", flat=True)) == ["amount"]


def test_an_ignore_param_cannot_be_declared(admin_client, app):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    response = admin_client.post(
        f"/api/v1/event-types/{event_type.pk}/attributes",
        {"name": "ignore_x", "type": "string"},
        format="json",
    )
    refused(response, "name", "ignore_")


# Arrays -----------------------------------------------------------------------------------------
def test_a_prefixed_array_is_an_array_attribute_with_each_element_coerced(track):
    params = {
        "string_tags": ["a", 2],
        "int_sizes": ["38", 39],
        "bool_flags": [True, "no"],
        "date_days": [0],
        "string_empty": [],
    }
    assert track(event_name="x", app_user_id="u", params=params).status_code == 200
    assert stored_params() == {
        "string_tags": ["a", "2"],
        "int_sizes": [38, 39],
        "bool_flags": [True, False],
        "date_days": ["1970-01-01T00:00:00.000000+00:00"],
        "string_empty": [],
    }
    kinds = {a.name: (a.type, a.is_array) for a in attributes()}
    assert kinds == {
        "string_tags": ("string", True),
        "int_sizes": ("number", True),
        "bool_flags": ("boolean", True),
        "date_days": ("date", True),
        "string_empty": ("string", True),
    }
    assert not ContactParamStats.objects.exists()  # an array is not a number


def test_a_single_value_of_an_array_attribute_is_stored_as_an_array_of_one(track):
    track(event_name="x", app_user_id="u", params={"string_tags": ["a"]})
    assert track(event_name="x", app_user_id="u", params={"string_tags": "b"}).status_code == 200
    assert [e.params["string_tags"] for e in events().order_by("pk")] == [["a"], ["b"]]


@pytest.mark.parametrize(
    ("params", "field", "reason"),
    [
        ({"string_tags": ["a", {"b": 1}]}, "params.string_tags[1]", "expected a string"),
        ({"int_sizes": [38, "big"]}, "params.int_sizes[1]", "expected a number"),
        ({"byte_levels": [1, 300]}, "params.byte_levels[1]", "from -128 to 127"),
        ({"string_tags": ["a", None]}, "params.string_tags[1]", "got null"),
        ({"string_tags": [["a"]]}, "params.string_tags[0]", "got an array"),
        ({"date_days": ["2026-01-01T10:00:00"]}, "params.date_days[0]", "offset"),
    ],
)
def test_a_bad_element_is_a_400_naming_it(track, params, field, reason):
    refused(track(event_name="x", params=params), field, reason)
    assert not events().exists()
    assert not attributes().exists()


def test_an_unprefixed_list_stays_json(track):
    track(event_name="x", app_user_id="u", params={"tags": ["a", 1]})
    assert (attribute("tags").type, attribute("tags").is_array) == ("json", False)
    assert stored_params() == {"tags": ["a", 1]}


def test_an_object_prefix_list_stays_json(track):
    track(event_name="x", app_user_id="u", params={"object_items": [{"a": 1}]})
    assert (attribute("object_items").type, attribute("object_items").is_array) == ("json", False)


def test_a_list_for_a_single_value_attribute_is_a_400(track):
    track(event_name="x", app_user_id="u", params={"string_tag": "a"})
    refused(
        track(event_name="x", app_user_id="u", params={"string_tag": ["a"]}),
        "params.string_tag",
        "expected a string, got an array",
    )


def test_a_null_first_value_fixes_no_format(track):
    track(event_name="x", app_user_id="u", params={"string_tags": None})
    assert stored_params() == {"string_tags": None}
    assert not attributes().exists()
    assert track(event_name="x", app_user_id="u", params={"string_tags": ["a"]}).status_code == 200
    assert attribute("string_tags").is_array


def test_a_declared_array_attribute_coerces_unprefixed_params(app, track):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    event_attribute_declare(event_type=event_type, name="sizes", type_="number", is_array=True)
    track(event_name="purchase_completed", app_user_id="u", params={"sizes": ["38", 39.5]})
    assert stored_params("purchase_completed") == {"sizes": [38, 39.5]}


def test_attributes_api_declares_and_shows_arrays(admin_client, app):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    url = f"/api/v1/event-types/{event_type.pk}/attributes"
    response = admin_client.post(
        url, {"name": "sizes", "type": "number", "is_array": True}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json() | {"id": 0} == {
        "id": 0,
        "name": "sizes",
        "type": "number",
        "is_array": True,
        "declared": True,
    }
    detail = f"{url}/{response.json()['id']}"
    # Correcting the type keeps the array flag unless it is given.
    assert admin_client.patch(detail, {"type": "string"}, format="json").json()["is_array"] is True
    assert (
        admin_client.patch(detail, {"type": "string", "is_array": False}, format="json").json()[
            "is_array"
        ]
        is False
    )
    body = admin_client.get(f"/api/v1/event-types/{event_type.pk}").json()
    assert {"name": "sizes", "type": "string", "is_array": False}.items() <= body["attributes"][
        0
    ].items()


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ({"name": "meta", "type": "json", "is_array": True}, "is_array", "not json"),
        ({"name": "sizes", "type": "number", "is_array": "yes"}, "is_array", ""),
    ],
)
def test_attributes_api_refuses_bad_array_declarations(admin_client, app, payload, field, reason):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    response = admin_client.post(
        f"/api/v1/event-types/{event_type.pk}/attributes", payload, format="json"
    )
    refused(response, field, reason)
    assert not event_type.attributes.filter(name=payload["name"]).exists()


def test_the_events_of_a_batch_are_read_as_the_first_one_discovered(ingest_client):
    batch = [
        {"event_name": "x", "app_user_id": "u", "params": {"short_n": i, "string_t": [i]}}
        for i in range(5)
    ]
    response = ingest_client.post("/api/v1/events/batch", {"events": batch}, format="json")
    assert response.status_code == 200, response.content
    assert sorted(e.params["string_t"][0] for e in events()) == ["0", "1", "2", "3", "4"]


# Admin ------------------------------------------------------------------------------------------
@pytest.fixture
def admin(role_client, app):
    return role_client("Admin", app)


def inline_rows(event_type, rows: list[dict]) -> dict:
    data = {
        "category": event_type.category,
        "description": event_type.description,
        "attributes-TOTAL_FORMS": str(len(rows)),
        "attributes-INITIAL_FORMS": "0",
    }
    for n, row in enumerate(rows):
        data.update({f"attributes-{n}-{key}": value for key, value in row.items()})
        data[f"attributes-{n}-event_type"] = str(event_type.pk)
    return data


def test_the_event_type_page_declares_an_array_attribute(admin, app):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    url = f"/admin/events/eventtype/{event_type.pk}/change/"
    row = {"name": "sizes", "type": "number", "is_array": "on"}
    assert admin.post(url, inline_rows(event_type, [row])).status_code == 302
    assert attribute("sizes", "purchase_completed").is_array
    checkbox = re.search(r'<input[^>]*name="attributes-0-is_array"[^>]*>', admin.get(url).text)
    assert checkbox and "checked" in checkbox[0]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        ({"name": "ignore_raw", "type": "string"}, "name", "ignore_"),
        ({"name": "meta", "type": "json", "is_array": "on"}, "is_array", "not json"),
    ],
)
def test_the_admin_refuses_bad_declarations_on_the_form(admin, app, row, field, reason):
    event_type = EventType.objects.get(app=app, name="purchase_completed")
    response = admin.post(
        f"/admin/events/eventtype/{event_type.pk}/change/", inline_rows(event_type, [row])
    )
    assert response.status_code == 200
    [formset] = response.context["inline_admin_formsets"]
    assert reason in " ".join(formset.formset.forms[0].errors[field])
    # the attribute page's own form says the same, never a 500
    response = admin.post("/admin/events/eventattribute/add/", {"event_type": event_type.pk, **row})
    assert response.status_code == 200
    assert reason in " ".join(response.context["adminform"].form.errors[field])
    assert not event_type.attributes.filter(name=row["name"]).exists()
