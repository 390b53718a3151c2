"""The fault suite: real processes under load, with faults injected, on a fresh database.

`make test` runs a bounded subset (the legs not marked `faults_full`, with short loads and
few faults); `make test-faults` sets EXPO_FAULTS=full and runs every leg at full length.
"""

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import migrated, postgres_database, sqlite_database
from tests.faults.scenario import FULL, PROFILE, VERDICTS
from tests.faults.stack import Stack


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Outside the full suite, leave the heavy legs out (deselected, not skipped)."""
    if PROFILE is FULL:
        return
    heavy = [item for item in items if item.get_closest_marker("faults_full")]
    if heavy:
        config.hook.pytest_deselected(items=heavy)
        items[:] = [item for item in items if item not in heavy]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.faults_full)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for each fault run: SQLite or PostgreSQL."""
    makers = {"sqlite": lambda: sqlite_database(tmp_path), "postgres": postgres_database}
    for url in makers[request.param]():
        migrated(url)
        yield url


@pytest.fixture
def stack(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    """api, ingest and one aggregator, running; `indirect` params add settings to all."""
    settings: dict[str, str] = getattr(request, "param", {})
    started = Stack.over(tmp_path, database_url)
    try:
        for name in ("api", "ingest", "aggregator"):
            started.add(name, name, **settings)
            started.spawn(name)
        for name in ("api", "ingest", "aggregator"):
            started.wait_ready(name)
        yield started
    finally:
        started.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A fault run's verdict travels with its test report, so the summary has it even when
    the test ran in another process (pytest-xdist)."""
    report = yield
    if report.when == "call" and VERDICTS:
        report.user_properties.append(("fault verdict", "\n".join(VERDICTS)))
        VERDICTS.clear()
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    lines = [
        text
        for outcome in ("passed", "failed")
        for report in terminalreporter.stats.get(outcome, [])
        for name, text in getattr(report, "user_properties", [])
        if name == "fault verdict"
    ]
    if lines:
        terminalreporter.section(f"fault suite ({PROFILE.name})")
        for line in lines:
            terminalreporter.write_line(line)
