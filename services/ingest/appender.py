"""Appending accepted events to their session streams."""

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine

from services.ingest.gate import admit, load_sessions
from services.ingest.requests import Accepted, BatchItem, BatchResult, ItemResult
from shared import metrics, rejection
from shared.auth import Principal, Role, authorize
from shared.events import Event
from shared.problem import DomainError, Reason, validation_errors
from shared.stream import stream_key, to_fields

logger = logging.getLogger(__name__)

Build = Callable[[datetime, str], Event]
ITEMS: TypeAdapter[BatchItem] = TypeAdapter(BatchItem)
ROLES: dict[str, set[Role]] = {
    "attendee.checked_in": {Role.DESK},
    "deal.signed": {Role.CEREMONY},
    "deal.voided": {Role.CEREMONY},
    "exhibitor.registered": {Role.ORGANIZER},
}


async def append_one(
    engine: Engine, redis: Redis, who: Principal, roles: set[Role], build: Build
) -> Accepted:
    try:
        event = build(datetime.now(UTC), who.token_id)
    except DomainError as error:
        metrics.INGESTED.labels("unknown", error.reason.value).inc()
        raise
    try:
        authorize(who, roles, event.session_id)
        sessions = await run_in_threadpool(load_sessions, engine, [event.session_id])
        admit(sessions.get(event.session_id), event.session_id, event.occurred_at)
    except DomainError as error:
        metrics.INGESTED.labels(event.type, error.reason.value).inc()
        await _keep_rejected(redis, [(event, error)])
        raise
    position: Any = await redis.xadd(stream_key(event.session_id), to_fields(event))  # type: ignore[arg-type]
    metrics.INGESTED.labels(event.type, "accepted").inc()
    logger.debug("session %s: appended event %s", event.session_id, event.event_id)
    return Accepted(event_id=event.event_id, position=position.decode())


async def append_batch(
    engine: Engine, redis: Redis, who: Principal, items: Sequence[Any]
) -> BatchResult:
    received_at = datetime.now(UTC)
    results: list[ItemResult] = []
    candidates: list[tuple[int, Event]] = []
    refused: list[tuple[Event, DomainError]] = []
    for index, raw in enumerate(items):
        try:
            event = _item_event(raw, received_at, who)
        except DomainError as error:
            results.append(_rejected(index, error, raw))
            continue
        try:
            authorize(who, ROLES[event.type], event.session_id)
        except DomainError as error:
            results.append(_rejected(index, error, event))
            refused.append((event, error))
            continue
        candidates.append((index, event))
    sessions = await run_in_threadpool(
        load_sessions, engine, {event.session_id for _, event in candidates}
    )
    accepted: list[tuple[int, Event]] = []
    for index, event in candidates:
        try:
            admit(sessions.get(event.session_id), event.session_id, event.occurred_at)
        except DomainError as error:
            results.append(_rejected(index, error, event))
            refused.append((event, error))
            continue
        accepted.append((index, event))
    await _keep_rejected(redis, refused)
    if accepted:
        async with redis.pipeline(transaction=False) as pipe:
            for _, event in accepted:
                pipe.xadd(stream_key(event.session_id), to_fields(event))  # type: ignore[arg-type]
            positions = await pipe.execute()
        for (index, event), position in zip(accepted, positions, strict=True):
            metrics.INGESTED.labels(event.type, "accepted").inc()
            results.append(
                ItemResult(
                    index=index,
                    event_id=event.event_id,
                    status="accepted",
                    position=position.decode(),
                )
            )
    return BatchResult(results=sorted(results, key=lambda r: r.index))


def _item_event(raw: Any, received_at: datetime, who: Principal) -> Event:
    try:
        item = ITEMS.validate_python(raw)
    except ValidationError as error:
        raise DomainError(
            Reason.VALIDATION_FAILED, "the event is not valid", validation_errors(error.errors())
        ) from error
    return item.to_event(received_at, who.token_id)


async def _keep_rejected(redis: Redis, refused: Sequence[tuple[Event, DomainError]]) -> None:
    """Scans refused for their session are kept for statistics; losing one of these
    records never turns a refusal into an error."""
    scans = [scan for event, error in refused if (scan := rejection.of(event, error))]
    if not scans:
        return
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for scan in scans:
                pipe.xadd(
                    rejection.STREAM,
                    rejection.to_fields(scan),  # type: ignore[arg-type]
                    maxlen=rejection.MAX_ENTRIES,
                    approximate=True,
                )
            await pipe.execute()
    except RedisError:
        logger.warning("could not keep %d rejected scans", len(scans), exc_info=True)
        return
    for scan in scans:
        metrics.REJECTED_SCANS.labels(scan.reason.value).inc()


def _rejected(index: int, error: DomainError, raw: Any) -> ItemResult:
    event_type = getattr(raw, "type", None) or (raw.get("type") if isinstance(raw, dict) else None)
    label = event_type if event_type in ROLES else "unknown"
    metrics.INGESTED.labels(label, error.reason.value).inc()
    return ItemResult(
        index=index,
        event_id=getattr(raw, "event_id", None),
        status="rejected",
        reason=error.reason.value,
        errors=error.errors or [{"loc": [], "msg": error.detail}],
    )
