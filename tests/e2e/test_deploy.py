"""docker-compose.yml checked by Docker Compose v2 itself, and the Prometheus configuration,
alert rules and Grafana dashboard checked by promtool: each check is also shown to fail on a
broken file, so a pass means something."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.deploy import (
    COMPOSE_FILE,
    DASHBOARDS,
    PROMETHEUS_CONFIG,
    REQUIRED_SECRETS,
    ROOT,
    RULE_TESTS,
    RULES,
    RUNBOOK,
    alert_rules,
    compose,
    dashboard_expressions,
    promtool,
)

PUBLIC = {"ingest", "api"}  # behind the TLS proxy; every other port stays on the host


def compose_config(tmp_path: Path) -> dict[str, Any]:
    result = compose(
        COMPOSE_FILE, "config", "--format", "json", secrets=REQUIRED_SECRETS, home=tmp_path
    )
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


def test_docker_compose_accepts_the_compose_file(tmp_path: Path) -> None:
    result = compose(COMPOSE_FILE, "config", "--quiet", secrets=REQUIRED_SECRETS, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("      - prometheus\n", "      - prometheus-server\n", "undefined service"),
        ("    image: redis:7\n", "    image: redis:7\n    appendonly: yes\n", "appendonly"),
    ],
    ids=["undefined dependency", "unknown key"],
)
def test_docker_compose_refuses_a_broken_compose_file(
    tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    text = COMPOSE_FILE.read_text()
    assert old in text
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(old, new, 1))
    result = compose(broken, "config", "--quiet", secrets=REQUIRED_SECRETS, home=tmp_path)
    assert result.returncode != 0
    assert complaint in result.stderr


@pytest.mark.parametrize("missing", sorted(REQUIRED_SECRETS))
def test_the_compose_file_needs_every_secret_set(tmp_path: Path, missing: str) -> None:
    secrets = {k: v for k, v in REQUIRED_SECRETS.items() if k != missing}
    result = compose(COMPOSE_FILE, "config", "--quiet", secrets=secrets, home=tmp_path)
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value" in result.stderr


def test_only_ingest_and_api_listen_beyond_the_host(tmp_path: Path) -> None:
    services = compose_config(tmp_path)["services"]
    for name, service in services.items():
        for port in service.get("ports", []):
            if name not in PUBLIC:
                assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port}"
    assert "ports" not in services["redis"]
    assert "ports" not in services["postgres"]
    password = services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"]
    assert password == REQUIRED_SECRETS["GRAFANA_ADMIN_PASSWORD"]


def test_every_file_the_compose_file_mounts_is_in_the_repository(tmp_path: Path) -> None:
    services = compose_config(tmp_path)["services"]
    mounts = [v for s in services.values() for v in s.get("volumes", []) if v["type"] == "bind"]
    assert mounts
    for mount in mounts:
        assert Path(mount["source"]).exists(), mount


def test_promtool_accepts_the_prometheus_config_and_its_alert_rules() -> None:
    config = promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert config.returncode == 0, config.stdout + config.stderr
    assert "SUCCESS: 1 rule files found" in config.stdout  # the rules are loaded
    rules = promtool("check", "rules", str(RULES))
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_each_alert_fires_on_its_series_in_the_rule_tests() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {
        check["alertname"]
        for case in cases
        for check in case.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert fired == {rule["alert"] for rule in alert_rules()}


def test_the_rule_tests_fail_when_an_alert_stops_firing(tmp_path: Path) -> None:
    rules = RULES.read_text()
    assert "expr: expo_dead_letters > 0\n" in rules
    (tmp_path / RULES.name).write_text(
        rules.replace("expo_dead_letters > 0", "expo_dead_letters > 5")
    )
    (tmp_path / RULE_TESTS.name).write_text(RULE_TESTS.read_text())
    result = promtool("test", "rules", str(tmp_path / RULE_TESTS.name))
    assert result.returncode != 0
    assert "ExpoDeadLetters" in result.stdout + result.stderr


def test_the_dashboard_queries_are_valid_promql_on_the_provisioned_datasource(
    tmp_path: Path,
) -> None:
    datasources = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    uid = yaml.safe_load(datasources.read_text())["datasources"][0]["uid"]
    assert DASHBOARDS
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        used = {p["datasource"]["uid"] for p in board["panels"] if "datasource" in p}
        assert used == {uid}, path.name
        grafana = {"$__rate_interval": "1m", "$__range": "6h", "$__interval": "15s"}
        rules = []
        for n, expr in enumerate(dashboard_expressions(path)):
            for variable, value in grafana.items():
                expr = expr.replace(variable, value)  # noqa: PLW2901
            rules.append({"record": f"dashboard:query_{n}", "expr": expr})
        checked = tmp_path / f"{path.stem}.rules.yml"
        checked.write_text(yaml.safe_dump({"groups": [{"name": path.stem, "rules": rules}]}))
        result = promtool("check", "rules", str(checked))
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_operations_guide_has_a_runbook_for_every_alert() -> None:
    runbook = RUNBOOK.read_text()
    for rule in alert_rules():
        assert f"\n#### {rule['alert']}\n" in runbook, rule["alert"]
        assert rule["annotations"]["runbook"] == f"docs/operate.md#{rule['alert'].lower()}"
