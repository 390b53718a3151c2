"""Redis Streams: key names and the entry codec.

Keys put the session id in a hash tag (`{…}`), so a Redis Cluster keeps all of a session's
keys in one slot with no code change.
"""

from typing import Annotated

from pydantic import AfterValidator, StringConstraints, ValidationError

from shared.events import Event, decode_event, encode_event

GROUP = "aggregator"
FIELD = b"event"
KEY_PREFIX = "expo:{"
EVENTS_SUFFIX = "}:events"
MAX_ENTRY_PART = 2**64 - 1
ENTRY_ID_PATTERN = r"^[0-9]{1,20}-[0-9]{1,20}$"


class UndecodableEntryError(ValueError):
    """A stream entry that is not an event of any known type and version."""


def stream_key(session_id: str) -> str:
    return f"{KEY_PREFIX}{session_id}{EVENTS_SUFFIX}"


def seen_key(session_id: str, event_id: str) -> str:
    """The short-lived fingerprint of a client-chosen event id (same slot as the stream)."""
    return f"{KEY_PREFIX}{session_id}}}:seen:{event_id}"


def dead_letter_key(session_id: str) -> str:
    return f"{KEY_PREFIX}{session_id}}}:dead"


def session_of(key: str) -> str:
    return key.removeprefix(KEY_PREFIX).removesuffix(EVENTS_SUFFIX)


def is_entry_id(text: str) -> bool:
    """Whether `text` is a Redis stream entry id, `<ms>-<seq>`: two unsigned 64-bit
    integers in ASCII digits. Anything else never names an entry (Redis refuses it)."""
    ms, dash, seq = text.partition("-")
    return bool(dash) and all(
        0 < len(part) <= 20 and part.isascii() and part.isdigit() and int(part) <= MAX_ENTRY_PART
        for part in (ms, seq)
    )


def _entry_id(value: str) -> str:
    if not is_entry_id(value):
        msg = "must be a stream entry id <ms>-<seq>, each part below 2**64"
        raise ValueError(msg)
    return value


EntryId = Annotated[str, StringConstraints(pattern=ENTRY_ID_PATTERN), AfterValidator(_entry_id)]


def position_key(position: str) -> tuple[int, int]:
    """Stream entry ids ("1758851200000-3") in the order Redis gives them."""
    ms, _, seq = position.partition("-")
    return int(ms), int(seq or 0)


def to_fields(event: Event) -> dict[bytes, bytes]:
    return {FIELD: encode_event(event)}


def from_fields(fields: dict[bytes, bytes]) -> Event:
    data = fields.get(FIELD)
    if data is None:
        msg = f"entry has no {FIELD.decode()!r} field"
        raise UndecodableEntryError(msg)
    try:
        return decode_event(data)
    except ValidationError as error:
        raise UndecodableEntryError(_summary(error)) from error


def _summary(error: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5]]
    return "; ".join(parts)
