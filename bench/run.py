"""`python -m bench`: measure, print the table, write bench/results/latest.json."""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis import Redis

from bench import database, machine, report, scaling, stack, wrk
from bench.measure import Plan, Result, measure_display, measure_stack
from bench.wrk import Load, WrkSettings

RESULTS = Path(__file__).parent / "results"
# The plan's sizes that are options (--events-large, ...), defaulting to the plan's, with help
# where the name alone does not say enough.
PLAN_OPTIONS = {
    "events_large": None,
    "events_small": None,
    "fold_events": None,
    "e2e_events": None,
    "fresh_seconds": None,
    "scale_events": "backlog per scaling run",
    "scale_sessions": "sessions of the 'many' shape",
}
STARTED = time.monotonic()


def say(what: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f}s] {what}", flush=True)


def minimal_limits(settings: WrkSettings) -> Result:
    """The minimal FastAPI app's POST and GET, with the same wrk settings."""
    port = stack.free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.minimal", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        stack.wait_until_ready(f"{base}/healthz", process, Path(os.devnull))
        post = wrk.run(Load(f"{base}/scan", checkin_session="bench-minimal"), settings)
        get = wrk.run(Load(f"{base}/constant"), settings)
    finally:
        process.terminate()
        process.wait(timeout=20)
    return {
        "minimal.post.rps": post.rps,
        "minimal.post.p50_ms": post.p50_ms,
        "minimal.post.p99_ms": post.p99_ms,
        "minimal.get.rps": get.rps,
        "minimal.get.p99_ms": get.p99_ms,
    }


@contextmanager
def database_url(label: str, var_dir: Path, server: str | None) -> Iterator[str]:
    if label == "sqlite":
        yield database.sqlite_url(var_dir)
        return
    assert server is not None
    with database.scratch_postgres(server) as url:
        yield url


def measure_once(plan: Plan, server: str | None, info: dict[str, str], only: str) -> Result:
    found: Result = {}
    if only != "scaling":
        say("minimal FastAPI reference (POST and GET)")
        found |= minimal_limits(plan.wrk)
        for label in ("sqlite", *(["postgresql"] if server else [])):
            found |= measure_database(label, plan, server, info, only)
    if only in {"all", "scaling"} and server:
        found |= measure_scaling(plan, server)
    return found


def scratch_dir(label: str) -> Path:
    var = Path("var")
    var.mkdir(exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"bench-{label}-", dir=var)).resolve()


def keep_logs(var_dir: Path, label: str) -> None:
    logs = RESULTS / "logs" / label
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    for log in var_dir.glob("*.log"):
        shutil.copy(log, logs / log.name)
    shutil.rmtree(var_dir, ignore_errors=True)


def measure_scaling(plan: Plan, server: str) -> Result:
    """1, 2 and 4 aggregators folding a backlog, on a stack and database of their own."""
    var_dir = scratch_dir("scaling")
    say("scaling: starting a stack of its own (PostgreSQL)")
    with (
        database_url("postgresql", var_dir, server) as url,
        stack.running("scaling", url, var_dir) as up,
    ):
        found = scaling.measure(up, plan.scale_events, plan.scale_sessions, say)
    keep_logs(var_dir, "scaling")
    return found


def measure_database(
    label: str, plan: Plan, server: str | None, info: dict[str, str], only: str
) -> Result:
    var_dir = scratch_dir(label)
    say(f"{label}: starting the stack")
    with database_url(label, var_dir, server) as url, stack.running(label, url, var_dir) as up:
        say(f"{label}: stack up ({url.split('@')[-1]})")
        info[f"{label}_server"] = database.server_version(url)
        client = Redis.from_url(up.redis_url)
        server_info: Any = client.info("server")
        client.close()
        info["redis_server"] = str(
            server_info.get("valkey_version") or server_info.get("redis_version")
        )
        measure = measure_display if only == "display" else measure_stack
        measured = measure(up, plan, lambda what, lb=label: say(f"{lb}: {what}"))
    keep_logs(var_dir, label)
    return {f"{label}.{key}": value for key, value in measured.items()}


def median(runs: list[Result]) -> Result:
    keys = [k for k in runs[0] if all(k in run for run in runs)]
    return {k: statistics.median(run[k] for run in runs) for k in keys}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--runs", type=int, default=1, help="repeat everything; report medians")
    p.add_argument(
        "--database-url",
        default=os.environ.get("EXPO_BENCH_DATABASE_URL") or None,
        help="a PostgreSQL server (default: $EXPO_BENCH_DATABASE_URL); a database "
        "expo_bench is created there and dropped afterwards",
    )
    defaults = Plan()
    for name, help_ in PLAN_OPTIONS.items():
        default = getattr(defaults, name)
        option = "--" + name.replace("_", "-")
        p.add_argument(option, type=type(default), default=default, help=help_)
    p.add_argument(
        "--only",
        choices=["all", "stacks", "scaling", "display"],
        default="all",
        help="'scaling': only the 1/2/4-aggregator rows (needs PostgreSQL); 'stacks': the rest; "
        "'display': only the display reads and the minimal GET and POST",
    )
    p.add_argument("--wrk-seconds", type=float, default=defaults.wrk.seconds)
    p.add_argument("--wrk-connections", type=int, default=defaults.wrk.connections)
    p.add_argument("--quick", action="store_true", help="small sizes, for trying the bench out")
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    return p


def plan_of(args: argparse.Namespace) -> Plan:
    if args.quick:
        return Plan(
            events_large=100_000,
            fold_events=5000,
            e2e_events=5000,
            fresh_seconds=4,
            xadd_seconds=1,
            totals_reads=100,
            scale_events=20_000,
            wrk=WrkSettings(seconds=3),
        )
    return Plan(
        **{name: getattr(args, name) for name in PLAN_OPTIONS},
        wrk=WrkSettings(connections=args.wrk_connections, seconds=args.wrk_seconds),
    )


def main() -> None:
    args = parser().parse_args()
    if args.only == "scaling" and not args.database_url:
        parser().error("--only scaling needs PostgreSQL: --database-url or EXPO_BENCH_DATABASE_URL")
    plan, info = plan_of(args), machine.versions()
    info["wrk"] = wrk.version()
    host = machine.machine()
    runs = []
    for number in range(1, args.runs + 1):
        say(f"run {number} of {args.runs}")
        runs.append(measure_once(plan, args.database_url, info, args.only))
    figures = median(runs)
    databases = ["sqlite", *(["postgresql"] if args.database_url else [])]
    if args.only == "display":
        table = [row for db in databases for row in report.display_rows(figures, db)]
    else:
        table = report.rows(figures, databases if args.only != "scaling" else [])
    print()
    print(report.render(table))
    print(
        f"\n{args.runs} run(s){', medians' if args.runs > 1 else ''}; per-token rate limit off "
        f"(EXPO_RATE_LIMIT_EVENTS_PER_SECOND=0); wrk -t{plan.wrk.threads} "
        f"-c{plan.wrk.connections} -d{plan.wrk.seconds:g}s for every HTTP row; "
        f"total {time.monotonic() - STARTED:.0f} s. How to read it: bench/README.md"
    )
    document = {
        "created_at": datetime.now(UTC).isoformat(),
        "runs": args.runs,
        "plan": asdict(plan),
        "machine": host,
        "versions": info,
        "figures": figures,
        "rows": [asdict(row) for row in table],
        "per_run": runs,
        "seconds": time.monotonic() - STARTED,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written: {args.output}")
