"""What the bench measures against, made through the real admin API: one expo whose four
open sessions take the load, two more expos whose sessions are seeded for the read-cost
rows, a desk token bound to the single-event session, and a stored admin token for batch
uploads (mixed event types in one batch need every role)."""

from dataclasses import dataclass

from bench.stack import Stack, running_days

EXPO = "bench-expo"
SESSIONS = ("single", "fold", "e2e", "fresh")
SMALL, LARGE = "bench-small", "bench-large"


@dataclass(frozen=True)
class Expos:
    expo: str
    sessions: dict[str, str]  # what it is for -> session id
    desk_token: str
    batch_token: str
    small: str
    large: str


def _open_session(stack: Stack, expo: str, session: str, ordinal: int) -> None:
    body = {
        "id": session,
        "ordinal": ordinal,
        "name": f"{ordinal}. {session}",
        **running_days(),
    }
    stack.admin("POST", f"/v1/expos/{expo}/sessions", body)
    stack.admin("PATCH", f"/v1/sessions/{session}", {"status": "open"})


def create(stack: Stack) -> Expos:
    for expo in (EXPO, SMALL, LARGE):
        stack.admin("POST", "/v1/expos", {"id": expo, "name": f"Expo {expo}"})
    sessions = {purpose: f"bench-{purpose}" for purpose in SESSIONS}
    for ordinal, session in enumerate(sessions.values(), start=1):
        _open_session(stack, EXPO, session, ordinal)
    _open_session(stack, SMALL, "bench-small-1", 1)
    _open_session(stack, LARGE, "bench-large-1", 1)
    desk = stack.admin(
        "POST",
        "/v1/tokens",
        {"role": "desk", "session_id": sessions["single"], "label": "bench desk"},
    )
    uploader = stack.admin("POST", "/v1/tokens", {"role": "admin", "label": "bench uploads"})
    return Expos(
        expo=EXPO,
        sessions=sessions,
        desk_token=desk["token"],
        batch_token=uploader["token"],
        small="bench-small-1",
        large="bench-large-1",
    )
