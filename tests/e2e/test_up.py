"""`expo up` on a fresh directory: everything ready, an admin token shown once, a clean stop."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2

from tests.e2e.conftest import PORTS, free_port
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPO_")}
    env |= {variable: str(free_port()) for variable in PORTS.values()}
    env["EXPO_SUPERVISOR_PORT"] = str(free_port())
    log = tmp_path / "up.log"
    with log.open("wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: log.read_text().count("(ready)") == 3, timeout=90, what="expo up")
        for variable in PORTS.values():
            ready = httpx2.get(f"http://127.0.0.1:{env[variable]}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
        token = re.search(r"admin token \(shown once, keep it\): (\S+)", log.read_text())
        assert token is not None
        api = f"http://127.0.0.1:{env['EXPO_API_PORT']}"
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
        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=30) == 0
    # Every child stopped by itself: none had to be killed after its 15 s of grace.
    assert time.monotonic() - stopping < 10
    assert "killing it" not in log.read_text()
    assert "stopped" in log.read_text()
    for variable in PORTS.values():
        try:
            httpx2.get(f"http://127.0.0.1:{env[variable]}/healthz", timeout=2)
            raise AssertionError(f"a service still answers on {env[variable]}")
        except httpx2.TransportError:
            pass
