"""Fuzzing runs on the in-process stack of the integration tests (real Redis, real SQLite):
the same fixtures, and a few records worth aiming generated requests at."""

from dataclasses import dataclass

import pytest

from tests.integration.conftest import ADMIN, Stack, settings, stack
from tests.seeds import FOUR_PREVIOUS_SESSIONS

__all__ = ["Targets", "settings", "stack", "targets"]


@dataclass(frozen=True)
class Targets:
    """Ids that exist, so that generated requests reach past 404 now and then."""

    expo_id: str
    open_session: str
    planned_session: str
    closed_session: str

    @property
    def sessions(self) -> list[str]:
        return [self.open_session, self.planned_session, self.closed_session]


@pytest.fixture
def targets(stack: Stack) -> Targets:
    """An expo with a baseline and a planned, an open and a closed session; the open one
    has a folded check-in, so its totals carry a position."""
    expo_id = stack.new_expo()
    created = stack.api.post(
        f"/v1/expos/{expo_id}/baselines", json=FOUR_PREVIOUS_SESSIONS, headers=ADMIN
    )
    assert created.status_code == 201, created.text
    closed = stack.new_session(expo_id, ordinal=5, status="closed")
    opened = stack.new_session(expo_id, ordinal=6, status="open")
    planned = stack.new_session(expo_id, ordinal=7, status="planned")
    body = {"session_id": opened, "attendee_id": "A-1", "category": "general", "country": "CN"}
    assert stack.ingest.post("/v1/checkins", json=body, headers=ADMIN).status_code == 202
    stack.fold()
    return Targets(expo_id, opened, planned, closed)
