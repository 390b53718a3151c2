"""Dependencies of the API routes: the database session and who is asking."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlmodel import Session

from shared.auth import Principal, Role, authenticate, authorize, bearer_secret
from shared.settings import Settings


@dataclass
class Resources:
    settings: Settings
    engine: Engine


def resources(request: Request) -> Resources:
    found: Resources = request.app.state.resources
    return found


ResourcesDep = Annotated[Resources, Depends(resources)]


def db(res: ResourcesDep) -> Iterator[Session]:
    with Session(res.engine) as session:
        yield session


DbDep = Annotated[Session, Depends(db)]


def _principal(res: Resources, authorization: str | None) -> Principal:
    return authenticate(res.engine, bearer_secret(authorization), res.settings.admin_token)


def admin(res: ResourcesDep, authorization: Annotated[str | None, Header()] = None) -> Principal:
    who = _principal(res, authorization)
    authorize(who, {Role.ADMIN})
    return who


def reader(
    res: ResourcesDep, authorization: Annotated[str | None, Header()] = None
) -> Principal | None:
    """Reads are public unless EXPO_PUBLIC_READS=false; then any valid token may read."""
    if res.settings.public_reads and authorization is None:
        return None
    return _principal(res, authorization)


AdminDep = Annotated[Principal, Depends(admin)]
ReaderDep = Annotated[Principal | None, Depends(reader)]
