"""Refusals in the domain's own terms: a stable reason and a message for people.

Any layer raises a `DomainError`; the services map it to HTTP (`shared/problem.py`), the
command line prints its detail. Nothing here knows about HTTP.
"""

from collections.abc import Sequence
from enum import StrEnum
from typing import Any


class Reason(StrEnum):
    """The closed set of reasons a request is refused (listed in the README)."""

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


class DomainError(Exception):
    """A refusal with a stable reason, a message for people, the fields at fault (if any)
    and, for a refusal that passes, when to try again."""

    def __init__(
        self,
        reason: Reason,
        detail: str,
        errors: Sequence[dict[str, Any]] = (),
        retry_after_seconds: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.errors = list(errors)
        self.retry_after_seconds = retry_after_seconds


def validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as `[{"loc", "msg"}]`, never echoing the input back."""
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in errors]
