"""`expo up`: run the embedded Redis and the three services, and keep them running.

A child that exits is started again after a pause that doubles from 0.5 s to 30 s (and
starts afresh once the child has run for a minute), while the others keep serving. A child
that exits `BURST` times within `WINDOW` seconds is broken, not unlucky: then everything is
stopped and `expo up` exits 1 with the reason (docs/adr/0011-expo-up-supervision.md)."""

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from types import FrameType

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from services import console
from services.children import Child, Service, exit_reason, log_hint, ready_line
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
