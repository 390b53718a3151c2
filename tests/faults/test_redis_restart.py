"""Stop the embedded Redis mid-load, gracefully or by SIGKILL, and start it again on its
append-only data: the services ride it out and every acknowledged event is counted once."""

import random

import pytest

from tests.faults.audit import Fault
from tests.faults.scenario import PROFILE, conclude, open_sessions, under_load
from tests.faults.stack import Stack

SERVICES = ("api", "ingest", "aggregator")
AWAY_SECONDS = 1.5


@pytest.mark.timeout(900)
def test_a_redis_restart_mid_load_loses_and_doubles_nothing(stack: Stack) -> None:
    sessions = open_sessions(stack)
    rng = random.Random(3)
    fault = Fault("redis-restart")
    with under_load(stack, sessions) as load:
        while fault.injected < PROFILE.redis_restarts:
            load.wait(rng.uniform(1.5, 3.0))
            stack.stop_redis(crash=fault.injected % 2 == 1)  # every other one a crash
            load.wait(AWAY_SECONDS)
            stack.start_redis()
            fault.injected += 1
        for name in SERVICES:
            stack.wait_ready(name, timeout=30)
    failed = load.stats.failed_attempts
    assert failed["http 503"] > 0, f"ingest never said 503 while Redis was away: {failed}"
    assert set(failed) <= {"http 503", "http 429"}, f"ingest failed otherwise: {failed}"
    fault.notes["crashes (SIGKILL) among the restarts"] = PROFILE.redis_restarts // 2
    conclude(stack, load, fault)
