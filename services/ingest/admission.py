"""Admission: every event posted to ingest, alone or in a batch, takes one path.

In order: the token's rate limit (a batch counts each event), building the event (valid
fields, not in the future), the token's role and session binding, the session's admission
rule (`shared/session.py`), then the append, at most once per client event id. Scans
refused for their session are kept for statistics. A single post is a batch of one: its
refusal is raised, where a batch reports each item's.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError

from services.ingest.appender import Appender, Outcome, fingerprint
from services.ingest.cache import ReferenceCache
from services.ingest.coalesce import AnyPipeline, Coalescer
from services.ingest.limiter import RateLimiter
from services.ingest.requests import Accepted, BatchItem, BatchResult, EventRequest, ItemResult
from shared import metrics, rejection
from shared.auth import Principal, Role, authorize
from shared.errors import DomainError, Reason, validation_errors
from shared.events import Event
from shared.session import SessionState, admit

logger = logging.getLogger(__name__)

ITEMS: TypeAdapter[BatchItem] = TypeAdapter(BatchItem)
ROLES: dict[str, set[Role]] = {
    "attendee.checked_in": {Role.DESK},
    "deal.signed": {Role.CEREMONY},
    "deal.voided": {Role.CEREMONY},
    "exhibitor.registered": {Role.ORGANIZER},
}
UNKNOWN = "unknown"  # the event type counted for an item that is not a valid event


@dataclass(frozen=True)
class Admission:
    """What admitting needs: tokens and sessions, streams in Redis, the per-token limit."""

    reference: ReferenceCache
    appender: Appender
    limiter: RateLimiter


@dataclass(frozen=True, slots=True)
class Posted:
    """An event built from a request, with what a retry of it must repeat."""

    event: Event
    fingerprint: str | None


Build = Callable[[datetime, str], Posted]


@dataclass(frozen=True, slots=True)
class Posting:
    """One event to admit: how to build it at receipt from the token that sent it, and the
    type it is counted under if it cannot be built."""

    build: Build
    event_type: str = UNKNOWN


@dataclass(frozen=True, slots=True)
class Verdict:
    """What became of one posting: appended (or found a duplicate) at `position`, or
    refused with `error`."""

    event_id: UUID | None
    position: str | None = None
    error: DomainError | None = None


def posted(request: EventRequest, event: Event, **extra: str) -> Posted:
    """Requests with a client event id get a fingerprint; server-made ids cannot repeat."""
    if request.event_id is None:
        return Posted(event, None)
    fields = request.model_dump(mode="json", exclude={"event_id", "type"}) | extra
    return Posted(event, fingerprint(event.type, fields))


def building(request: EventRequest, make: Callable[[datetime, str], Event], **extra: str) -> Build:
    """How to build the event of a request at receipt, from the token that sent it."""
    return lambda received_at, source: posted(request, make(received_at, source), **extra)


async def one(admission: Admission, who: Principal, build: Build) -> Accepted:
    """Admit one posted event; a refusal is raised."""
    [verdict] = await admit_all(admission, who, [Posting(build)])
    if verdict.error is not None:
        raise verdict.error
    assert verdict.event_id is not None
    assert verdict.position is not None
    return Accepted(event_id=verdict.event_id, position=verdict.position)


async def batch(admission: Admission, who: Principal, items: Sequence[Any]) -> BatchResult:
    """Admit a batch's items; each refusal is reported with its item."""
    verdicts = await admit_all(admission, who, [_posting(raw) for raw in items])
    return BatchResult(results=[_item_result(i, v) for i, v in enumerate(verdicts)])


async def admit_all(
    admission: Admission, who: Principal, postings: Sequence[Posting]
) -> list[Verdict]:
    """The verdict on each posting, in order. Raises only for the whole request: the rate
    limit, or Redis or SQL unavailable."""
    admission.limiter.take(who.token_id, len(postings))
    run = _Run(len(postings))
    candidates = run.build(who, postings, datetime.now(UTC))
    sessions = await admission.reference.sessions(p.event.session_id for _, p in candidates)
    admitted = run.admit(candidates, sessions)
    await _keep_rejected(admission.appender.coalescer, run.refused)
    events = [(p.event, p.fingerprint) for _, p in admitted]
    run.appended(admitted, await admission.appender.append_all(events))
    return run.verdicts()


