"""Appending accepted events to their session streams, each client event id at most once."""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError

from services.ingest.cache import ReferenceCache
from services.ingest.coalesce import AnyPipeline, Coalescer
from services.ingest.idempotency import Appender, Outcome, fingerprint
from services.ingest.limiter import RateLimiter
from services.ingest.requests import Accepted, BatchItem, BatchResult, EventRequest, ItemResult
from shared import metrics, rejection
from shared.auth import Principal, Role, authorize
from shared.errors import DomainError, Reason, validation_errors
from shared.events import Event
from shared.session import admit

logger = logging.getLogger(__name__)

ITEMS: TypeAdapter[BatchItem] = TypeAdapter(BatchItem)
ROLES: dict[str, set[Role]] = {
    "attendee.checked_in": {Role.DESK},
    "deal.signed": {Role.CEREMONY},
    "deal.voided": {Role.CEREMONY},
    "exhibitor.registered": {Role.ORGANIZER},
}


@dataclass(frozen=True)
class Ingest:
    """What appending needs: tokens and sessions, streams in Redis, the per-token limit."""

    reference: ReferenceCache
    appender: Appender
    limiter: RateLimiter


@dataclass(frozen=True, slots=True)
class Posted:
    """An event built from a request, with what a retry of it must repeat."""

    event: Event
    fingerprint: str | None


Build = Callable[[datetime, str], Posted]


def posted(request: EventRequest, event: Event, **extra: str) -> Posted:
    """Requests with a client event id get a fingerprint; server-made ids cannot repeat."""
    if request.event_id is None:
        return Posted(event, None)
    fields = request.model_dump(mode="json", exclude={"event_id", "type"}) | extra
    return Posted(event, fingerprint(event.type, fields))


def building(request: EventRequest, make: Callable[[datetime, str], Event], **extra: str) -> Build:
    """How to build the event of a request at receipt, from the token that sent it."""
    return lambda received_at, source: posted(request, make(received_at, source), **extra)


async def append_one(ingest: Ingest, who: Principal, roles: set[Role], build: Build) -> Accepted:
    ingest.limiter.take(who.token_id, 1)
    try:
        post = build(datetime.now(UTC), who.token_id)
    except DomainError as error:
        metrics.INGESTED.labels("unknown", error.reason.value).inc()
        raise
    event = post.event
    try:
        authorize(who, roles, event.session_id)
        sessions = await ingest.reference.sessions([event.session_id])
        admit(sessions.get(event.session_id), event)
    except DomainError as error:
        metrics.INGESTED.labels(event.type, error.reason.value).inc()
        await _keep_rejected(ingest.appender.coalescer, [(event, error)])
        raise
    outcome = await ingest.appender.append(event, post.fingerprint)
    metrics.INGESTED.labels(event.type, _result(outcome)).inc()
    if outcome.status == "conflict":
        raise _conflict(event, outcome)
    logger.debug(
        "session %s: event %s %s",
        event.session_id,
        event.event_id,
        outcome.status,
        extra={"session_id": event.session_id, "event_id": event.event_id},
    )
    return Accepted(event_id=event.event_id, position=outcome.position)


async def append_batch(ingest: Ingest, who: Principal, items: Sequence[Any]) -> BatchResult:
    ingest.limiter.take(who.token_id, len(items))
    received_at = datetime.now(UTC)
    results: list[ItemResult] = []
    candidates: list[tuple[int, Posted]] = []
    refused: list[tuple[Event, DomainError]] = []
    for index, raw in enumerate(items):
        try:
            post = _item(raw, received_at, who)
        except DomainError as error:
            results.append(_rejected(index, error, raw))
            continue
        try:
            authorize(who, ROLES[post.event.type], post.event.session_id)
        except DomainError as error:
            results.append(_rejected(index, error, post.event))
            refused.append((post.event, error))
            continue
        candidates.append((index, post))
    sessions = await ingest.reference.sessions(post.event.session_id for _, post in candidates)
    admitted: list[tuple[int, Posted]] = []
    for index, post in candidates:
        event = post.event
        try:
            admit(sessions.get(event.session_id), event)
        except DomainError as error:
            results.append(_rejected(index, error, event))
            refused.append((event, error))
            continue
        admitted.append((index, post))
    await _keep_rejected(ingest.appender.coalescer, refused)
    outcomes = await ingest.appender.append_many([(p.event, p.fingerprint) for _, p in admitted])
    counted: Counter[tuple[str, str]] = Counter()
    for (index, post), outcome in zip(admitted, outcomes, strict=True):
        counted[post.event.type, _result(outcome)] += 1
        results.append(_item_result(index, post.event, outcome))
    for (event_type, result), n in counted.items():
        metrics.INGESTED.labels(event_type, result).inc(n)
    return BatchResult(results=sorted(results, key=lambda r: r.index))


def _result(outcome: Outcome) -> str:
    return {"appended": "accepted", "duplicate": "duplicate"}.get(outcome.status, "conflict")


def _conflict(event: Event, outcome: Outcome) -> DomainError:
    return DomainError(
        Reason.IDEMPOTENCY_CONFLICT,
        f"event_id {event.event_id} was already used for a different event "
        f"(appended at {outcome.position}); send a new event_id for a new event",
    )


def _item_result(index: int, event: Event, outcome: Outcome) -> ItemResult:
    if outcome.status == "conflict":
        return _rejected(index, _conflict(event, outcome), event, count=False)
    return ItemResult(
        index=index, event_id=event.event_id, status="accepted", position=outcome.position
    )


def _item(raw: Any, received_at: datetime, who: Principal) -> Posted:
    try:
        item = ITEMS.validate_python(raw)
    except ValidationError as error:
        raise DomainError(
            Reason.VALIDATION_FAILED, "the event is not valid", validation_errors(error.errors())
        ) from error
    return posted(item, item.to_event(received_at, who.token_id))


async def _keep_rejected(
    coalescer: Coalescer, refused: Sequence[tuple[Event, DomainError]]
) -> None:
    """Scans refused for their session are kept for statistics; losing one of these
    records never turns a refusal into an error."""
    scans = [scan for event, error in refused if (scan := rejection.of(event, error))]
    if not scans:
        return

    async def queue(pipe: AnyPipeline) -> None:
        for scan in scans:
            pipe.xadd(
                rejection.STREAM,
                rejection.to_fields(scan),  # type: ignore[arg-type]
                maxlen=rejection.MAX_ENTRIES,
                approximate=True,
            )

    try:
        await coalescer.run(queue)
    except RedisError:
        logger.warning("could not keep %d rejected scans", len(scans), exc_info=True)
        return
    for scan in scans:
        metrics.REJECTED_SCANS.labels(scan.reason.value).inc()


def _rejected(index: int, error: DomainError, raw: Any, count: bool = True) -> ItemResult:
    event_type = getattr(raw, "type", None) or (raw.get("type") if isinstance(raw, dict) else None)
    if count:
        label = event_type if isinstance(event_type, str) and event_type in ROLES else "unknown"
        metrics.INGESTED.labels(label, error.reason.value).inc()
    return ItemResult(
        index=index,
        event_id=getattr(raw, "event_id", None),
        status="rejected",
        reason=error.reason.value,
        errors=error.errors or [{"loc": [], "msg": error.detail}],
    )
