"""Two aggregators fold at once; one is SIGKILLed and the survivor reclaims what it left
pending (XAUTOCLAIM after EXPO_CLAIM_IDLE_MS)."""

import random

import pytest

from tests.conftest import new_id
from tests.faults.audit import Fault, pending_entries
from tests.faults.scenario import PROFILE, conclude, open_sessions, under_load
from tests.faults.stack import Stack
from tests.wait import wait_until

CLAIM_IDLE_MS = 2000
PAIR = ("aggregator", "aggregator-b")
SETTINGS = {"EXPO_CLAIM_IDLE_MS": str(CLAIM_IDLE_MS)}


@pytest.mark.faults_full
@pytest.mark.timeout(900)
@pytest.mark.parametrize("stack", [SETTINGS], indirect=True)
def test_two_aggregators_one_killed_lose_and_double_nothing(stack: Stack) -> None:
    stack.add(PAIR[1], "aggregator", **SETTINGS)
    stack.start(PAIR[1])
    sessions = open_sessions(stack)
    rng = random.Random(2)
    fault = Fault("two-aggregators-one-sigkill", claim_idle=CLAIM_IDLE_MS / 1000)
    orphaned = 0
    with under_load(stack, sessions) as load:
        while fault.injected < PROFILE.aggregator_pair_kills:
            victim = PAIR[fault.injected % 2]
            wait_until(
                lambda: all(stack.fold_batches(name) > 0 for name in PAIR),
                timeout=90,
                what="both aggregators to fold",
            )
            load.wait(rng.uniform(0.0, 1.0))
            stack.kill(victim)
            fault.injected += 1
            orphaned += pending_entries(stack, sessions, stack.consumer(victim))
            load.wait(CLAIM_IDLE_MS / 1000 + 1)  # the survivor folds alone, and reclaims
            # The replacement is a new consumer: what the victim left pending stays with it
            # until the survivor claims it.
            stack.add(victim, "aggregator", **SETTINGS, EXPO_CONSUMER_NAME=new_id(victim))
            stack.spawn(victim)
    fault.notes["entries killed consumers left pending"] = orphaned
    conclude(stack, load, fault)
