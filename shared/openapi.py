"""What the OpenAPI documents say about refusals: every problem+json answer a route can give,
so that clients (and the schemathesis run in `make test`) can hold the services to it."""

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from shared.errors import Reason
from shared.problem import MEDIA_TYPE

REF = "#/components/schemas/{model}"


class ProblemItem(BaseModel):
    """One reason a field was refused; the input itself is never echoed back."""

    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem; `reason` is one of a closed set of codes (docs/api.md lists them)."""

    type: str = Field(description="urn:expo-tally:problem:<reason>")
    title: str
    status: int
    detail: str
    reason: Reason
    errors: list[ProblemItem] = Field(
        default_factory=list, description="For validation_failed: which fields and why."
    )


WHEN = {
    400: "The body is not valid JSON (malformed_body).",
    401: "No token, or an unknown or revoked one (unauthorized).",
    403: "The token's role or session does not allow this (forbidden, wrong_session).",
    404: "No such expo or session (unknown_expo, unknown_session, not_found).",
    409: "The state does not allow it: session not open or closed, a check-in dated outside "
    "the session's days, already exists, ordinal taken, invalid transition, an event id "
    "sent again with other content.",
    413: "The body is larger than 1 MiB (body_too_large).",
    429: "This token sent too many events; Retry-After says when to retry (rate_limited).",
    422: "The request is not valid; `errors` says which fields and why (validation_failed); "
    "or an XLSX export would hold more rows than a sheet can (too_many_rows).",
    503: "Redis or the database is unreachable (unavailable); retry later.",
}
BODY = (400, 413, 422)
ADMIN = (*BODY, 401, 403, 503)
READ = (401, 404, 422, 503)
EVENT = (*BODY, 401, 403, 404, 409, 429, 503)
BATCH = (*BODY, 401, 429, 503)  # items are refused one by one in the answer


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that may refuse with these statuses."""
    return {status: _problem(status) for status in sorted(set(statuses))}


def _problem(status: int) -> dict[str, Any]:
    declared: dict[str, Any] = {
        "description": WHEN[status],
        "content": {MEDIA_TYPE: {"schema": {"$ref": REF.format(model="Problem")}}},
    }
    if status == 429:
        seconds = {"type": "string", "pattern": "^[0-9]+$"}
        declared["headers"] = {"Retry-After": {"required": True, "schema": seconds}}
    return declared


def install(app: FastAPI) -> None:
    """Add `Problem` (and what it refers to) to the components of the app's document."""
    build = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            found = Problem.model_json_schema(ref_template=REF)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(found.pop("$defs", {}))
            components["Problem"] = found
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
