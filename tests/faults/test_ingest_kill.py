"""SIGKILL ingest while a batch is on its way; clients retry the same events."""

import random

import pytest

from tests.faults.audit import Fault
from tests.faults.scenario import PROFILE, conclude, open_sessions, under_load
from tests.faults.stack import Stack
from tests.wait import wait_until

CUT_OFF = ("RemoteProtocolError", "ReadError")  # the connection died before the answer


@pytest.mark.faults_full
@pytest.mark.timeout(900)
def test_ingest_killed_mid_batch_loses_and_doubles_nothing(stack: Stack) -> None:
    sessions = open_sessions(stack)
    rng = random.Random(7)
    fault = Fault("ingest-sigkill")
    with under_load(stack, sessions) as load:
        while fault.injected < PROFILE.ingest_kills:
            load.wait(rng.uniform(0.5, 2.0))
            wait_until(load.in_flight.is_set, timeout=30, what="a batch on its way")
            load.wait(rng.uniform(0.0, 0.03))
            stack.kill("ingest")
            fault.injected += 1
            stack.start("ingest")
    cut_off = sum(load.stats.failed_attempts[name] for name in CUT_OFF)
    fault.notes["requests cut off mid-batch"] = cut_off
    assert cut_off >= fault.injected // 2, "most kills missed the batches on their way"
    conclude(stack, load, fault)
