"""`expo up`: one per var directory, migrate, start the embedded Redis when no URL is
given, show the admin token once, then run and watch the services until a signal (or a
child that keeps exiting) ends it. The policy is in services/supervisor.py."""

import fcntl
import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlmodel import Session

from services import console
from services.children import Child, EmbeddedRedis, Service
from services.supervisor import SERVICES, Metrics, Policy, Supervisor
from shared import auth, embedded_redis, migration, runtime
from shared.settings import Settings


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
