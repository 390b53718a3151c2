"""The `expo` command speaks plainly: its version, help with defaults and an example, one
line for a bad setting or an unknown session, progress of long work, migration status."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlmodel import SQLModel

from services import cli, usage
from shared.settings import get_settings
from tests.conftest import postgres_database
from tests.e2e.conftest import free_port
from tests.integration.conftest import ADMIN, Stack
from tests.integration.test_pipeline import random_events


def expo(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`expo ARGS` as a person runs it, in `cwd`, with no EXPO_* setting but `env`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EXPO_")}
    command = [sys.executable, "-m", "services.cli", *args]
    return subprocess.run(
        command,
        cwd=cwd,
        env=clean | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def leaves() -> list[list[str]]:
    """Every runnable command with made-up values for what it requires."""
    found = []
    for path, command in usage.subcommands(cli.parser()):
        if any(a.dest.endswith("command") for a in command._actions if not a.option_strings):
            continue  # a group such as `token`: its commands are listed themselves
        argv = list(path)
        for action in command._actions:
            if not action.option_strings:
                argv.append("made-up")
            elif action.required:
                argv += [action.option_strings[0], str(next(iter(action.choices or ["x"])))]
        found.append(argv)
    return found


@pytest.fixture
def no_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in [n for n in os.environ if n.startswith("EXPO_")]:
        monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_version_names_the_installed_release(tmp_path: Path) -> None:
    shown = expo("--version", cwd=tmp_path)
    assert shown.returncode == 0
    assert shown.stdout == f"expo {version('expo-tally')}\n"


def entries(text: str) -> list[str]:
    """The option entries of a help text, each with its wrapped description joined."""
    found: list[str] = []
    for line in text.splitlines():
        if re.match(r"\s{2}-", line):
            found.append(line)
        elif found and re.match(r"\s{8,}\S", line):
            found[-1] += " " + line.strip()
    return found


@pytest.mark.parametrize("path", [p for p, _ in usage.subcommands(cli.parser())], ids=" ".join)
def test_every_command_help_shows_an_example_and_each_default(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([*path, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert re.search(r"^example: (\S+=\S+ )?expo( \S+)*$", text, re.MULTILINE), text
    command = dict(usage.subcommands(cli.parser()))[path]
    with_default = [
        a
        for a in command._actions
        if a.option_strings and a.nargs != 0 and not a.required and a.dest != "help"
    ]
    described = entries(text)
    for action in with_default:
        entry = next(e for e in described if action.option_strings[0] in e)
        assert "(default: " in entry, entry


@pytest.mark.parametrize("argv", leaves(), ids=" ".join)
@pytest.mark.usefixtures("no_settings")
def test_a_bad_setting_refuses_every_command_in_one_line_naming_it(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EXPO_API_PORT", "abc")
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.startswith("expo: EXPO_API_PORT: ")
    assert said.err.count("\n") == 1


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"EXPO_API_PORT": "abc"}, ["EXPO_API_PORT: input should be a valid integer"]),
        ({"EXPO_DATABASE_URL": "mysql://x"}, ["EXPO_DATABASE_URL: must be a sqlite://"]),
        (
            {"EXPO_LOG_FORMAT": "xml", "EXPO_INGEST_PORT": "0"},
            ["EXPO_LOG_FORMAT: input should be 'text' or 'json'", "EXPO_INGEST_PORT: input"],
        ),
        ({"EXPO_CORS_ORIGINS": "https://a"}, ["EXPO_CORS_ORIGINS: cannot be read"]),
    ],
)
def test_bad_settings_are_one_line_without_a_traceback(
    settings: dict[str, str], named: list[str], tmp_path: Path
) -> None:
    refused = expo("migrate", cwd=tmp_path, env=settings)
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr.startswith("expo: ")
    for words in named:
        assert words in refused.stderr
    assert not (tmp_path / "var").exists()


def test_demo_without_services_says_to_start_them_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    refused = expo("demo", "--duration", "1", cwd=tmp_path, env={"EXPO_API_PORT": str(port)})
    assert refused.returncode == 2
    assert refused.stderr == (
        f"expo: no API answers at http://127.0.0.1:{port} — start `expo up` first\n"
    )
    assert not (tmp_path / "var").exists()


def row_counts(stack: Stack) -> dict[str, int]:
    with stack.engine.connect() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for name, table in SQLModel.metadata.tables.items()
        }


@pytest.mark.parametrize("check", [[], ["--check"]], ids=["rebuild", "check"])
def test_rebuild_of_an_unknown_session_names_it_and_writes_nothing(
    stack: Stack, check: list[str], tmp_path: Path
) -> None:
    known = stack.new_session(stack.new_expo())
    before = row_counts(stack)
    env = {"EXPO_DATABASE_URL": stack.settings.database_url}
    refused = expo(
        "rebuild", "--session", known, "--session", "nope-5", *check, cwd=tmp_path, env=env
    )
    assert refused.returncode == 1
    assert refused.stderr == "expo: there is no session 'nope-5'\n"
    assert refused.stdout == ""
    assert row_counts(stack) == before


def test_rebuild_reports_progress_in_plain_lines_when_not_on_a_terminal(
    stack: Stack, tmp_path: Path
) -> None:
    session = stack.new_session(stack.new_expo())
    posted = stack.ingest.post(
        "/v1/events:batch", json={"events": random_events(session, 300, seed=3)}, headers=ADMIN
    )
    assert {r["status"] for r in posted.json()["results"]} == {"accepted"}
    stack.fold()
    env = {"EXPO_DATABASE_URL": stack.settings.database_url}
    for command, what in ((["rebuild"], "rebuild"), (["rebuild", "--check"], "rebuild check")):
        done = expo(*command, "--session", session, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stderr
        lines = done.stderr.splitlines()
        assert "\r" not in done.stderr
        assert re.fullmatch(rf"{what}: 300/300 events, [\d,]+/s, done in [\d,.]+ s", lines[-1])
    assert done.stdout == "rebuild check: no differences\n"


def test_import_history_reports_progress_in_plain_lines(stack: Stack, tmp_path: Path) -> None:
    expo_id = stack.new_expo()
    path = tmp_path / "history.csv"
    path.write_text(f"expo_id,label,first_ordinal,last_ordinal,deals\n{expo_id},Old,1,2,30\n")
    env = {"EXPO_DATABASE_URL": stack.settings.database_url}
    done = expo("import-history", str(path), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r"import-history: 1/1 rows, [\d,]+/s, done in [\d.]+ s\n", done.stderr)


def test_migrate_status_on_no_database_says_none_applied_and_creates_nothing(
    tmp_path: Path,
) -> None:
    said = expo("migrate", "--status", cwd=tmp_path)
    assert said.returncode == 0, said.stderr
    assert "current revision: none applied" in said.stdout
    assert re.search(r"^\d+ migrations to apply", said.stdout, re.MULTILINE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.postgres
def test_migrate_status_says_how_far_postgres_is_and_changes_nothing(tmp_path: Path) -> None:
    for url in postgres_database():
        empty = expo("migrate", "--status", cwd=tmp_path, env={"EXPO_DATABASE_URL": url})
        assert empty.returncode == 0, empty.stderr
        assert "current revision: none applied" in empty.stdout
        again = expo("migrate", "--status", cwd=tmp_path, env={"EXPO_DATABASE_URL": url})
        assert again.stdout == empty.stdout  # the first look applied nothing
        assert expo("migrate", cwd=tmp_path, env={"EXPO_DATABASE_URL": url}).returncode == 0
        current = expo("migrate", "--status", cwd=tmp_path, env={"EXPO_DATABASE_URL": url})
        revisions = dict(line.split(": ") for line in current.stdout.splitlines()[:3])
        assert revisions["current revision"] == revisions["head revision"]
        assert current.stdout.splitlines()[-1] == "up to date"
