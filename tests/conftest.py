"""Real parts for every test: the embedded Redis server, SQLite, and PostgreSQL.

PostgreSQL tests run against the server named by EXPO_TEST_POSTGRES_URL (`make test` and
CI point it at 127.0.0.1:5432). Each run makes a fresh database there and drops it after.
When the variable is unset, those tests fail and say why; they never skip silently.
"""

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from shared import embedded_redis, migration
from shared.db import make_engine

ADMIN_TOKEN = "test-admin-" + secrets.token_hex(16)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Database-parametrised tests carry the `postgres` marker on their PostgreSQL leg."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgres":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = embedded_redis.start(tmp_path_factory.mktemp("var"))
    yield embedded_redis.url_of(server)
    server.stop()


def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test run; dropped afterwards."""
    base = os.environ.get("EXPO_TEST_POSTGRES_URL")
    if not base:
        pytest.fail(
            "EXPO_TEST_POSTGRES_URL is not set: PostgreSQL tests need a server "
            "(make test points it at postgresql+psycopg://postgres@127.0.0.1:5432/postgres)"
        )
    name = "expo_test_" + secrets.token_hex(6)
    server = create_engine(base, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def sqlite_database(directory: Path) -> Iterator[str]:
    yield f"sqlite:///{directory / 'expo.db'}"


def migrated(url: str) -> None:
    engine = make_engine(url)
    migration.upgrade(engine)
    engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Every test that takes this runs on SQLite and on PostgreSQL, migrations applied."""
    makers: dict[str, Callable[[], Iterator[str]]] = {
        "sqlite": lambda: sqlite_database(tmp_path_factory.mktemp("sqlite")),
        "postgres": postgres_database,
    }
    for url in makers[request.param]():
        migrated(url)
        yield url


def new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def running_days(starts_on: date | None = None) -> dict[str, str]:
    """`starts_on` and `ends_on` of a four-day session; by default one running now (from
    yesterday in UTC), so that check-ins at their time of receipt fall on its days."""
    first = starts_on or datetime.now(UTC).date() - timedelta(days=1)
    return {"starts_on": first.isoformat(), "ends_on": (first + timedelta(days=3)).isoformat()}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many tests ran on each database, so a run without PostgreSQL shows."""
    passed = terminalreporter.stats.get("passed", [])
    legs = {db: sum(f"[{db}" in r.nodeid for r in passed) for db in ("sqlite", "postgres")}
    terminalreporter.write_line(
        f"database legs passed: sqlite {legs['sqlite']}, postgres {legs['postgres']}"
    )
