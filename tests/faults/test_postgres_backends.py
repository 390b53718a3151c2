"""Terminate every PostgreSQL backend of the database, again and again, mid-fold."""

import random

import pytest
from sqlalchemy import create_engine, text

from tests.faults.audit import Fault
from tests.faults.scenario import PROFILE, conclude, open_sessions, under_load
from tests.faults.stack import Stack

TERMINATE = text(
    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
)


@pytest.mark.faults_full
@pytest.mark.timeout(900)
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_postgres_backends_terminated_mid_fold_lose_and_double_nothing(stack: Stack) -> None:
    sessions = open_sessions(stack)
    rng = random.Random(5)
    fault = Fault("postgres-backends-terminated")
    killer = create_engine(stack.database_url, isolation_level="AUTOCOMMIT")
    try:
        with under_load(stack, sessions) as load:
            for _ in range(PROFILE.backend_terminations):
                load.wait(rng.uniform(0.2, 1.0))
                with killer.connect() as conn:
                    fault.injected += int(conn.execute(TERMINATE).scalar_one())
    finally:
        killer.dispose()
    fault.notes["rounds of termination"] = PROFILE.backend_terminations
    assert fault.injected >= PROFILE.backend_terminations, "rounds found no backend to end"
    conclude(stack, load, fault)
