"""Tokens and sessions as ingest last read them from SQL, kept while nothing changed.

Every request first reads the change mark (`shared.reference`: a GET in the pipeline that
concurrent requests share): when it differs from the mark the memory was filled under,
the memory is dropped and SQL is read again. An entry also expires after `MAX_AGE`
seconds, so a change whose mark could not be written (Redis was away at that moment)
still reaches ingest. Unknown tokens and sessions
are never remembered: a token or session created a moment ago is found at once.
"""

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, select

from services.ingest.coalesce import AnyPipeline, Coalescer
from shared.auth import Principal, authenticate, hash_token
from shared.db import read_only
from shared.reference import CHANGED_KEY
from shared.session import SessionState, SessionStatus
from shared.tables import EXPOS, SESSIONS

MAX_AGE = 5.0
V = TypeVar("V")


@dataclass
class ReferenceCache:
    engine: Engine
    coalescer: Coalescer
    admin_token: str | None
    now: Callable[[], float] = time.monotonic
    _mark: Any = None
    _principals: dict[str, tuple[float, Principal]] = field(default_factory=dict)
    _sessions: dict[str, tuple[float, SessionState]] = field(default_factory=dict)
    # Requests that miss together (at start, after a change, when entries expire) wait for
    # one SQL read instead of each sending its own.
    _loading_principals: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loading_sessions: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def refresh(self) -> None:
        """Read the change mark; forget everything if it moved. Once per request, first."""
        [mark] = await self.coalescer.run(_get_mark)
        if mark != self._mark:
            self._principals.clear()
            self._sessions.clear()
            self._mark = mark

    async def principal(self, secret: str) -> Principal:
        """The token's principal; raises DomainError(UNAUTHORIZED) like `authenticate`."""
        key = hash_token(secret)
        found = self._fresh(self._principals, key)
        if found is not None:
            return found
        async with self._loading_principals:
            found = self._fresh(self._principals, key)
            if found is not None:
                return found
            mark = self._mark
            reader = read_only(self.engine)
            principal = await run_in_threadpool(authenticate, reader, secret, self.admin_token)
            if mark == self._mark:  # else it may be older than a change seen meanwhile
                self._principals[key] = (self.now(), principal)
            return principal

    async def sessions(self, session_ids: Iterable[str]) -> dict[str, SessionState]:
        """The states of those of `session_ids` that exist."""
        wanted = set(session_ids)
        known = {s: state for s in wanted if (state := self._fresh(self._sessions, s))}
        if len(known) == len(wanted):
            return known
        async with self._loading_sessions:
            known = {s: state for s in wanted if (state := self._fresh(self._sessions, s))}
            missing = wanted - known.keys()
            if missing:
                mark = self._mark
                loaded = await run_in_threadpool(load_sessions, self.engine, missing)
                if mark == self._mark:  # else it may be older than a change seen meanwhile
                    stamp = self.now()
                    for session_id, state in loaded.items():
                        self._sessions[session_id] = (stamp, state)
                known.update(loaded)
            return known

    def _fresh(self, entries: dict[str, tuple[float, V]], key: str) -> V | None:
        entry = entries.get(key)
        if entry is None or self.now() - entry[0] > MAX_AGE:
            return None
        return entry[1]


async def _get_mark(pipe: AnyPipeline) -> None:
    pipe.get(CHANGED_KEY)


def load_sessions(engine: Engine, session_ids: Iterable[str]) -> dict[str, SessionState]:
    ids = sorted(set(session_ids))
    query = (
        select(
            SESSIONS.c.id,
            SESSIONS.c.status,
            SESSIONS.c.closed_at,
            SESSIONS.c.starts_on,
            SESSIONS.c.ends_on,
            EXPOS.c.timezone,
        )
        .join(EXPOS, EXPOS.c.id == SESSIONS.c.expo_id)
        .where(SESSIONS.c.id.in_(ids))
    )
    with read_only(engine).connect() as conn:
        return {row.id: _state(row) for row in conn.execute(query)}


def _state(row: Any) -> SessionState:
    status, zone = SessionStatus(row.status), ZoneInfo(row.timezone)
    return SessionState(row.id, status, row.closed_at, row.starts_on, row.ends_on, zone)
