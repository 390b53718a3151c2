"""Reference data, for admins: expos, sessions and their status, baselines, tokens."""

import json
from datetime import UTC, datetime

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.api.deps import AdminDep, DbDep, ReadDbDep, ReaderDep, RedisDep
from services.api.schemas import (
    BaselineCreate,
    BaselinePublic,
    ExpoCreate,
    ExpoPublic,
    SessionCreate,
    SessionPatch,
    SessionPublic,
    TokenCreate,
    TokenIssued,
)
from services.api.standing import baseline_tally
from shared import auth, reference
from shared.body import StrictJsonRoute
from shared.errors import DomainError, Reason
from shared.openapi import ADMIN, problems
from shared.session import SessionStatus, check_transition
from shared.tables import Baseline, Expo, ExpoSession

router = APIRouter(tags=["reference data"], route_class=StrictJsonRoute)


def get_expo(db: Session, expo_id: str) -> Expo:
    expo = db.get(Expo, expo_id)
    if expo is None:
        raise DomainError(Reason.UNKNOWN_EXPO, f"there is no expo {expo_id!r}")
    return expo


def get_session(db: Session, session_id: str) -> ExpoSession:
    session = db.get(ExpoSession, session_id)
    if session is None:
        raise DomainError(Reason.UNKNOWN_SESSION, f"there is no session {session_id!r}")
    return session


def _commit(db: Session, what: str) -> None:
    """Commit what `db` holds; an id taken is 409."""
    try:
        db.flush()
        db.commit()
    except IntegrityError as error:
        db.rollback()
        raise DomainError(Reason.ALREADY_EXISTS, f"{what} already exists") from error


def ordinals_taken(db: Session, expo_id: str, first: int, last: int) -> None:
    sessions = db.exec(
        select(ExpoSession.id).where(
            ExpoSession.expo_id == expo_id, col(ExpoSession.ordinal).between(first, last)
        )
    ).first()
    baselines = db.exec(
        select(Baseline.label).where(
            Baseline.expo_id == expo_id,
            Baseline.first_ordinal <= last,
            Baseline.last_ordinal >= first,
        )
    ).first()
    if sessions or baselines:
        taken = sessions or baselines
        raise DomainError(
            Reason.ORDINAL_TAKEN, f"ordinals {first}..{last} overlap {taken!r} of this expo"
        )


@router.post("/v1/expos", status_code=201, responses=problems(*ADMIN, 409))
def create_expo(body: ExpoCreate, _: AdminDep, db: DbDep) -> ExpoPublic:
    """A recurring expo; its timezone sets the buckets and display times."""
    if db.get(Expo, body.id) is not None:
        raise DomainError(Reason.ALREADY_EXISTS, f"expo {body.id!r} already exists")
    expo = Expo(id=body.id, name=body.name, timezone=body.timezone)
    db.add(expo)
    _commit(db, f"expo {body.id!r}")
    return ExpoPublic.model_validate(expo, from_attributes=True)


@router.get("/v1/expos", responses=problems(401, 503))
def list_expos(_: ReaderDep, db: ReadDbDep) -> list[ExpoPublic]:
    expos = db.exec(select(Expo).order_by(col(Expo.id))).all()
    return [ExpoPublic.model_validate(e, from_attributes=True) for e in expos]


@router.get("/v1/expos/{expo_id}", responses=problems(401, 404, 422, 503))
def read_expo(expo_id: str, _: ReaderDep, db: ReadDbDep) -> ExpoPublic:
    return ExpoPublic.model_validate(get_expo(db, expo_id), from_attributes=True)


@router.post("/v1/expos/{expo_id}/sessions", status_code=201, responses=problems(*ADMIN, 404, 409))
def create_session(expo_id: str, body: SessionCreate, _: AdminDep, db: DbDep) -> SessionPublic:
    """One edition of the expo; it starts `planned` and takes no events until opened."""
    get_expo(db, expo_id)
    if db.get(ExpoSession, body.id) is not None:
        raise DomainError(Reason.ALREADY_EXISTS, f"session {body.id!r} already exists")
    ordinals_taken(db, expo_id, body.ordinal, body.ordinal)
    session = ExpoSession(expo_id=expo_id, **body.model_dump())
    db.add(session)
    _commit(db, f"session {body.id!r}")
    return SessionPublic.model_validate(session, from_attributes=True)


@router.get("/v1/sessions/{session_id}", responses=problems(401, 404, 422, 503))
def read_session(session_id: str, _: ReaderDep, db: ReadDbDep) -> SessionPublic:
    return SessionPublic.model_validate(get_session(db, session_id), from_attributes=True)


@router.patch("/v1/sessions/{session_id}", responses=problems(*ADMIN, 404, 409))
def change_session(
    session_id: str, body: SessionPatch, redis: RedisDep, _: AdminDep, db: DbDep
) -> SessionPublic:
    """Open a planned session, or close an open one. Closing keeps accepting late uploads
    of events that occurred before the moment it closed."""
    session = get_session(db, session_id)
    current, wanted = SessionStatus(session.status), SessionStatus(body.status)
    check_transition(current, wanted)
    if current != wanted:
        now = datetime.now(UTC)
        session.status = wanted
        if wanted is SessionStatus.OPEN:
            session.opened_at = now
        else:
            session.closed_at = now
        db.add(session)
        db.commit()
        db.refresh(session)
        reference.mark_changed(redis)
    return SessionPublic.model_validate(session, from_attributes=True)


@router.post("/v1/expos/{expo_id}/baselines", status_code=201, responses=problems(*ADMIN, 404, 409))
def create_baseline(expo_id: str, body: BaselineCreate, _: AdminDep, db: DbDep) -> BaselinePublic:
    """Figures of editions that predate the system, known only as aggregates."""
    get_expo(db, expo_id)
    ordinals_taken(db, expo_id, body.first_ordinal, body.last_ordinal)
    countries = sorted(set(body.countries_list)) if body.countries_list is not None else None
    baseline = Baseline(
        expo_id=expo_id,
        label=body.label,
        first_ordinal=body.first_ordinal,
        last_ordinal=body.last_ordinal,
        figures=body.figures.model_dump_json(),
        countries_list=json.dumps(countries) if countries is not None else None,
    )
    db.add(baseline)
    _commit(db, "baseline")
    db.refresh(baseline)
    assert baseline.id is not None
    return BaselinePublic(
        id=baseline.id,
        expo_id=expo_id,
        label=baseline.label,
        first_ordinal=baseline.first_ordinal,
        last_ordinal=baseline.last_ordinal,
        figures=baseline_tally(baseline.figures, baseline.countries_list).figures(),
        countries_list=countries,
    )


@router.post("/v1/tokens", status_code=201, responses=problems(*ADMIN, 404, 409))
def create_token(body: TokenCreate, _: AdminDep, db: DbDep) -> TokenIssued:
    """A bearer token for a desk, ceremony, organiser, display or admin; shown once."""
    if body.session_id is not None:
        get_session(db, body.session_id)
    issued = auth.issue(body.role, body.session_id, body.label)
    db.add(issued.record)
    _commit(db, "token")
    return TokenIssued(id=issued.id, token=issued.secret, **body.model_dump())
