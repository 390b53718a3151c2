"""Schema changes go through Alembic; `expo migrate` and `expo up` call `upgrade`."""

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, make_url

from shared.db import make_engine, read_only

SCRIPT_LOCATION = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


@dataclass(frozen=True)
class Status:
    database: str  # its URL without the password
    current: tuple[str, ...]  # the revisions applied; empty when none
    head: tuple[str, ...]
    pending: int  # migrations `upgrade` would apply


def status(database_url: str) -> Status:
    """Where the database stands against the migrations; reads only, creates nothing (a
    SQLite file that does not exist has none applied)."""
    url = make_url(database_url)
    script = ScriptDirectory(str(SCRIPT_LOCATION))
    current = _applied(database_url)
    pending = script.iterate_revisions("heads", current or "base")
    return Status(
        database=url.render_as_string(hide_password=True),
        current=current,
        head=tuple(script.get_heads()),
        pending=sum(1 for _ in pending),
    )


def _applied(database_url: str) -> tuple[str, ...]:
    url = make_url(database_url)
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    if on_disk and not Path(str(url.database)).exists():
        return ()
    engine = make_engine(database_url)
    try:
        with read_only(engine).connect() as conn:
            return tuple(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
