"""Errors as RFC 9457 problem+json, each with a stable reason code.

Every refusal the services give is a `DomainError` with a `Reason`; one set of handlers maps
it, request validation failures and HTTP errors to `application/problem+json`.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.instrument import RequestMetrics

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
MAX_BODY_BYTES = 1024 * 1024


class Reason(StrEnum):
    """The closed set of reasons a request is refused (listed in docs/api.md, "Errors")."""

    VALIDATION_FAILED = "validation_failed"
    MALFORMED_BODY = "malformed_body"
    BODY_TOO_LARGE = "body_too_large"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    WRONG_SESSION = "wrong_session"
    UNKNOWN_SESSION = "unknown_session"
    UNKNOWN_EXPO = "unknown_expo"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    SESSION_NOT_OPEN = "session_not_open"
    SESSION_CLOSED = "session_closed"
    OCCURRED_OUTSIDE_SESSION = "occurred_outside_session"
    ALREADY_EXISTS = "already_exists"
    ORDINAL_TAKEN = "ordinal_taken"
    INVALID_TRANSITION = "invalid_transition"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    RATE_LIMITED = "rate_limited"
    TOO_MANY_ROWS = "too_many_rows"
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"


STATUS: dict[Reason, int] = {
    Reason.VALIDATION_FAILED: 422,
    Reason.MALFORMED_BODY: 400,
    Reason.BODY_TOO_LARGE: 413,
    Reason.UNAUTHORIZED: 401,
    Reason.FORBIDDEN: 403,
    Reason.WRONG_SESSION: 403,
    Reason.UNKNOWN_SESSION: 404,
    Reason.UNKNOWN_EXPO: 404,
    Reason.NOT_FOUND: 404,
    Reason.METHOD_NOT_ALLOWED: 405,
    Reason.SESSION_NOT_OPEN: 409,
    Reason.SESSION_CLOSED: 409,
    Reason.OCCURRED_OUTSIDE_SESSION: 409,
    Reason.ALREADY_EXISTS: 409,
    Reason.ORDINAL_TAKEN: 409,
    Reason.INVALID_TRANSITION: 409,
    Reason.IDEMPOTENCY_CONFLICT: 409,
    Reason.RATE_LIMITED: 429,
    Reason.TOO_MANY_ROWS: 422,
    Reason.UNAVAILABLE: 503,
    Reason.INTERNAL_ERROR: 500,
}
_BY_STATUS = {
    400: Reason.MALFORMED_BODY,
    404: Reason.NOT_FOUND,
    405: Reason.METHOD_NOT_ALLOWED,
    413: Reason.BODY_TOO_LARGE,
}


class DomainError(Exception):
    """A refusal with a stable reason and a message for people."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        errors: Sequence[dict[str, Any]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.errors = list(errors)
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        return STATUS[self.reason]

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:expo-tally:problem:{self.reason}",
            "title": self.reason.replace("_", " ").capitalize(),
            "status": self.status,
            "detail": self.detail,
            "reason": self.reason.value,
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def problem_response(error: DomainError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), error.status, headers=headers, media_type=MEDIA_TYPE)


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as `[{"loc", "msg"}]`, never echoing the input back."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]


def from_validation(errors: Sequence[Any]) -> DomainError:
    if any(e.get("type") == "json_invalid" for e in errors):
        return DomainError(Reason.MALFORMED_BODY, "the body is not valid JSON")
    return DomainError(
        Reason.VALIDATION_FAILED, "the request is not valid", validation_errors(errors)
    )


def install(app: FastAPI) -> None:
    """Problem handlers and the request body limit, for every service."""
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestMetrics)

    async def on_domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(exc, exc.headers)

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(from_validation(exc.errors()))

    async def on_http(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        reason = _BY_STATUS.get(exc.status_code, Reason.MALFORMED_BODY)
        return problem_response(DomainError(reason, str(exc.detail)), exc.headers)

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        logger.warning("dependency unavailable on %s: %s", request.url.path, exc)
        return problem_response(DomainError(Reason.UNAVAILABLE, "a dependency is unreachable"))

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error on %s", request.url.path, exc_info=exc)
        return problem_response(DomainError(Reason.INTERNAL_ERROR, "an unexpected error"))

    handlers: dict[Any, Callable[[Request, Exception], Awaitable[JSONResponse]]] = {
        Exception: on_unexpected,
        DomainError: on_domain,
        RequestValidationError: on_validation,
        HTTPException: on_http,
        RedisError: on_unavailable,
        OperationalError: on_unavailable,
    }
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)


class BodyLimit:
    """Refuses request bodies above 1 MiB with 413, whether announced or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413, "the request body is larger than 1 MiB")
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = DomainError(Reason.BODY_TOO_LARGE, "the request body is larger than 1 MiB")
        await problem_response(error)(scope, receive, send)
