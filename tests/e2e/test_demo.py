"""`expo demo` against the running services: one token of its own, revoked when it ends;
a session that covers today on every run; failures said in one line."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select

from services.demo import EXPO_ID
from services.demo_day import SESSION_ID
from shared.db import make_engine
from shared.tables import ApiToken
from tests.conftest import migrated, sqlite_database
from tests.e2e.conftest import ADMIN, Services


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: the demo's expo and session have fixed ids, and one
    test closes the session for good."""
    for url in sqlite_database(tmp_path):
        migrated(url)
        yield url


def demo(services: Services, cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """A short `expo demo` run by an operator who has no EXPO_ADMIN_TOKEN of their own."""
    env = {k: v for k, v in services.env.items() if k != "EXPO_ADMIN_TOKEN"} | settings
    command = [sys.executable, "-m", "services.cli", "demo", "--duration", "2", "--rate", "30"]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def tokens(services: Services) -> list[ApiToken]:
    engine = make_engine(services.env["EXPO_DATABASE_URL"])
    with engine.connect() as conn:
        found = [ApiToken.model_validate(r._mapping) for r in conn.execute(select(ApiToken))]
    engine.dispose()
    return found


def test_demo_runs_leave_one_revoked_token_of_their_own(services: Services, tmp_path: Path) -> None:
    admins_before = sum(t.role == "admin" and t.label != "expo demo" for t in tokens(services))
    for _ in range(2):
        run = demo(services, tmp_path)
        assert run.returncode == 0, run.stderr
        assert "refused" in run.stdout
        assert " 0 events accepted" not in run.stdout
    own = [t for t in tokens(services) if t.label == "expo demo"]
    assert len(own) == 1
    assert own[0].revoked_at is not None
    assert sum(t.role == "admin" and t.label != "expo demo" for t in tokens(services)) == (
        admins_before
    )


def test_demo_session_made_on_an_earlier_day_covers_today_again(
    services: Services, tmp_path: Path
) -> None:
    api = services.client("api")
    made = api.post("/v1/expos", json={"id": EXPO_ID, "name": "Demo expo"}, headers=ADMIN)
    assert made.status_code == 201, made.text
    long_ago = datetime.now(UTC).date() - timedelta(days=30)
    session = {"id": SESSION_ID, "ordinal": 5, "name": "The 5th session"}
    days = {"starts_on": long_ago.isoformat(), "ends_on": (long_ago + timedelta(2)).isoformat()}
    made = api.post(f"/v1/expos/{EXPO_ID}/sessions", json=session | days, headers=ADMIN)
    assert made.status_code == 201, made.text  # as a demo run a month ago left it

    run = demo(services, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "ingest refuses" not in run.stdout
    accepted = int(run.stdout.split(" events accepted")[0].rsplit(" ", 1)[-1])
    assert accepted > 0
    shown = api.get(f"/v1/sessions/{SESSION_ID}").json()
    assert shown["starts_on"] <= datetime.now(UTC).date().isoformat() <= shown["ends_on"]


def test_demo_with_the_wrong_admin_token_stops_with_one_line(
    services: Services, tmp_path: Path
) -> None:
    run = demo(services, tmp_path, EXPO_ADMIN_TOKEN="not-the-admin-token-at-all")
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1, run.stderr
    assert run.stderr.startswith("expo: POST http://127.0.0.1:")
    assert "answered 401: the token is unknown or revoked" in run.stderr


def test_demo_says_plainly_when_ingest_refuses_its_posts(
    services: Services, tmp_path: Path
) -> None:
    assert demo(services, tmp_path).returncode == 0
    api = services.client("api")
    closed = api.patch(f"/v1/sessions/{SESSION_ID}", json={"status": "closed"}, headers=ADMIN)
    assert closed.status_code == 200, closed.text
    run = demo(services, tmp_path)
    assert "demo: ingest refuses events: session_closed: " in run.stdout
    assert run.returncode == 1
    assert run.stderr == "expo: ingest refused every event (session_closed)\n"
    assert httpx2.get(services.url("api") + "/healthz").status_code == 200
