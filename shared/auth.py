"""Bearer tokens: random, shown once, stored as SHA-256 hashes; roles bound optionally to
one session."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine
from sqlmodel import Session, select

from shared.errors import DomainError, Reason
from shared.tables import ApiToken

TOKEN_PREFIX = "expo_"  # noqa: S105 - a visible prefix, not a secret


class Role(StrEnum):
    ADMIN = "admin"
    DESK = "desk"
    CEREMONY = "ceremony"
    ORGANIZER = "organizer"
    DISPLAY = "display"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: the token's id (never its secret), role and session binding."""

    token_id: str
    role: Role
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    id: str
    secret: str
    record: ApiToken


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue(role: Role, session_id: str | None = None, label: str | None = None) -> IssuedToken:
    """A new token: 256 random bits; only its hash is kept."""
    token_id = secrets.token_hex(8)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(
        id=token_id, token_hash=hash_token(secret), role=role, session_id=session_id, label=label
    )
    return IssuedToken(token_id, secret, record)


def bearer_secret(authorization: str | None) -> str:
    if not authorization:
        raise DomainError(Reason.UNAUTHORIZED, "send 'Authorization: Bearer <token>'")
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise DomainError(Reason.UNAUTHORIZED, "send 'Authorization: Bearer <token>'")
    return secret.strip()


def authenticate(engine: Engine, secret: str, admin_token: str | None) -> Principal:
    if admin_token and hmac.compare_digest(secret.encode(), admin_token.encode()):
        return Principal(token_id="env-admin", role=Role.ADMIN)  # noqa: S106
    with Session(engine) as db:
        record = db.exec(select(ApiToken).where(ApiToken.token_hash == hash_token(secret))).first()
    if record is None or record.revoked_at is not None:
        raise DomainError(Reason.UNAUTHORIZED, "the token is unknown or revoked")
    return Principal(token_id=record.id, role=Role(record.role), session_id=record.session_id)


def authorize(principal: Principal, roles: set[Role], session_id: str | None = None) -> None:
    """Admin may do everything; others need one of `roles` and, when bound, the session."""
    if principal.role is Role.ADMIN:
        return
    if principal.role not in roles:
        allowed = ", ".join(sorted(roles | {Role.ADMIN}))
        raise DomainError(Reason.FORBIDDEN, f"this needs a token with role {allowed}")
    if principal.session_id is not None and session_id != principal.session_id:
        raise DomainError(
            Reason.WRONG_SESSION, f"this token is bound to session {principal.session_id!r}"
        )


def has_admin_token(engine: Engine) -> bool:
    with Session(engine) as db:
        found = db.exec(
            select(ApiToken.id).where(ApiToken.role == Role.ADMIN, ApiToken.revoked_at.is_(None))  # type: ignore[union-attr]
        ).first()
    return found is not None
