"""SIGKILL the aggregator again and again while it folds under a steady load."""

import random

import pytest

from tests.faults.audit import Fault
from tests.faults.scenario import PROFILE, conclude, open_sessions, under_load
from tests.faults.stack import Stack
from tests.wait import wait_until


@pytest.mark.timeout(1200)
def test_an_aggregator_killed_mid_fold_again_and_again_loses_and_doubles_nothing(
    stack: Stack,
) -> None:
    sessions = open_sessions(stack)
    rng = random.Random(20)
    fault = Fault("aggregator-sigkill")
    with under_load(stack, sessions) as load:
        while fault.injected < PROFILE.aggregator_kills:
            if not stack.alive("aggregator"):
                stack.spawn("aggregator")
            wait_until(
                lambda: stack.fold_batches("aggregator") > 0,
                timeout=90,
                what="the restarted aggregator to commit a batch",
            )
            load.wait(rng.uniform(0.0, 0.5))  # somewhere inside the next fold
            stack.kill("aggregator")
            fault.injected += 1
        stack.start("aggregator")
    conclude(stack, load, fault)
