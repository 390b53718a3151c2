"""For admins on call: tokens (listed without their secrets, revoked at once) and dead
letters (listed, read, replayed once fixed, dropped)."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel
from sqlmodel import col, select

from services.api.deps import AdminDep, DbDep, ReadDbDep, RedisDep
from shared import dead_letters, reference
from shared.errors import DomainError, Reason
from shared.events import SessionId
from shared.openapi import ADMIN, problems
from shared.stream import EntryId
from shared.tables import ApiToken, ExpoSession

router = APIRouter(tags=["operations"])
LetterSession = Annotated[
    SessionId, Path(description="the session, or `rejected-scans` for refused scans")
]
LetterEntry = Annotated[EntryId, Path(description="its entry id in the dead-letter stream")]


class TokenPublic(BaseModel):
    id: str
    role: str
    session_id: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


class LetterPublic(BaseModel):
    session_id: str
    entry_id: str
    reason: str
    original_entry_id: str
    fields: dict[str, str]


class DeadLetters(BaseModel):
    count: int
    letters: list[LetterPublic]


class Replayed(BaseModel):
    position: str


@router.get("/v1/tokens", responses=problems(*ADMIN))
def list_tokens(_: AdminDep, db: ReadDbDep) -> list[TokenPublic]:
    """Every token, newest first, without its secret (only a hash of it is stored)."""
    tokens = db.exec(select(ApiToken).order_by(col(ApiToken.created_at).desc())).all()
    return [TokenPublic.model_validate(t, from_attributes=True) for t in tokens]


@router.delete("/v1/tokens/{token_id}", responses=problems(*ADMIN, 404))
def revoke_token(token_id: str, redis: RedisDep, _: AdminDep, db: DbDep) -> TokenPublic:
    """Revoke a token: it is refused (401) from the next request on."""
    token = db.get(ApiToken, token_id)
    if token is None:
        raise DomainError(Reason.NOT_FOUND, f"there is no token {token_id!r}")
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        db.add(token)
        db.commit()
        db.refresh(token)
        reference.mark_changed(redis)
    return TokenPublic.model_validate(token, from_attributes=True)


@router.get("/v1/dead-letters", responses=problems(*ADMIN))
def list_dead_letters(redis: RedisDep, _: AdminDep, db: ReadDbDep) -> DeadLetters:
    """Entries set aside by the aggregator, with the reason each was."""
    sessions = db.exec(select(ExpoSession.id)).all()
    letters = dead_letters.list_letters(redis, sessions)
    return DeadLetters(
        count=dead_letters.count(redis, sessions),
        letters=[LetterPublic.model_validate(x, from_attributes=True) for x in letters],
    )


@router.post("/v1/dead-letters/{session_id}/{entry_id}/replay", responses=problems(*ADMIN, 404))
def replay_dead_letter(
    session_id: LetterSession, entry_id: LetterEntry, redis: RedisDep, _: AdminDep
) -> Replayed:
    """Append the entry to its stream again (after the cause is fixed); it is folded
    exactly once, whatever happened to it before."""
    return Replayed(position=dead_letters.replay(redis, session_id, entry_id))


@router.delete(
    "/v1/dead-letters/{session_id}/{entry_id}", status_code=204, responses=problems(*ADMIN, 404)
)
def drop_dead_letter(
    session_id: LetterSession, entry_id: LetterEntry, redis: RedisDep, _: AdminDep
) -> Response:
    """Forget a dead letter for good."""
    dead_letters.drop(redis, session_id, entry_id)
    return Response(status_code=204)
