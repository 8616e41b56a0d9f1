"""Creating tenants and their API keys."""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from contacts.models import ApiKey, App, IdentifierRule
from contacts.signals import app_created

F = IdentifierRule.Field
# Reteno's default identifier table: event parameter -> contact field.
DEFAULT_IDENTIFIER_RULES: list[tuple[str, str, str]] = [
    ("ContactId", F.CONTACT_ID, ""),
    ("externalCustomerId", F.EXTERNAL_ID, ""),
    ("Email", F.EMAIL, ""),
    ("EmailAddress", F.EMAIL, ""),
    ("UserEmail", F.EMAIL, ""),
    ("ContactEmail", F.EMAIL, ""),
    ("Phone", F.PHONE, ""),
    ("SMS", F.PHONE, ""),
    ("PhoneNumber", F.PHONE, ""),
    ("PushToken", F.DEVICE_TOKEN, ""),
    ("ContactKey", F.CUSTOM, "ContactKey"),
    ("Contact_key", F.CUSTOM, "ContactKey"),
]


def hash_api_key(raw_key: str) -> str:
    # Keys are 256-bit random strings, so a plain SHA-256 cannot be brute-forced.
    return hashlib.sha256(raw_key.encode()).hexdigest()


@transaction.atomic
def app_create(*, name: str, tenant_id: str, timezone_name: str = "UTC") -> App:
    if timezone_name not in zoneinfo.available_timezones():
        raise ValidationError({"timezone": [f"{timezone_name!r} is not a known IANA timezone"]})
    if App.objects.filter(tenant_id=tenant_id).exists():
        raise ValidationError({"tenant_id": [f"{tenant_id!r} is taken"]})
    app = App.objects.create(name=name, tenant_id=tenant_id, timezone=timezone_name)
    IdentifierRule.objects.bulk_create(
        IdentifierRule(
            app=app, param=param, field=field_, custom_field=custom, priority=i, is_default=True
        )
        for i, (param, field_, custom) in enumerate(DEFAULT_IDENTIFIER_RULES)
    )
    app_created.send(sender=App, app=app)
    return app


def api_key_create(*, app: App, name: str, scope: str) -> tuple[ApiKey, str]:
    """Create a key and return it with its full value, which is never stored or shown again."""
    if scope not in ApiKey.Scope.values:
        raise ValidationError({"scope": [f"must be one of {', '.join(ApiKey.Scope.values)}"]})
    raw_key = f"bk_{scope}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        app=app, name=name, scope=scope, prefix=raw_key[:14], key_hash=hash_api_key(raw_key)
    )
    return key, raw_key


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def app_update(*, app: App, name: str, timezone_name: str) -> App:
    """Rename an app or change its timezone; the tenant id is fixed (clients send it)."""
    if timezone_name not in zoneinfo.available_timezones():
        raise ValidationError({"timezone": [f"{timezone_name!r} is not a known IANA timezone"]})
    app.name, app.timezone = name, timezone_name
    app.save(update_fields=["name", "timezone"])
    return app


def identifier_rule_validate(
    *, app: App, param: str, field: str, custom_field: str, rule: IdentifierRule | None = None
) -> None:
    """Raise a ValidationError (by form field) unless the rule can be saved."""
    errors: dict[str, list[str]] = {}
    if not param.strip() or len(param) > 255:
        errors["param"] = ["must be 1 to 255 characters"]
    else:
        taken = IdentifierRule.objects.filter(app=app, param__iexact=param.strip())
        if rule is not None:
            taken = taken.exclude(pk=rule.pk)
        if (existing := taken.first()) is not None and existing.is_default:
            errors["param"] = [f"{param.strip()!r} is a default identifier; choose another name"]
        elif existing is not None:
            errors["param"] = [f"{app.name} already has a rule for {param.strip()!r}"]
    if field not in IdentifierRule.Field.values:
        errors["field"] = [f"must be one of {', '.join(IdentifierRule.Field.values)}"]
    elif field == F.CUSTOM and not custom_field.strip():
        errors["custom_field"] = ["name the custom contact field the parameter maps to"]
    elif field != F.CUSTOM and custom_field.strip():
        errors["custom_field"] = ["only for the target “Custom contact field”; leave it empty"]
    if errors:
        raise ValidationError(errors)


def identifier_rule_create(
    *, app: App, param: str, field: str, custom_field: str = "", priority: int = 100
) -> IdentifierRule:
    identifier_rule_validate(app=app, param=param, field=field, custom_field=custom_field)
    return IdentifierRule.objects.create(
        app=app,
        param=param.strip(),
        field=field,
        custom_field=custom_field.strip(),
        priority=priority,
    )


def identifier_rule_update(
    *, rule: IdentifierRule, param: str, field: str, custom_field: str = "", priority: int
) -> IdentifierRule:
    identifier_rule_validate(
        app=rule.app, param=param, field=field, custom_field=custom_field, rule=rule
    )
    rule.param, rule.field, rule.priority = param.strip(), field, priority
    rule.custom_field = custom_field.strip()
    rule.save(update_fields=["param", "field", "custom_field", "priority"])
    return rule
