"""The three services as separate processes over real HTTP, with the embedded Redis."""

import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx2
import pytest

from shared import embedded_redis
from tests.conftest import ADMIN_TOKEN, new_id, running_days
from tests.wait import wait_until

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PORTS = {"api": "EXPO_API_PORT", "ingest": "EXPO_INGEST_PORT", "aggregator": "EXPO_AGGREGATOR_PORT"}


def free_port() -> int:
    """A port free now for a service to listen on, picked at random below the kernel's
    ephemeral range (32768 and up on Linux): a port the kernel hands out (to a client's
    outgoing connection, or to another test's probe) could be taken again before the
    service binds it, and a request would reach another test's service."""
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(20_000, 32_000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


@dataclass
class Services:
    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    clients: list[httpx2.Client] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[PORTS[name]]}"

    def start(self, name: str) -> None:
        self.spawn(name)
        wait_until(lambda: self.ready(name), timeout=60, what=f"{name} to be ready")

    def spawn(self, name: str) -> None:
        with (self.logs / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", "services.cli", name], env=self.env, stdout=log, stderr=log
            )

    def ready(self, name: str) -> bool:
        process = self.processes[name]
        if process.poll() is not None:
            log = (self.logs / f"{name}.log").read_text()[-3000:]
            pytest.fail(f"{name} exited with {process.returncode}:\n{log}")
        try:
            return httpx2.get(self.url(name) + "/readyz", timeout=2).status_code == 200
        except httpx2.TransportError:
            return False

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        process.send_signal(sig)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        for client in self.clients:
            client.close()
        for name in list(self.processes):
            self.kill(name, signal.SIGTERM)

    def client(self, name: str) -> httpx2.Client:
        client = httpx2.Client(base_url=self.url(name), timeout=30)
        self.clients.append(client)
        return client


@pytest.fixture
def services(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Services]:
    redis = embedded_redis.start(tmp_path / "var")
    env = {
        **os.environ,
        "EXPO_DATABASE_URL": database_url,
        "EXPO_REDIS_URL": embedded_redis.url_of(redis),
        "EXPO_ADMIN_TOKEN": ADMIN_TOKEN,
        "EXPO_CONSUMER_NAME": new_id("aggregator"),
        "EXPO_READ_BLOCK_MS": "50",
        "EXPO_LOG_LEVEL": "WARNING",
        **getattr(request, "param", {}),
    }
    env.update({variable: str(free_port()) for variable in PORTS.values()})
    started = Services(env, tmp_path)
    try:
        for name in PORTS:
            started.spawn(name)
        for name in PORTS:
            wait_until(partial(started.ready, name), timeout=60, what=f"{name} to be ready")
        yield started
    finally:
        started.stop_all()
        redis.stop()


def create(client: httpx2.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def open_session(services: Services, status: str = "open") -> str:
    """A new expo with one session (the 1st), opened unless said otherwise."""
    api = services.client("api")
    expo = create(api, "/v1/expos", {"id": new_id("expo"), "name": "Test expo"})["id"]
    body = {
        "id": new_id("session"),
        "ordinal": 1,
        "name": "1st",
        **running_days(),
    }
    session: str = create(api, f"/v1/expos/{expo}/sessions", body)["id"]
    if status == "open":
        opened = api.patch(f"/v1/sessions/{session}", json={"status": "open"}, headers=ADMIN)
        assert opened.status_code == 200, opened.text
    return session
