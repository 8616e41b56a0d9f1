"""The error answers of every operation in the OpenAPI schema (a drf-spectacular postprocessing
hook, SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]).

Every error leaves the API in one shape (config/api.py), {"error": kind, "detail": ...}, and each
operation documents the statuses it can answer, from what it is:
- 400 "validation": it takes query parameters, or it writes (a body, or the state of what it
  changes, can be refused);
- 401 "authentication": it needs an API key; 403 "permission": an admin-scope key;
- 404 "not_found": an id in its path, or a page past the last of a listing;
- 411 "length_required", 413 "too_large", 415 "unsupported_media_type": it takes a JSON body;
- 429 "throttled" and 503 "unavailable" (the database can't be reached), with Retry-After: any.
Text in a body or a query parameter can't hold NUL (DRF's and Django's text fields refuse it, as
PostgreSQL would): each such string gets the pattern that says so.
An operation's own declaration of an error status (extend_schema with an OpenApiResponse that
has a description only) is kept, with the error shape as its body. The responses and the two
shapes are components (#/components/responses/NotFound, #/components/schemas/Error, ...).
"""

from __future__ import annotations

from contacts.api.auth import HasAdminScope

NO_NUL = r"^[^\u0000]*$"
ERROR = "Error"
VALIDATION_ERROR = "ValidationError"
SCHEMAS = {
    ERROR: {
        "type": "object",
        "properties": {
            "error": {
                "type": "string",
                "description": "The kind of error: authentication, permission, not_found, "
                "too_large, unsupported_media_type, throttled, unavailable, ...",
            },
            "detail": {"description": "What went wrong, for a person to read"},
        },
        "required": ["error", "detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "properties": {
            "error": {"type": "string", "enum": ["validation"]},
            "detail": {
                "type": "object",
                "additionalProperties": {"type": "array", "items": {"type": "string"}},
                "description": 'Each field that is wrong with its reasons: {"field": ["reason"]}',
            },
        },
        "required": ["error", "detail"],
    },
}
RETRY_AFTER = {
    "schema": {"type": "integer", "minimum": 0},
    "description": "Seconds to wait before trying again",
}
# status: (name in components.responses, error shape, description)
RESPONSES = {
    400: ("BadRequest", VALIDATION_ERROR, "Invalid input: `detail` names each field that is wrong"),
    401: ("Unauthorized", ERROR, "No API key, or an unknown or revoked one (`authentication`)"),
    403: ("Forbidden", ERROR, "The key's scope does not allow this (`permission`)"),
    404: ("NotFound", ERROR, "No such resource in the key's app, or a page past the last"),
    411: (
        "LengthRequired",
        ERROR,
        "A chunked body the server in front did not end (`length_required`)",
    ),
    413: ("PayloadTooLarge", ERROR, "The body is over the size limit (`too_large`)"),
    415: ("UnsupportedMediaType", ERROR, "The body is not JSON (`unsupported_media_type`)"),
    429: ("TooManyRequests", ERROR, "Too many requests (`throttled`): retry after Retry-After"),
    503: ("Unavailable", ERROR, "The database is down (`unavailable`): retry after Retry-After"),
}


def _response(status: int) -> dict:
    _, shape, description = RESPONSES[status]
    response = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{shape}"}}},
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}
    return response


def document_errors(result, generator, request, public):
    """Add each operation's error statuses, and the error shapes, to the generated schema."""
    views = {(path, method.lower()): view for path, _, method, view in generator.endpoints}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            view = views.get((path, method))
            responses = operation.setdefault("responses", {})
            for status in sorted(_error_statuses(method, operation, view)):
                name = RESPONSES[status][0]
                responses.setdefault(str(status), {"$ref": f"#/components/responses/{name}"})
            for status, response in responses.items():
                if status.isdigit():
                    _add_error_shape(int(status), response)
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    _refuse_nul(parameter.get("schema", {}))
    components = result.setdefault("components", {})
    for name, schema in components.get("schemas", {}).items():
        if name.endswith("Request"):  # COMPONENT_SPLIT_REQUEST: what clients send
            _refuse_nul(schema)
    schemas = components.setdefault("schemas", {})
    for name, schema in SCHEMAS.items():  # the tracking API's ValidationError is the same shape
        schemas.setdefault(name, schema)
    components["responses"] = {name: _response(status) for status, (name, *_) in RESPONSES.items()}
    components["headers"] = {"RetryAfter": RETRY_AFTER}
    return result


def _refuse_nul(schema) -> None:
    """Give each free-text string of a schema (no format, pattern or enum) the NUL-free pattern."""
    if isinstance(schema, list):
        for item in schema:
            _refuse_nul(item)
        return
    if not isinstance(schema, dict):
        return
    free_text = not {"format", "pattern", "enum", "$ref"} & set(schema)
    if schema.get("type") == "string" and free_text:
        schema["pattern"] = NO_NUL
    for key in ("properties", "patternProperties"):
        for item in schema.get(key, {}).values():
            _refuse_nul(item)
    for key in ("items", "additionalProperties", "oneOf", "anyOf", "allOf"):
        _refuse_nul(schema.get(key))


def _add_error_shape(status: int, response: dict) -> None:
    """An error status an operation declares itself (OpenApiResponse(description=...)) gets the
    error shape as its body."""
    if status >= 400 and "$ref" not in response and "content" not in response:
        shape = VALIDATION_ERROR if status == 400 else ERROR
        response["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{shape}"}}
        }


def _error_statuses(method: str, operation: dict, view) -> set[int]:
    parameters = operation.get("parameters", [])
    statuses = {429, 503}
    if "requestBody" in operation:
        statuses |= {411, 413, 415}
    if method != "get" or any(parameter["in"] == "query" for parameter in parameters):
        statuses.add(400)
    if any(parameter["in"] == "path" or parameter["name"] == "page" for parameter in parameters):
        statuses.add(404)
    if any(operation.get("security", [])):  # absent, or [{}]: no key needed
        statuses.add(401)
        if view is not None and HasAdminScope in getattr(view.cls, "permission_classes", ()):
            statuses.add(403)
    return statuses
