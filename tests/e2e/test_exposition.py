"""The /metrics of the three services as processes, after a little traffic, checked by
promtool's linter; and every metric the dashboards and alerts query is one they expose."""

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from shared import embedded_redis
from shared.stream import stream_key
from tests.conftest import ADMIN_TOKEN, migrated, new_id, sqlite_database
from tests.e2e.conftest import ADMIN, PORTS, Services, free_port, open_session
from tests.e2e.deploy import (
    DASHBOARDS,
    NOT_FROM_SERVICES,
    alert_rules,
    dashboard_expressions,
    metric_names,
    promtool,
)
from tests.wait import wait_until


def traffic(services: Services) -> None:
    """Events accepted, refused, kept as rejected scans and dead-lettered, so that the
    labelled metrics have samples."""
    ingest, api = services.client("ingest"), services.client("api")
    session, planned = open_session(services), open_session(services, status="planned")
    checkin = {"attendee_id": "A1", "category": "professional", "country": "CN"}
    deal = {"deal_id": "D1", "title": "Cyclotron line", "kind": "contract", "amount": "10.00"}
    posts = [
        ("/v1/checkins", {**checkin, "session_id": session}, 202),
        ("/v1/deals", {**deal, "session_id": session}, 202),
        ("/v1/checkins", {**checkin, "session_id": planned}, 409),
        ("/v1/checkins", {**checkin, "session_id": session, "country": "XX"}, 422),
    ]
    for path, body, status in posts:
        assert ingest.post(path, json=body, headers=ADMIN).status_code == status
    assert api.get(f"/v1/sessions/{session}/totals").status_code == 200
    redis = Redis.from_url(services.env["EXPO_REDIS_URL"])
    try:
        redis.xadd(stream_key(session), {"event": b"{not an event"})
    finally:
        redis.close()


def scrape(services: Services, name: str) -> str:
    return httpx2.get(services.url(name) + "/metrics", timeout=10).text


def settled(services: Services) -> bool:
    """Both events folded, the broken entry dead-lettered, and the fold lag back to 0
    once the aggregator's reads find nothing new."""
    text = scrape(services, "aggregator")
    return (
        'expo_dead_lettered_entries_total{reason="undecodable"} 1.0' in text
        and all(
            f'expo_aggregator_events_folded_total{{type="{kind}"}} 1.0' in text
            for kind in ("attendee.checked_in", "deal.signed")
        )
        and "expo_aggregator_lag_seconds 0.0" in text.splitlines()
    )


@pytest.fixture(scope="module")
def expositions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Each service's /metrics text, scraped once after the traffic (SQLite, embedded Redis)."""
    var = tmp_path_factory.mktemp("exposition")
    url = next(sqlite_database(var))
    migrated(url)
    redis = embedded_redis.start(var / "var")
    env = {
        **os.environ,
        "EXPO_DATABASE_URL": url,
        "EXPO_REDIS_URL": embedded_redis.url_of(redis),
        "EXPO_ADMIN_TOKEN": ADMIN_TOKEN,
        "EXPO_CONSUMER_NAME": new_id("aggregator"),
        "EXPO_READ_BLOCK_MS": "50",
        "EXPO_LOG_LEVEL": "CRITICAL",  # the dead letter below is logged as an error
        **{variable: str(free_port()) for variable in PORTS.values()},
    }
    services = Services(env, Path(var))
    try:
        for name in PORTS:
            services.spawn(name)
        for name in PORTS:
            wait_until(partial(services.ready, name), timeout=60, what=f"{name} to be ready")
        traffic(services)
        wait_until(partial(settled, services), timeout=30, what="the fold and the dead letter")
        yield {name: scrape(services, name) for name in PORTS}
    finally:
        services.stop_all()
        redis.stop()


@pytest.mark.parametrize("service", sorted(PORTS))
def test_the_metrics_of_each_service_pass_promtool_lint(
    expositions: dict[str, str], service: str
) -> None:
    text = expositions[service]
    assert 'expo_http_request_duration_seconds_count{method="GET",route="/readyz"' in text
    result = promtool("check", "metrics", stdin=text)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_labelled_metrics_have_samples_to_lint(expositions: dict[str, str]) -> None:
    samples = {
        s.name
        for text in expositions.values()
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    for name in (
        "expo_ingest_events_total",
        "expo_rejected_scans_total",
        "expo_aggregator_events_folded_total",
        "expo_dead_lettered_entries_total",
        "expo_fold_batch_duration_seconds_bucket",
        "expo_http_request_duration_seconds_bucket",
    ):
        assert name in samples


def test_promtool_lint_complains_about_a_badly_named_metric() -> None:
    exposition = "# HELP expo_checkins Check-ins\n# TYPE expo_checkins counter\nexpo_checkins 1\n"
    result = promtool("check", "metrics", stdin=exposition)
    assert result.returncode != 0
    assert 'should have "_total" suffix' in result.stdout + result.stderr


def exposed(expositions: dict[str, str]) -> set[str]:
    """Every series name the services expose or would expose once a label set is used."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
    names = set()
    for text in expositions.values():
        for family in text_string_to_metric_families(text):
            names |= {s.name for s in family.samples}
            names |= {family.name + end for end in suffixes.get(family.type, [""])}
    return names


def test_the_dashboards_and_alerts_query_only_metrics_the_services_expose(
    expositions: dict[str, str],
) -> None:
    queries = {rule["alert"]: rule["expr"] for rule in alert_rules()}
    for path in DASHBOARDS:
        queries |= {f"{path.name}: {e}": e for e in dashboard_expressions(path)}
    available = exposed(expositions) | NOT_FROM_SERVICES
    unknown = {
        where: sorted(metric_names(expr) - available)
        for where, expr in queries.items()
        if metric_names(expr) - available
    }
    assert unknown == {}
    assert all(metric_names(expr) for expr in queries.values())
