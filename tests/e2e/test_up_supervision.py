"""`expo up` keeps the expo running: a child that dies is started again while the others
serve; one that keeps dying stops everything with a one-line reason; one `expo up` per var/."""

import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx2
import pytest
from redis import Redis
from redis.exceptions import RedisError

from tests.conftest import ADMIN_TOKEN
from tests.e2e.conftest import Services, open_session
from tests.e2e.up import Up, environment, start_up
from tests.faults.audit import reference_figures, wait_for_figures
from tests.faults.load import Load, LoadPlan
from tests.wait import wait_until

BACK_WITHIN = 10.0  # seconds for a killed child to answer again, by itself


# The admin token the tests use; folds that wait little for new entries.
SETTINGS = {"EXPO_ADMIN_TOKEN": ADMIN_TOKEN, "EXPO_READ_BLOCK_MS": "50"}


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    running = start_up(tmp_path, environment(**SETTINGS))
    try:
        wait_until(lambda: "press Ctrl-C" in running.printed, timeout=90, what="expo up")
        yield running
    finally:
        assert running.stop() == 0, running.printed


@dataclass
class Watch:
    """A thread asking the API's /readyz every 0.1 s, as a load balancer would."""

    url: str
    answers: list[int] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        with httpx2.Client(timeout=5) as client:
            while not self.stopping.wait(0.1):
                try:
                    self.answers.append(client.get(f"{self.url}/readyz").status_code)
                except httpx2.TransportError:
                    self.answers.append(0)

    def stop(self) -> list[int]:
        self.stopping.set()
        self.thread.join(timeout=10)
        return self.answers


def answers(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx2.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx2.TransportError:
            return False

    return ready


def redis_answers(up: Up) -> Callable[[], bool]:
    socket_path = up.directory / "var" / "redis" / "redis.sock"

    def ready() -> bool:
        try:
            with Redis(unix_socket_path=str(socket_path), socket_timeout=1) as client:
                return bool(client.ping())
        except (OSError, RedisError):  # not there yet, or loading its append-only file
            return False

    return ready


def kill_and_see_it_back(up: Up, command: str, back: Callable[[], bool], name: str) -> float:
    """SIGKILL the child, wait until a new one answers; the seconds that took."""
    victim = up.child(command)
    assert victim is not None, f"no child of expo up runs {command!r}"
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    wait_until(
        lambda: up.child(command) not in (None, victim) and back(),
        timeout=BACK_WITHIN + 20,
        what=f"{name} to be back",
    )
    took = time.monotonic() - killed
    assert f"{name} exited (signal 9); restarting in" in up.printed
    return took


def test_expo_up_brings_back_each_killed_child_while_the_rest_keep_serving(up: Up) -> None:
    services = Services(up.env, up.directory)
    session = open_session(services)
    api = services.client("api")
    watch = Watch(up.url("api"))
    load = Load(up.url("ingest"), LoadPlan(sessions=(session,), rate=200, batch=20))
    load.start()
    try:
        load.wait(2)
        took = {
            "aggregator": kill_and_see_it_back(
                up, "services.cli aggregator", answers(up.url("aggregator")), "aggregator"
            ),
            "ingest": kill_and_see_it_back(
                up, "services.cli ingest", answers(up.url("ingest")), "ingest"
            ),
            "redis": kill_and_see_it_back(up, "valkey-server", redis_answers(up), "redis"),
        }
        wait_until(answers(up.url("ingest")), timeout=BACK_WITHIN, what="ingest after redis")
        load.wait(2)
    finally:
        load.stop()
        readiness = watch.stop()
    expected = reference_figures(load.acknowledged.values(), [session])
    try:
        assert wait_for_figures(api, expected) == expected
    finally:
        services.stop_all()  # closes its clients; `expo up` owns the processes
    print(
        f"\nexpo up: back after SIGKILL in {', '.join(f'{k} {v:.1f} s' for k, v in took.items())}"
        f"; {len(load.acknowledged)} events acknowledged, {load.stats.failures} failed "
        f"attempts retried; api /readyz asked {len(readiness)} times"
    )
    assert all(seconds <= BACK_WITHIN for seconds in took.values()), took
    assert readiness
    assert set(readiness) == {200}, sorted(set(readiness))
    metrics = httpx2.get(f"http://127.0.0.1:{up.env['EXPO_SUPERVISOR_PORT']}/metrics").text
    for child in ("aggregator", "ingest", "redis"):
        assert f'expo_up_restarts_total{{child="{child}"}} 1.0' in metrics
    assert 'expo_up_restarts_total{child="api"} 0.0' in metrics


def test_a_child_that_dies_at_every_start_makes_expo_up_give_up_cleanly(
    tmp_path: Path,
) -> None:
    env = environment(**SETTINGS)
    with socket.socket() as taken:  # something else holds the ingest port
        taken.bind(("127.0.0.1", int(env["EXPO_INGEST_PORT"])))
        taken.listen()
        running = start_up(tmp_path, env)
        code = running.process.wait(timeout=120)
    printed = running.printed
    assert code == 1, printed
    reasons = [line for line in printed.splitlines() if line.startswith("expo: ")]
    assert len(reasons) == 1, printed
    assert re.fullmatch(
        r"expo: ingest exited 5 times within 60 s \(last: exit code \d+, see "
        r"var/log/ingest.log\); stopping everything",
        reasons[0],
    ), printed
    assert "Traceback" not in printed
    assert "address already in use" in (tmp_path / "var" / "log" / "ingest.log").read_text()
    for name in ("api", "aggregator"):  # the others were stopped, not left behind
        assert not answers(running.url(name))()
    assert not (tmp_path / "var" / "redis" / "redis.sock").exists() or not redis_answers(running)()


def test_a_second_expo_up_on_the_same_var_is_refused_in_one_line(up: Up) -> None:
    second = start_up(up.directory, environment(**SETTINGS), name="second")
    assert second.process.wait(timeout=60) == 2
    assert second.printed.strip() == (
        f"expo: `expo up` already runs on {(up.directory / 'var').resolve()} (pid {up.process.pid})"
    )
    assert answers(up.url("api"))()  # the first one is untouched
