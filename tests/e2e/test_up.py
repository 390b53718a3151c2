"""`expo up` on a fresh directory: everything ready, an admin token shown once, a clean stop."""

import re
import signal
import threading
import time
from pathlib import Path

import httpx2

from tests.e2e.conftest import PORTS
from tests.e2e.up import environment, start_up
from tests.wait import wait_until

watching = threading.Event()


def watch(url: str) -> None:
    """A screen reading a live stream until the server goes away."""
    try:
        with httpx2.stream("GET", url, timeout=60) as response:
            for _ in response.iter_lines():
                watching.set()
    except httpx2.TransportError:
        pass


def test_expo_up_runs_everything_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    up = start_up(tmp_path, environment())
    try:
        wait_until(lambda: up.printed.count("(ready)") == 3, timeout=90, what="expo up")
        for name in PORTS:
            ready = httpx2.get(f"{up.url(name)}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
        token = re.search(r"admin token \(shown once, keep it\): (\S+)", up.printed)
        assert token is not None
        api = up.url("api")
        created = httpx2.post(
            f"{api}/v1/expos",
            json={"id": "first-expo", "name": "First Expo"},
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        assert created.status_code == 201
        assert (tmp_path / "var" / "redis" / "redis.sock").exists()
        session = httpx2.post(
            f"{api}/v1/expos/first-expo/sessions",
            json={
                "id": "first-1",
                "ordinal": 1,
                "name": "1st",
                "starts_on": "2026-11-21",
                "ends_on": "2026-11-22",
            },
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        assert session.status_code == 201
        # A display screen keeps its live stream open while the operator stops everything.
        screen = threading.Thread(target=watch, args=(f"{api}/v1/sessions/first-1/stream",))
        screen.start()
        wait_until(watching.is_set, timeout=30, what="the screen's stream")
    finally:
        stopping = time.monotonic()
        up.process.send_signal(signal.SIGTERM)
        assert up.process.wait(timeout=30) == 0
    # Every child stopped by itself: none had to be killed after its 15 s of grace.
    assert time.monotonic() - stopping < 10
    assert "killing it" not in up.printed
    assert "stopped" in up.printed
    for name in PORTS:
        try:
            httpx2.get(f"{up.url(name)}/healthz", timeout=2)
            raise AssertionError(f"a service still answers on {up.url(name)}")
        except httpx2.TransportError:
            pass