@dataclass
class _Run:
    """The verdicts of one admission as they are reached; each is counted when reached."""

    size: int
    reached: dict[int, Verdict] = field(default_factory=dict)
    refused: list[tuple[Event, DomainError]] = field(default_factory=list)

    def build(
        self, who: Principal, postings: Sequence[Posting], received_at: datetime
    ) -> list[tuple[int, Posted]]:
        """The postings that build into events the token may send."""
        built: list[tuple[int, Posted]] = []
        for index, posting in enumerate(postings):
            try:
                post = posting.build(received_at, who.token_id)
            except DomainError as error:
                self._refuse(index, error, posting.event_type, None)
                continue
            event = post.event
            try:
                authorize(who, ROLES[event.type], event.session_id)
            except DomainError as error:
                self._refuse(index, error, event.type, event)
                continue
            built.append((index, post))
        return built

    def admit(
        self, candidates: Iterable[tuple[int, Posted]], sessions: Mapping[str, SessionState]
    ) -> list[tuple[int, Posted]]:
        """The candidates their sessions take."""
        admitted: list[tuple[int, Posted]] = []
        for index, post in candidates:
            event = post.event
            try:
                admit(sessions.get(event.session_id), event)
            except DomainError as error:
                self._refuse(index, error, event.type, event)
                continue
            admitted.append((index, post))
        return admitted

    def appended(self, admitted: list[tuple[int, Posted]], outcomes: list[Outcome]) -> None:
        counted: Counter[tuple[str, str]] = Counter()
        for (index, post), outcome in zip(admitted, outcomes, strict=True):
            event = post.event
            counted[event.type, _result(outcome)] += 1
            if outcome.status == "conflict":
                self.reached[index] = Verdict(event.event_id, error=_conflict(event, outcome))
                continue
            self.reached[index] = Verdict(event.event_id, outcome.position)
            logger.debug(
                "session %s: event %s %s",
                event.session_id,
                event.event_id,
                outcome.status,
                extra={"session_id": event.session_id, "event_id": event.event_id},
            )

        for (event_type, result), n in counted.items():
            metrics.INGESTED.labels(event_type, result).inc(n)

    def verdicts(self) -> list[Verdict]:
        return [self.reached[index] for index in range(self.size)]

    def _refuse(self, index: int, error: DomainError, event_type: str, event: Event | None) -> None:
        metrics.INGESTED.labels(event_type, error.reason.value).inc()
        self.reached[index] = Verdict(event.event_id if event else None, error=error)
        if event is not None:
            self.refused.append((event, error))


def _posting(raw: Any) -> Posting:
    """A batch item: validated when it is built, counted under its type if it names one."""
    event_type = raw.get("type") if isinstance(raw, dict) else None
    counted_as = event_type if isinstance(event_type, str) and event_type in ROLES else UNKNOWN
    return Posting(lambda received_at, source: _item(raw, received_at, source), counted_as)


def _item(raw: Any, received_at: datetime, source: str) -> Posted:
    try:
        item = ITEMS.validate_python(raw)
    except ValidationError as error:
        raise DomainError(
            Reason.VALIDATION_FAILED, "the event is not valid", validation_errors(error.errors())
        ) from error
    return posted(item, item.to_event(received_at, source))


def _result(outcome: Outcome) -> str:
    return {"appended": "accepted", "duplicate": "duplicate"}.get(outcome.status, "conflict")


def _conflict(event: Event, outcome: Outcome) -> DomainError:
    return DomainError(
        Reason.IDEMPOTENCY_CONFLICT,
        f"event_id {event.event_id} was already used for a different event "
        f"(appended at {outcome.position}); send a new event_id for a new event",
    )


def _item_result(index: int, verdict: Verdict) -> ItemResult:
    error = verdict.error
    if error is None:
        return ItemResult(
            index=index, event_id=verdict.event_id, status="accepted", position=verdict.position
        )
    return ItemResult(
        index=index,
        event_id=verdict.event_id,
        status="rejected",
        reason=error.reason.value,
        errors=error.errors or [{"loc": [], "msg": error.detail}],
    )


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
