"""The shell examples of the README and of docs/, run against the services as a reader of the
docs would run them: the rule for which blocks run and how their output is checked is in
docs/api.md, "Examples that run"."""

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ADMIN_TOKEN, migrated, sqlite_database
from tests.e2e.conftest import Services
from tests.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\s*$")
ADDRESS = re.compile(r"\b(?:localhost|127\.0\.0\.1):800([012])\b")
WRITES = re.compile(r"-X\s+(?:POST|PATCH|PUT|DELETE)\b|\s(?:-d|--data\S*)\s")
ASSIGNED = re.compile(r"^\s*(?:export\s+)?([A-Za-z_]\w*)=", re.MULTILINE)
STATUS = re.compile(r"^expo-docs-status (\d{3})$", re.MULTILINE)
SERVICES = {"0": "api", "1": "ingest", "2": "aggregator"}

ANY = "…"
# Values the server makes anew on every run (and numeric ids it assigns): shown, they only say
# the member is there.
MADE_BY_SERVER = {"event_id", "position", "as_of", "opened_at", "closed_at", "last_revised_at"}
HEADERS_MADE_BY_SERVER = {"etag", "date", "content-length"}


@dataclass(frozen=True)
class Example:
    path: Path
    line: int
    script: str
    shown: str | None
    shown_as: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def only_reads(self) -> bool:
        return WRITES.search(self.script) is None


def fenced_blocks(path: Path) -> Iterator[tuple[int, int, str, str]]:
    """(first line, line after the closing fence, info string, text) of each fenced block."""
    lines = path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        yield index + 1, end + 1, opening.group(1), "\n".join(lines[index + 1 : end])
        index = end + 1


def examples(path: Path) -> list[Example]:
    blocks = list(fenced_blocks(path))
    found = []
    for n, (line, after, info, text) in enumerate(blocks):
        if info != "sh" or "curl" not in text:
            continue
        following = blocks[n + 1] if n + 1 < len(blocks) else None
        shown = following if following and following[0] == after + 1 else None
        if shown is not None and shown[2] not in {"json", "text"}:
            shown = None
        found.append(
            Example(path, line, text, shown[3] if shown else None, shown[2] if shown else "")
        )
    return found


def documents(text: str) -> list[Any]:
    """The JSON documents of `text`, one after another."""
    decoder = json.JSONDecoder()
    found, index = [], 0
    while (index := len(text) - len(text[index:].lstrip())) < len(text):
        document, index = decoder.raw_decode(text, index)
        found.append(document)
    return found


def differences(shown: Any, actual: Any, where: str = "$") -> list[str]:
    if shown == ANY:
        return []
    if isinstance(shown, dict):
        return object_differences(shown, actual, where)
    if isinstance(shown, list):
        if not isinstance(actual, list) or len(actual) != len(shown):
            return [f"{where}: shown {len(shown)} items, got {actual!r}"]
        return [d for n, s in enumerate(shown) for d in differences(s, actual[n], f"{where}[{n}]")]
    return [] if shown == actual else [f"{where}: shown {shown!r}, got {actual!r}"]


def object_differences(shown: dict[str, Any], actual: Any, where: str) -> list[str]:
    if not isinstance(actual, dict):
        return [f"{where}: shown an object, got {actual!r}"]
    found = []
    for key, value in shown.items():
        if key == ANY:
            continue
        if key not in actual:
            found.append(f"{where}.{key}: shown, missing")
        elif key in MADE_BY_SERVER or (key == "id" and isinstance(value, int)):
            if (value is None) != (actual[key] is None):
                found.append(f"{where}.{key}: shown {value!r}, got {actual[key]!r}")
        else:
            found += differences(value, actual[key], f"{where}.{key}")
    if ANY not in shown:
        found += [f"{where}.{key}: not shown" for key in sorted(set(actual) - set(shown))]
    return found


def json_differences(shown: str, actual: str) -> list[str]:
    try:
        got = documents(actual)
    except json.JSONDecodeError:
        return [f"not JSON: {actual!r}"]
    expected = documents(shown)
    if len(got) != len(expected):
        return [f"shown {len(expected)} documents, got {len(got)}: {actual!r}"]
    return [d for n, s in enumerate(expected) for d in differences(s, got[n], f"${n}")]


