"""Engines for SQLite (the default) and PostgreSQL (production)."""

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url

READ_ONLY = "expo_read_only"  # an execution option: this work only reads


def make_engine(url: str) -> Engine:
    """An engine whose transactions serialise writers safely on either database.

    Statement parameters (attendee ids among them) never appear in error messages or logs.

    SQLite runs in WAL mode and every transaction begins IMMEDIATE, so a read-then-write
    transaction cannot fail half-way on a lock. Work that only reads goes through
    `read_only(engine)` instead: its transactions begin DEFERRED and, in WAL mode, read a
    snapshot without waiting for the write lock, so reads never queue behind a fold's commit.
    PostgreSQL has no such queue; there the option changes nothing.

    PostgreSQL plans every statement with its actual parameters (`plan_cache_mode`): the
    fold looks records up by an array of keys, and a generic plan cached for such a
    statement may filter a session's whole table against the array on every batch.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=5,
            max_overflow=10,
            hide_parameters=True,
            connect_args={"options": "-c plan_cache_mode=force_custom_plan"},
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        reads_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")

    return engine


def read_only(engine: Engine) -> Engine:
    """The same engine and connection pool, for transactions that only read.

    On SQLite they begin DEFERRED: a snapshot that never waits for a writer. Never write
    through it: a transaction that reads and then writes must begin IMMEDIATE (the plain
    engine), or it may fail on a lock half-way.
    """
    return engine.execution_options(**{READ_ONLY: True})


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"
