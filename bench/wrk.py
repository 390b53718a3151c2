"""HTTP load with wrk (Debian's package): fixed threads, connections and duration for the
project's endpoints and their references alike; figures come from a Lua `done()` hook."""

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).parent / "wrk"


@dataclass(frozen=True)
class WrkSettings:
    threads: int = 1
    connections: int = 32
    seconds: float = 6.0


@dataclass(frozen=True)
class Load:
    """What to send: a URL, extra headers and, for check-ins, the session posted to."""

    url: str
    headers: tuple[str, ...] = ()
    checkin_session: str | None = None


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def version() -> str:
    done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()


def run(load: Load, settings: WrkSettings) -> WrkResult:
    """Run wrk once; fails when more than 1 % of the answers were errors or not 2xx/3xx."""
    script = "checkin.lua" if load.checkin_session else "report.lua"
    command = [
        "wrk",
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{settings.seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(SCRIPTS / script),
    ]
    for header in load.headers:
        command += ["-H", header]
    env = {**os.environ, "BENCH_WRK_DIR": str(SCRIPTS), "BENCH_SESSION": load.checkin_session or ""}
    done = subprocess.run(
        [*command, load.url], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith('{"bench_wrk"'))
    data = json.loads(line)
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    if errors > data["requests"] / 100:
        msg = f"wrk {load.url}: {errors} errors in {data['requests']} requests\n{done.stdout}"
        raise RuntimeError(msg)
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )
