"""API authentication by key: `Authorization: Bearer <key>`; HTTP Basic with the key as the user
name (Segment's libraries: `key:`) or as the password (Customer.io's `site_id:key`); or, for
SmartAppPush compatibility, `api_key` (with an optional `tenant_id`) in the JSON or form body.
Keys have a scope: `ingest` keys may only send events (they are embedded in web pages); `admin`
keys may use the whole API.

Rate limits (config/throttling.py): a request with a valid key counts against that key, at its
scope's rate; any other request against its client IP, at the "anonymous" rate, once: here
when it reaches the authenticator (a bad key, no key), so that a flood of guesses meets 429
before the 401 of the permission check, or else by the throttle (/push/opened)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.throttling import BaseThrottle

from config.throttling import client_ip, rate_for, throttle_hit
from contacts.models import ApiKey, App
from contacts.selectors import api_key_lookup

KEY_PREFIX = "bk_"  # every key contacts.services.apps.api_key_create makes starts with it
# Bodies whose `api_key` (and `tenant_id`) authenticate, when no Authorization header does.
BODY_AUTH_MEDIA_TYPES = ("application/json", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class ApiClient:
    """The caller behind an API key; stands in for request.user."""

    key: ApiKey

    is_authenticated = True

    @property
    def app(self) -> App:
        return self.key.app


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        try:
            raw_key, tenant_id = self._credentials(request)
        except exceptions.AuthenticationFailed:
            _count_anonymous(request)
            raise
        if not raw_key:
            _count_anonymous(request)
            return None
        key = api_key_lookup(raw_key=raw_key)
        if key is None or (tenant_id is not None and tenant_id != key.app.tenant_id):
            _count_anonymous(request)
            raise exceptions.AuthenticationFailed("unknown or revoked API key")
        return ApiClient(key), key

    def _credentials(self, request) -> tuple[str | None, str | None]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            keyword, _, value = header.partition(" ")
            if keyword.lower() == "basic":
                return basic_api_key(value.strip()), None
            if keyword != self.keyword or not value.strip():
                raise exceptions.AuthenticationFailed(
                    "use the header Authorization: Bearer <key> (or HTTP Basic with the key as "
                    "the user name or the password)"
                )
            return value.strip(), None
        if request.method == "POST" and request.content_type.startswith(BODY_AUTH_MEDIA_TYPES):
            data = request.data
            if isinstance(data, dict) and isinstance(data.get("api_key"), str):
                tenant_id = data.get("tenant_id")
                return data["api_key"], tenant_id if isinstance(tenant_id, str) else None
        return None, None

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


def basic_api_key(value: str) -> str:
    """The API key in HTTP Basic credentials (base64 of "user:password"). Segment's libraries
    send the key as the user name with no password, Customer.io's `site_id:key` as the password:
    the part that looks like a Beacon key (KEY_PREFIX) is taken, else the password if there is
    one, else the user name. The other part is not checked (the key alone names its app)."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise exceptions.AuthenticationFailed("the Basic credentials are not base64") from None
    user, _, password = decoded.partition(":")
    parts = [part for part in (password, user) if part]
    if not parts:
        raise exceptions.AuthenticationFailed("the Basic credentials hold no API key")
    return next((part for part in parts if part.startswith(KEY_PREFIX)), parts[0])


class ApiKeyRateThrottle(BaseThrottle):
    """Per API key at its scope's rate ("ingest", "admin"); a request without a valid key per
    client IP at the "anonymous" rate, unless ApiKeyAuthentication counted it already."""

    def allow_request(self, request, view) -> bool:
        client = request.user
        if isinstance(client, ApiClient):
            self._wait = throttle_hit(f"key:{client.key.pk}", rate_for(client.key.scope))
        elif any(isinstance(a, ApiKeyAuthentication) for a in request.authenticators):
            self._wait = None
        else:
            self._wait = _anonymous_hit(request)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def _anonymous_hit(request) -> float | None:
    return throttle_hit(f"ip:{client_ip(request)}", rate_for("anonymous"))


def _count_anonymous(request) -> None:
    """Count a request without a valid key against its client IP; 429 once over the rate."""
    wait = _anonymous_hit(request)
    if wait is not None:
        raise exceptions.Throttled(wait)


class HasIngestScope(BasePermission):
    message = "an API key is required"

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ApiClient)


class HasAdminScope(BasePermission):
    message = "this endpoint needs an admin-scope API key (ingest keys may only send events)"

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ApiClient) and request.user.key.scope == ApiKey.Scope.ADMIN


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describes API keys in the OpenAPI schema: a bearer token, or HTTP Basic (either one)."""

    target_class = ApiKeyAuthentication
    name = ["apiKey", "apiKeyBasic"]

    def get_security_requirement(self, auto_schema) -> list[dict]:
        return [{name: []} for name in self.name]  # one of them, not both

    def get_security_definition(self, auto_schema) -> list[dict]:
        bearer = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=ApiKeyAuthentication.keyword
        )
        basic = {
            "type": "http",
            "scheme": "basic",
            "description": "The API key as the user name (empty password, as Segment's "
            "libraries send it) or as the password (Customer.io's site_id:key)",
        }
        return [bearer, basic]
