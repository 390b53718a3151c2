"""The bench's databases: a SQLite file under its own directory, or a dedicated PostgreSQL
database (`expo_bench`) created on the server `EXPO_BENCH_DATABASE_URL` names and dropped
afterwards, so nothing else on that server is touched."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import make_url

BENCH_DATABASE = "expo_bench"


def sqlite_url(var_dir: Path) -> str:
    return f"sqlite:///{(var_dir / 'expo.db').resolve()}"


def libpq(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg takes it."""
    parsed = make_url(url).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    if not database:
        msg = f"{url} names no SQLite file"
        raise ValueError(msg)
    return database


@contextmanager
def scratch_postgres(server_url: str, database: str = BENCH_DATABASE) -> Iterator[str]:
    """A fresh database (`expo_bench`) on the server; its URL; dropped afterwards."""
    url = make_url(server_url).set(database=database)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    _recreate(server_url, database, drop_only=False)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _recreate(server_url, database, drop_only=True)


def _recreate(server_url: str, database: str, drop_only: bool) -> None:
    name = sql.Identifier(database)
    with psycopg.connect(libpq(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        if not drop_only:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def sqlite_connect(url: str) -> sqlite3.Connection:
    """A raw connection with the project's PRAGMAs (shared/db.py): WAL, synchronous=FULL."""
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def server_version(url: str) -> str:
    if make_url(url).get_backend_name() == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with psycopg.connect(libpq(url)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return f"PostgreSQL {row[0] if row else '?'}"
