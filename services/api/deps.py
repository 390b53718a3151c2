"""Dependencies of the API routes: the database session and who is asking."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session

from shared.auth import Principal, Role, authenticate, authorize, bearer_secret
from shared.db import read_only
from shared.runtime import SyncRedis
from shared.settings import Settings


@dataclass
class Resources:
    settings: Settings
    engine: Engine  # for writes: on SQLite, each transaction takes the write lock at BEGIN
    reader: Engine  # the same pool, for reads: on SQLite they never wait for that lock

    @classmethod
    def of(cls, settings: Settings, engine: Engine) -> "Resources":
        return cls(settings, engine, read_only(engine))


async def resources(request: Request) -> Resources:
    found: Resources = request.app.state.resources
    return found


ResourcesDep = Annotated[Resources, Depends(resources)]


def db(res: ResourcesDep) -> Iterator[Session]:
    """A session for admin writes (read-then-write transactions included)."""
    with Session(res.engine) as session:
        yield session


def read_db(res: ResourcesDep) -> Iterator[Session]:
    """A session that only reads."""
    with Session(res.reader) as session:
        yield session


DbDep = Annotated[Session, Depends(db)]
ReadDbDep = Annotated[Session, Depends(read_db)]


@dataclass(frozen=True, slots=True)
class Sources:
    """Where an answer with figures reads: SQL for the figures, Redis for their freshness."""

    db: Session
    redis: SyncRedis


def sources(request: Request, db: ReadDbDep) -> Sources:
    return Sources(db, request.app.state.redis)


SourcesDep = Annotated[Sources, Depends(sources)]


def _principal(res: Resources, authorization: str | None) -> Principal:
    return authenticate(res.reader, bearer_secret(authorization), res.settings.admin_token)


def admin(res: ResourcesDep, authorization: Annotated[str | None, Header()] = None) -> Principal:
    who = _principal(res, authorization)
    authorize(who, {Role.ADMIN})
    return who


async def read_access(res: Resources, authorization: str | None) -> Principal | None:
    """Reads are public unless EXPO_PUBLIC_READS=false; then any valid token may read.
    A token sent anyway is checked. A public read without one costs no thread, no query."""
    if res.settings.public_reads and authorization is None:
        return None
    return await run_in_threadpool(_principal, res, authorization)


async def reader(
    res: ResourcesDep, authorization: Annotated[str | None, Header()] = None
) -> Principal | None:
    return await read_access(res, authorization)


AdminDep = Annotated[Principal, Depends(admin)]
ReaderDep = Annotated[Principal | None, Depends(reader)]
