"""After a fault run: the figures against the pure fold of exactly the acknowledged events,
the event store against the acknowledged ids, and `expo rebuild --check`."""

import subprocess
import sys
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx2
from pydantic import TypeAdapter
from sqlalchemy import create_engine, select
from sqlalchemy.pool import NullPool

from services.ingest.requests import BatchItem
from shared.figures import Tally
from shared.fold import fold
from shared.stream import GROUP, dead_letter_key, stream_key
from shared.tables import EVENTS
from tests.faults.load import Item, Load
from tests.faults.stack import Stack
from tests.wait import wait_until

ITEMS: TypeAdapter[BatchItem] = TypeAdapter(BatchItem)
CATCH_UP_TIMEOUT = 900.0
STALL_SECONDS = 60.0
PENDING_SECONDS = 15.0  # beyond the claim idle time, for the last acks to land

Figures = dict[str, Any]


@dataclass
class Fault:
    """A fault run: its name, the faults injected so far, and what else it observed."""

    name: str
    injected: int = 0
    claim_idle: float = 0.0  # how long a dead consumer's entries may wait to be reclaimed
    notes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """One fault run, as the test output reports it."""

    fault: str
    acknowledged: int
    injected: int
    lost: int
    doubled: int
    unacknowledged_stored: int
    dead_lettered: int
    pending: int
    difference: str  # empty when the figures equal the reference
    rebuild_check: str
    seconds: dict[str, float]  # how long the fold took to catch up, and the checks

    @property
    def line(self) -> str:
        return (
            f"fault {self.fault}: events acknowledged {self.acknowledged}, "
            f"faults injected {self.injected}, lost {self.lost}, doubled {self.doubled}"
        )

    def __str__(self) -> str:
        return (
            f"{self.line}; figures {'equal' if not self.difference else 'differ:'}\n"
            f"{self.difference}\n"
            f"stored events never acknowledged {self.unacknowledged_stored}, dead letters "
            f"{self.dead_lettered}, entries pending {self.pending}\n"
            f"rebuild check: {self.rebuild_check}"
        )

    @property
    def clean(self) -> bool:
        return (
            not self.difference
            and self.lost == 0
            and self.doubled == 0
            and self.unacknowledged_stored == 0
            and self.dead_lettered == 0
            and self.pending == 0
            and self.rebuild_check == "clean"
        )


def reference_figures(items: Iterable[Item], sessions: Iterable[str]) -> dict[str, Figures]:
    """The pure fold of the given events, per session, as the API renders `current`."""
    now = datetime.now(UTC)
    by_session: dict[str, list[Item]] = {session: [] for session in sessions}
    for item in items:
        by_session[item["session_id"]].append(item)
    expected = {}
    for session, session_items in by_session.items():
        state, _ = fold(ITEMS.validate_python(i).to_event(now, "reference") for i in session_items)
        countries = {country for country, refs in state.country_refs.items() if refs > 0}
        figures = Tally.of_session(state.totals, countries, is_open=True).figures()
        expected[session] = figures.model_dump(mode="json")
    return expected


def current_figures(api: httpx2.Client, sessions: Iterable[str]) -> dict[str, Figures] | None:
    """The figures the API shows now; None while it cannot answer (it may be recovering)."""
    figures = {}
    for session in sessions:
        try:
            response = api.get(f"/v1/sessions/{session}/totals")
        except httpx2.TransportError:
            return None
        if response.status_code != 200:
            return None
        figures[session] = response.json()["current"]
    return figures


def wait_for_figures(api: httpx2.Client, expected: dict[str, Figures]) -> dict[str, Figures]:
    """Wait while the fold catches up with the reference (it may have a long backlog);
    give up once the figures stop moving. Returns the last figures seen."""
    last: dict[str, Figures] = {}
    moved = time.monotonic()

    def settled() -> bool:
        nonlocal last, moved
        now = current_figures(api, expected) or last
        if now != last:
            last, moved = now, time.monotonic()
        return last == expected or time.monotonic() - moved > STALL_SECONDS

    wait_until(settled, timeout=CATCH_UP_TIMEOUT, what="the fold to catch up or stall")
    return last


