"""The mapping rules page: the built-in identity order, read-only, above the app's custom rules
(add, edit, delete, readable errors); admins only, and only their apps' rules."""

from __future__ import annotations

import pytest

from contacts.models import IdentifierRule
from contacts.services.apps import DEFAULT_IDENTIFIER_RULES, identifier_rule_create

LIST = "/admin/contacts/identifierrule/"


def rule_form(app, **fields) -> dict:
    return {"app": app.pk, "param": "", "field": "email", "custom_field": "", "priority": 100} | (
        fields
    )


@pytest.fixture
def admin(role_client, app):
    return role_client("Admin", app)


def test_the_page_shows_the_built_in_order_and_every_default_parameter(admin, app):
    response = admin.get(LIST)
    assert response.status_code == 200
    table = response.text.split('id="identity-defaults"', 1)[1].split("</table>", 1)[0]
    for param, _, _ in DEFAULT_IDENTIFIER_RULES:
        assert f"<code>{param}</code>" in table
    order = [table.index(f"<code>{name}</code>") for name in ("app_user_id", "ContactId")]
    order += [table.index(f"<code>{name}</code>") for name in ("device_token", "anonymous_id")]
    assert order == sorted(order)
    assert "Custom contact field “ContactKey”" in table
    assert "none of these: a new anonymous contact" in table
    assert list(response.context["cl"].result_list) == []  # the defaults are not custom rules


def test_an_admin_adds_edits_and_deletes_a_custom_rule(admin, app):
    response = admin.post(f"{LIST}add/", rule_form(app, param="email_client", priority=5))
    assert response.status_code == 302
    rule = IdentifierRule.objects.get(app=app, param="email_client")
    assert (rule.field, rule.priority, rule.is_default) == ("email", 5, False)
    assert [r.param for r in admin.get(LIST).context["cl"].result_list] == ["email_client"]

    change = f"{LIST}{rule.pk}/change/"
    data = {"param": "loyalty", "field": "custom", "custom_field": "card", "priority": 3}
    assert admin.post(change, data).status_code == 302
    rule.refresh_from_db()
    assert (rule.param, rule.field, rule.custom_field, rule.priority) == (
        "loyalty",
        "custom",
        "card",
        3,
    )

    assert admin.get(f"{LIST}{rule.pk}/delete/").status_code == 200
    assert admin.post(f"{LIST}{rule.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not IdentifierRule.objects.filter(pk=rule.pk).exists()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"param": "Email"}, "param", "'Email' is a default identifier; choose another name"),
        ({"param": "mail", "field": "custom"}, "custom_field", "name the custom contact field"),
        ({"param": "mail", "custom_field": "x"}, "custom_field", "leave it empty"),
        ({"param": "   "}, "param", "This field is required."),
    ],
)
def test_a_bad_rule_is_refused_with_the_reason_next_to_the_field(
    admin, app, fields, field, message
):
    before = IdentifierRule.objects.count()
    response = admin.post(f"{LIST}add/", rule_form(app, **fields))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field] and message in errors[field][0]
    assert IdentifierRule.objects.count() == before


def test_a_second_rule_for_the_same_parameter_is_refused(admin, app):
    identifier_rule_create(app=app, param="mail", field="email")
    response = admin.post(f"{LIST}add/", rule_form(app, param="MAIL"))
    assert response.context["adminform"].form.errors["param"] == [
        "Shop already has a rule for 'MAIL'"
    ]


def test_marketers_neither_see_nor_reach_the_mapping_rules(role_client, app):
    rule = identifier_rule_create(app=app, param="mail", field="email")
    client = role_client("Marketer", app)
    assert LIST not in client.get("/admin/").text
    for url in [LIST, f"{LIST}add/", f"{LIST}{rule.pk}/change/", f"{LIST}{rule.pk}/delete/"]:
        assert client.get(url).status_code == 403, url
    assert client.post(f"{LIST}{rule.pk}/delete/", {"post": "yes"}).status_code == 403
    assert IdentifierRule.objects.filter(pk=rule.pk).exists()


def test_an_admin_of_one_app_cannot_see_or_change_anothers_rules(role_client, app, other_app):
    theirs = identifier_rule_create(app=other_app, param="their_mail", field="email")
    client = role_client("Admin", app)
    assert "their_mail" not in client.get(LIST).text
    change, delete = f"{LIST}{theirs.pk}/change/", f"{LIST}{theirs.pk}/delete/"
    assert client.get(change).status_code == 302  # "doesn't exist", back to the index
    client.post(change, {"param": "stolen", "field": "phone", "priority": 1})
    client.post(delete, {"post": "yes"})
    theirs.refresh_from_db()
    assert (theirs.param, theirs.field) == ("their_mail", "email")
    response = client.post(f"{LIST}add/", rule_form(other_app, param="planted"))
    assert "app" in response.context["adminform"].form.errors
    assert not IdentifierRule.objects.filter(param="planted").exists()
