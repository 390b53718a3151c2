"""How long and how hard each fault runs, and the steps every fault test shares: open
sessions, run the load, then judge and report."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx2

from tests.conftest import new_id, running_days
from tests.e2e.conftest import ADMIN, create
from tests.faults.audit import Fault, Verdict, judge
from tests.faults.load import Load, LoadPlan
from tests.faults.stack import Stack
from tests.wait import wait_until

VERDICTS: list[str] = []  # printed in the terminal summary


@dataclass(frozen=True)
class Profile:
    """The scale of a run: seconds of load and the number of each fault."""

    name: str
    load_seconds: float
    rate: float  # events per second
    aggregator_kills: int
    ingest_kills: int
    redis_restarts: int
    backend_terminations: int
    aggregator_pair_kills: int


FULL = Profile("full", 40, 2000, 20, 10, 6, 40, 6)
BOUNDED = Profile("bounded", 10, 1000, 5, 3, 2, 10, 2)
PROFILE = FULL if os.environ.get("EXPO_FAULTS") == "full" else BOUNDED


def open_sessions(stack: Stack, count: int = 2) -> tuple[str, ...]:
    """An expo with `count` open sessions (so the fold reads several streams)."""
    with httpx2.Client(base_url=stack.url("api"), timeout=30) as api:
        expo = create(api, "/v1/expos", {"id": new_id("expo"), "name": "Fault expo"})["id"]
        sessions = []
        for ordinal in range(1, count + 1):
            session = create(
                api,
                f"/v1/expos/{expo}/sessions",
                {
                    "id": new_id("session"),
                    "ordinal": ordinal,
                    "name": f"Session {ordinal}",
                    **running_days(),
                },
            )["id"]
            opened = api.patch(f"/v1/sessions/{session}", json={"status": "open"}, headers=ADMIN)
            assert opened.status_code == 200, opened.text
            sessions.append(session)
    return tuple(sessions)


@contextmanager
def under_load(stack: Stack, sessions: tuple[str, ...]) -> Iterator[Load]:
    """The load runs for the block, and for at least the profile's seconds."""
    load = Load(stack.url("ingest"), LoadPlan(sessions, rate=PROFILE.rate))
    load.start()
    try:
        wait_until(lambda: load.acknowledged, timeout=30, what="a first acknowledged batch")
        yield load
        if (rest := PROFILE.load_seconds - load.running_for()) > 0:
            load.wait(rest)
    finally:
        load.stop()


def folded_checkins(api: httpx2.Client, sessions: tuple[str, ...]) -> int:
    """Check-ins folded so far over the sessions; -1 while the API cannot tell."""
    total = 0
    for session in sessions:
        try:
            response = api.get(f"/v1/sessions/{session}/totals")
        except httpx2.TransportError:
            return -1
        if response.status_code != 200:
            return -1
        total += int(response.json()["current"]["checkins"])
    return total


def conclude(stack: Stack, load: Load, fault: Fault) -> Verdict:
    """Judge the run, print and keep its line, and fail on any loss or double count."""
    fault.notes["fold pauses (SQL or Redis errors)"] = stack.log_count("fold paused")
    verdict = judge(stack, load, fault)
    stats = load.stats
    details = (
        f"  load: {load.rate:.0f} events/s acknowledged over {stats.stopped - stats.started:.0f} s "
        f"in {stats.requests} requests; failed attempts, retried: {dict(stats.failed_attempts)}; "
        f"{stats.resent_events} acknowledged events sent again on purpose"
        + "".join(f"; {note} {count}" for note, count in fault.notes.items())
        + f"\n  after: rebuild check {verdict.rebuild_check.splitlines()[0]}, "
        f"{verdict.pending} entries pending, {verdict.dead_lettered} dead letters, "
        f"{verdict.unacknowledged_stored} stored events never acknowledged; "
        + ", ".join(f"{step} {seconds:.0f} s" for step, seconds in verdict.seconds.items())
    )
    VERDICTS.extend([verdict.line, details])
    print(f"\n{verdict.line}\n{details}")
    assert not stats.refused, f"ingest refused acknowledgeable events: {stats.refused}"
    assert verdict.clean, str(verdict)
    return verdict
