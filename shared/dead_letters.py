"""Dead letters: stream entries set aside because they could not be decoded or kept failing
the fold. An operator lists and reads them, replays them once the cause is fixed (they are
appended to their stream again and folded exactly once, by event id), or drops them."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared import rejection
from shared.errors import DomainError, Reason
from shared.runtime import SyncRedis
from shared.stream import FIELD, dead_letter_key, is_entry_id, stream_key

REJECTED_SCANS = "rejected-scans"  # the pseudo-session of the rejected-scans stream's letters
META = (b"dl_reason", b"dl_entry_id")


@dataclass(frozen=True, slots=True)
class Letter:
    session_id: str
    entry_id: str
    reason: str
    original_entry_id: str
    fields: dict[str, str]

    def brief(self) -> str:
        return f"{self.session_id} {self.entry_id} {self.reason}"


def _keys(session_id: str) -> tuple[str, str]:
    """The dead-letter stream of a session and the stream its letters came from."""
    if session_id == REJECTED_SCANS:
        return rejection.DEAD_LETTERS, rejection.STREAM
    return dead_letter_key(session_id), stream_key(session_id)


def _letter(session_id: str, entry_id: bytes, fields: dict[bytes, bytes]) -> Letter:
    text = {k.decode(): v.decode(errors="replace") for k, v in fields.items() if k not in META}
    return Letter(
        session_id=session_id,
        entry_id=entry_id.decode(),
        reason=fields.get(b"dl_reason", b"").decode(errors="replace"),
        original_entry_id=fields.get(b"dl_entry_id", b"").decode(),
        fields=text,
    )


def list_letters(redis: SyncRedis, session_ids: Iterable[str], limit: int = 100) -> list[Letter]:
    letters: list[Letter] = []
    for session_id in [*session_ids, REJECTED_SCANS]:
        entries: Any = redis.xrange(_keys(session_id)[0], count=limit)
        letters += [_letter(session_id, entry_id, fields) for entry_id, fields in entries]
    return letters[:limit]


def count(redis: SyncRedis, session_ids: Iterable[str]) -> int:
    return sum(int(redis.xlen(_keys(s)[0])) for s in [*session_ids, REJECTED_SCANS])


def get(redis: SyncRedis, session_id: str, entry_id: str) -> tuple[Letter, dict[bytes, bytes]]:
    """The letter at `entry_id`; NOT_FOUND also for an id that is no stream entry id (it
    never reaches Redis, which would refuse it)."""
    entries: Any = (
        redis.xrange(_keys(session_id)[0], entry_id, entry_id) if is_entry_id(entry_id) else []
    )
    if not entries:
        raise DomainError(Reason.NOT_FOUND, f"no dead letter {entry_id} for session {session_id!r}")
    fields: dict[bytes, bytes] = entries[0][1]
    return _letter(session_id, entries[0][0], fields), fields


def replay(redis: SyncRedis, session_id: str, entry_id: str) -> str:
    """Append the letter to its stream again and remove it, atomically; the new position."""
    _, fields = get(redis, session_id, entry_id)
    dead, source = _keys(session_id)
    original = {k: v for k, v in fields.items() if k not in META}
    if not original.get(FIELD if source != rejection.STREAM else rejection.FIELD):
        raise DomainError(
            Reason.INVALID_TRANSITION, f"dead letter {entry_id} holds no event to replay"
        )
    with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(source, original)  # type: ignore[arg-type]
        pipe.xdel(dead, entry_id)
        position, _ = pipe.execute()
    return str(position.decode())


def drop(redis: SyncRedis, session_id: str, entry_id: str) -> None:
    get(redis, session_id, entry_id)
    redis.xdel(_keys(session_id)[0], entry_id)
