"""Refusals over HTTP: RFC 9457 problem+json, each with its stable reason code.

Every refusal the services give is a `DomainError` with a `Reason` (`shared/errors.py`); one
set of handlers maps it, request validation failures and HTTP errors to
`application/problem+json`, and `BodyLimit` refuses bodies above 1 MiB.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import DomainError, Reason, validation_errors

logger = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
MAX_BODY_BYTES = 1024 * 1024


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


def body(error: DomainError) -> dict[str, Any]:
    """The problem+json body of a refusal."""
    found: dict[str, Any] = {
        "type": f"urn:expo-tally:problem:{error.reason}",
        "title": error.reason.replace("_", " ").capitalize(),
        "status": STATUS[error.reason],
        "detail": error.detail,
        "reason": error.reason.value,
    }
    if error.errors:
        found["errors"] = error.errors
    return found


def headers_of(error: DomainError) -> dict[str, str]:
    if error.retry_after_seconds is None:
        return {}
    return {"Retry-After": str(error.retry_after_seconds)}


def problem_response(error: DomainError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    status = STATUS[error.reason]
    return JSONResponse(body(error), status, headers=headers, media_type=MEDIA_TYPE)


def from_validation(errors: Sequence[Any]) -> DomainError:
    if any(e.get("type") == "json_invalid" for e in errors):
        return DomainError(Reason.MALFORMED_BODY, "the body is not valid JSON")
    return DomainError(
        Reason.VALIDATION_FAILED, "the request is not valid", validation_errors(errors)
    )


def install(app: FastAPI) -> None:
    """The exception handlers that answer every refusal and failure with problem+json."""

    async def on_domain(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        return problem_response(exc, headers_of(exc))

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
