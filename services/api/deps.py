"""Dependencies of the API routes: the service's resources, the database session and who
is asking."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.applications import Starlette

from shared import service
from shared.auth import Principal, Role, authenticate, authorize, bearer_secret
from shared.runtime import SyncRedis
from shared.settings import Settings

if TYPE_CHECKING:  # both modules take their dependencies from here
    from services.api.display import Displays
    from services.api.live import Hub


@dataclass
class Resources:
    """What the API's routes use, built once in the app's lifespan (`app.py`)."""

    settings: Settings
    engine: Engine  # for writes: on SQLite, each transaction takes the write lock at BEGIN
    reader: Engine  # the same pool, for reads: on SQLite they never wait for that lock
    redis: SyncRedis
    hub: "Hub"  # the live totals that event streams follow
    displays: "Displays"  # the display bodies kept per expo

    async def close(self) -> None:
        await self.hub.close()
        await self.displays.close()
        self.redis.close()
        self.engine.dispose()


def resources_of(app: Starlette) -> Resources:
    """The app's resources; for the hot paths that are not FastAPI dependencies."""
    return service.resources_of(app, Resources)


async def resources(request: Request) -> Resources:  # async: no thread pool hop
    return resources_of(request.app)


ResourcesDep = Annotated[Resources, Depends(resources)]


async def redis_client(res: ResourcesDep) -> SyncRedis:
    return res.redis


RedisDep = Annotated[SyncRedis, Depends(redis_client)]


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


def sources(res: ResourcesDep, db: ReadDbDep) -> Sources:
    return Sources(db, res.redis)


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