def stored_ids(database_url: str, sessions: Iterable[str]) -> set[str]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            query = select(EVENTS.c.event_id).where(EVENTS.c.session_id.in_(list(sessions)))
            return set(conn.execute(query).scalars())
    finally:
        engine.dispose()


def pending_entries(stack: Stack, sessions: Iterable[str], consumer: str | None = None) -> int:
    """Entries delivered but not acknowledged in the consumer group (to one consumer)."""
    client = stack.redis_client()
    try:
        pending = 0
        for session in sessions:
            summary: Any = client.xpending(stream_key(session), GROUP)
            for owner in summary["consumers"]:
                name = owner["name"].decode() if isinstance(owner["name"], bytes) else owner["name"]
                if consumer in (None, name):
                    pending += int(owner["pending"])
        return pending
    finally:
        client.close()


def dead_letters(stack: Stack, sessions: Iterable[str]) -> int:
    client = stack.redis_client()
    try:
        return sum(int(client.xlen(dead_letter_key(s))) for s in sessions)
    finally:
        client.close()


def rebuild_check(stack: Stack) -> str:
    """`expo rebuild --check` with the services' settings: "clean", or its diff."""
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "rebuild", "--check"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode == 0:
        return "clean"
    return f"exit {result.returncode}:\n{result.stdout[-4000:]}{result.stderr[-4000:]}"


def difference(current: dict[str, Figures], expected: dict[str, Figures]) -> str:
    lines = []
    for session, figures in expected.items():
        shown = current.get(session, {})
        lines += [
            f"session {session}: {key} is {shown.get(key)!r}, the reference {value!r}"
            for key, value in figures.items()
            if shown.get(key) != value
        ]
    return "\n".join(lines)


def wait_for_pending(stack: Stack, sessions: list[str], timeout: float) -> int:
    """Entries left pending by killed consumers are reclaimed (or re-read) in time."""
    with suppress(AssertionError):  # the verdict reports how many
        wait_until(lambda: pending_entries(stack, sessions) == 0, timeout, "no pending entries")
    return pending_entries(stack, sessions)


def _over_count(current: dict[str, Figures], expected: dict[str, Figures]) -> int:
    return sum(
        max(0, current.get(s, {}).get("checkins", 0) - figures["checkins"])
        for s, figures in expected.items()
    )


def _under_count(current: dict[str, Figures], expected: dict[str, Figures]) -> int:
    return sum(
        max(0, figures["checkins"] - current.get(s, {}).get("checkins", 0))
        for s, figures in expected.items()
    )


def judge(stack: Stack, load: Load, fault: Fault) -> Verdict:
    """Wait for the fold to catch up, then compare figures, event store and rebuild."""
    sessions = list(load.plan.sessions)
    started = time.monotonic()
    expected = reference_figures(load.acknowledged.values(), sessions)
    with httpx2.Client(base_url=stack.url("api"), timeout=30) as api:
        current = wait_for_figures(api, expected)
    caught_up = time.monotonic()
    stored = stored_ids(stack.database_url, sessions)
    acknowledged = set(load.acknowledged)
    pending = wait_for_pending(stack, sessions, timeout=fault.claim_idle + PENDING_SECONDS)
    checked = rebuild_check(stack)
    return Verdict(
        fault=fault.name,
        acknowledged=len(acknowledged),
        injected=fault.injected,
        lost=max(len(acknowledged - stored), _under_count(current, expected)),
        doubled=_over_count(current, expected),
        unacknowledged_stored=len(stored - acknowledged),
        dead_lettered=dead_letters(stack, sessions),
        pending=pending,
        difference=difference(current, expected),
        rebuild_check=checked,
        seconds={
            "catch-up": caught_up - started,
            "checks": time.monotonic() - caught_up,
        },
    )