def text_differences(shown: str, actual: str) -> list[str]:
    actual = actual.replace("\r\n", "\n")
    if not shown.startswith("HTTP/"):
        return [] if shown.strip() == actual.strip() else [f"shown {shown!r}, got {actual!r}"]
    shown_head, _, shown_body = shown.partition("\n\n")
    head, _, body = actual.partition("\n\n")
    status, *lines = head.splitlines()
    shown_status, *shown_lines = shown_head.splitlines()
    found = [] if status == shown_status else [f"status line {status!r}, shown {shown_status!r}"]
    headers = dict(line.lower().split(": ", 1) for line in lines)
    for line in shown_lines:
        name, value = line.lower().split(": ", 1)
        if name not in headers:
            found.append(f"header {name}: shown, missing")
        elif name not in HEADERS_MADE_BY_SERVER and headers[name] != value:
            found.append(f"header {name}: shown {value!r}, got {headers[name]!r}")
    return found + (json_differences(shown_body, body) if shown_body.strip() else [])


@dataclass
class Shell:
    """Runs examples as a reader's shell would, one after another, variables carried over."""

    services: Services
    state: Path

    def run(self, example: Example) -> tuple[str, list[int]]:
        script = ADDRESS.sub(
            lambda m: self.services.url(SERVICES[m.group(1)]).removeprefix("http://"),
            example.script,
        )
        # Every curl call reports its status on stderr; an example's own -w comes later and wins.
        prelude = (
            f"source {self.state}\n"
            'curl() { command curl -w "%{stderr}expo-docs-status %{http_code}\\n" "$@"; }\n'
        )
        keep = " ".join(sorted(set(ASSIGNED.findall(script))))
        epilogue = f"\nfor name in {keep}; do declare -p $name; done >> {self.state}\n"
        done = subprocess.run(
            ["bash", "-c", prelude + script + (epilogue if keep else "")],
            env={**self.services.env, "TOKEN": ADMIN_TOKEN},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, f"{example} exited {done.returncode}: {done.stderr}"
        return done.stdout, [int(code) for code in STATUS.findall(done.stderr)]

    def check(self, example: Example) -> list[str]:
        """What differs from what the docs show, each followed by the output itself."""
        output, statuses = self.run(example)
        shown = example.shown or ""
        expected_failures = {int(c) for c in re.findall(r'"status":\s*(\d{3})', shown)}
        found = [
            f"answered {code}, not shown as expected"
            for code in statuses
            if not (200 <= code < 300 or code == 304 or code in expected_failures)
        ]
        if example.shown_as == "json":
            found += json_differences(shown, output)
        elif example.shown_as == "text":
            found += text_differences(shown, output)
        return [*found, f"it printed: {output[:3000]}"] if found else []


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: the examples create expos with fixed ids."""
    for url in sqlite_database(tmp_path):
        migrated(url)
        yield url


def check_until_shown(shell: Shell, example: Example) -> None:
    """A block that only reads runs again until it prints what the docs show: the figures
    follow ingest's answer by moments."""
    last: list[list[str]] = []

    def matches() -> bool:
        last.append(shell.check(example))
        return not last[-1]

    try:
        wait_until(matches, timeout=10, what=f"{example} to print what it shows")
    except AssertionError:
        pytest.fail(f"{example}: " + "; ".join(last[-1]))


def run_demo(services: Services, cwd: Path) -> None:
    """What the README asks for before its tour: the demo, run briefly."""
    command = [sys.executable, "-m", "services.cli", "demo", "--duration", "1", "--rate", "5"]
    done = subprocess.run(
        command, cwd=cwd, env=services.env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_walkthrough_is_among_the_examples_that_run() -> None:
    walkthrough = [e for e in examples(ROOT / "docs" / "api.md") if e.shown is not None]
    assert len(walkthrough) >= 12, [str(e) for e in walkthrough]
    assert any("events:batch" in e.script for e in walkthrough)
    assert any("If-None-Match" in e.script for e in walkthrough)


def test_every_shell_example_runs_and_prints_what_the_docs_show(
    services: Services, tmp_path: Path
) -> None:
    run_demo(services, tmp_path)
    for path in DOCUMENTS:
        state = tmp_path / f"{path.stem}.sh"
        state.touch()
        shell = Shell(services, state)
        for example in examples(path):
            if example.only_reads and example.shown is not None:
                check_until_shown(shell, example)
            else:
                found = shell.check(example)
                assert not found, f"{example}: " + "; ".join(found)
