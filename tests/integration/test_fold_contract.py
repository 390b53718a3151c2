"""The exactly-once contract of the fold, one suite run against SQLite and PostgreSQL.

It drives the aggregator's application layer (`services.aggregator.batch`: a batch of
stream entries folded, or refused scans kept, in one SQL transaction) and reads the figures
back as the API answers them (`services.api.standing.session_totals`), not from the
projection's rows: what is promised is what a user sees. Besides the figures, only the
event store's count of a session's events and the project's own rebuild check
(`expo rebuild --check`) are looked at.

A batch the database refuses is made with a trigger that raises on one marked row, on
either database: a real refusal inside the fold's transaction, after it has written.

- A batch folds each new event once; its redelivery changes nothing and says so.
- An event is its event_id within its session, whatever stream entry carries it.
- The figures depend on the set of events folded, not on how batches split or order them:
  they equal the pure fold's (`shared.fold.fold`).
- A batch the database refuses half-way leaves nothing: no event, figure or position.
- A refused scan is kept once; a batch of them the database refuses keeps none.
- The recorded position is the newest entry folded and never moves back.
- Late and after-close events count in the revisions once, however often delivered.
"""

import random
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from services.aggregator.batch import fold_batch, keep_rejected
from services.aggregator.check import check
from services.aggregator.event_store import Entry
from services.api import breakdown as breakdowns
from services.api.admin import get_session
from services.api.schemas import Totals
from services.api.standing import session_totals
from shared.db import make_engine, read_only
from shared.errors import Reason
from shared.events import Category, DealKind, Event
from shared.figures import Tally
from shared.fold import fold
from shared.fold_state import State
from shared.money import yuan_of
from shared.rejection import RejectedScan
from shared.tables import EVENTS, SESSIONS, Expo, ExpoSession
from shared.vocabulary import BREAKDOWN_BY
from tests.conftest import new_id
from tests.unit.factories import (
    checkin,
    countries_of,
    exit_scan,
    registered,
    signed,
    voided,
)

NEVER_LATE = timedelta(days=36_500)  # the factories' events are from 2025: none counts late
LATE_AFTER = timedelta(minutes=2)
REFUSED = "refused-by-the-database"  # an id the database is told to refuse (`refusing`)

# A short day: A1 enters twice, A2 enters and leaves, one deal, one exhibitor.
DAY: list[Event] = [
    checkin(1, "A1", minute=0, category=Category.PROFESSIONAL),
    checkin(2, "A2", minute=1, category=Category.VIP, country="DE"),
    checkin(3, "A1", minute=30),
    exit_scan(4, "A2", minute=40, country="DE"),
    signed(5, "D1", minute=10, amount="250.50", counterparty_country="HK"),
    registered(6, "X1", minute=2, country="JP", projects_on_display=3),
]
DAY_FIGURES = {
    "checkins": 3,
    "attendees": 2,
    "deals": 1,
    "deal_value_cny": Decimal("250.50"),
    "countries": 4,  # CN, DE, HK, JP
    "exhibitors": 1,
    "projects_on_display": 3,
    "inside_now": 1,
}

# Events whose figures depend on which came first by occurred_at, not by arrival.
TANGLED: list[Event] = [
    checkin(11, "B1", minute=50),
    checkin(12, "B1", minute=5, category=Category.MEDIA, country="FR"),  # B1 is media
    exit_scan(13, "B1", minute=60),
    checkin(14, "B2", minute=20, category=Category.VIP, country="US"),
    exit_scan(15, "B3", minute=15),  # an exit known before the entry it follows
    checkin(16, "B3", minute=10, category=Category.DELEGATE, country="KR"),
    signed(17, "D1", minute=30, amount="1000.00", counterparty_country="SG", sector="AI"),
    signed(  # this one counts
        18, "D1", minute=20, amount="900.00", kind=DealKind.AGREEMENT, sector="低空经济"
    ),
    voided(19, "D2", minute=40),  # a void before its signing arrives
    signed(20, "D2", minute=35, amount="5000.00", counterparty_country="BR", sector="AI"),
    signed(
        21,
        "D3",
        minute=45,
        kind=DealKind.INTENT,
        amount="123.45",
        fx_rate_to_cny="7.1234",
        sector="AI",
        exhibitor_id="X1",
    ),
    registered(22, "X1", minute=30, country="IT", projects_on_display=4),
    registered(23, "X1", minute=3, country="ES", projects_on_display=2),  # this one counts
    registered(24, "X2", minute=8, projects_on_display=0),
    *(
        checkin(
            100 + n,
            f"C{n % 7}",
            minute=(37 * n) % 90,
            category=list(Category)[n % len(Category)],
            country=("CN", "DE", "HK", "TW")[n % 4],
            desk_id=("desk-1", "desk-2", None)[n % 3],
        )
        for n in range(30)
    ),
    *(exit_scan(200 + n, f"C{n}", minute=70 + n) for n in range(3)),
]


@pytest.fixture(scope="module")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def new_session(engine: Engine) -> str:
    """An open session of a new expo (random ids: tests share the database)."""
    expo_id, session_id = new_id("expo"), new_id("session")
    today = datetime.now(UTC).date()
    with Session(engine) as db:
        db.add(Expo(id=expo_id, name="Contract Expo", timezone="Asia/Shanghai"))
        db.flush()
        db.add(
            ExpoSession(
                id=session_id,
                expo_id=expo_id,
                ordinal=1,
                name="The 1st session",
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=2),
                status="open",
                opened_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
        db.commit()
    return session_id


@pytest.fixture
def session_id(engine: Engine) -> str:
    return new_session(engine)


def close(engine: Engine, session_id: str, closed_at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(SESSIONS)
            .where(SESSIONS.c.id == session_id)
            .values(status="closed", closed_at=closed_at)
        )


def totals(engine: Engine, session_id: str) -> Totals:
    """The session's totals as the API reads them (no Redis: freshness unknown)."""
    with Session(read_only(engine)) as db:
        return session_totals(db.connection(), get_session(db, session_id), None)


def shown(answer: Totals) -> dict[str, Any]:
    """The figures a user reads first."""
    current = answer.current
    return {
        "checkins": current.checkins,
        "attendees": current.attendees,
        "deals": current.deals,
        "deal_value_cny": current.deal_value_cny,
        "countries": current.countries,
        "exhibitors": current.exhibitors,
        "projects_on_display": current.projects_on_display,
        "inside_now": current.inside_now,
    }


def breakdown(engine: Engine, session_id: str, by: str) -> dict[str, tuple[Any, ...]]:
    """The session's breakdown `by` as the API answers it: its measures by key ("" for the
    row of what the events left out)."""
    with read_only(engine).connect() as conn:
        answer = breakdowns.of_session(conn, session_id, by, None, None)
    names = BREAKDOWN_BY[by].measures
    return {row.key or "": tuple(getattr(row, m) for m in names) for row in answer.rows}


def pure_breakdown(state: State, by: str) -> dict[str, tuple[Any, ...]]:
    """The breakdown `by` as the pure fold keeps it, in the API's measures."""
    counters = BREAKDOWN_BY[by].counters
    return {
        key: tuple(yuan_of(counts[c]) if c.endswith("_fen") else counts[c] for c in counters)
        for (of, key), counts in state.rows.items()
        if of == by and any(counts.values())
    }


def stored(engine: Engine, session_id: str) -> int:
    """How many events the event store holds for the session."""
    with engine.connect() as conn:
        count = select(func.count()).select_from(EVENTS).where(EVENTS.c.session_id == session_id)
        return int(conn.execute(count).scalar_one())


def entries(session_id: str, events: Iterable[Event], first: int = 1) -> list[Entry]:
    """The events as a session's stream holds them, from entry `<first>-0` on."""
    return [
        Entry(f"{first + n}-0", event.model_copy(update={"session_id": session_id}))
        for n, event in enumerate(events)
    ]


def ids(folded: Sequence[tuple[Event, Any]]) -> list[UUID]:
    return sorted(event.event_id for event, _ in folded)


def numbers(*ns: int) -> list[UUID]:
    return sorted(UUID(int=n) for n in ns)


@contextmanager
def refusing(engine: Engine, table: str, column: str) -> Iterator[None]:
    """While inside, the database refuses any row of `table` whose `column` is REFUSED (a
    trigger raises), as it would refuse a row breaking a constraint."""
    name = f"refuse_{secrets.token_hex(4)}"
    when = f"NEW.{column} = '{REFUSED}'"
    if engine.dialect.name == "postgresql":
        create = [
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW WHEN ({when}) "
            f"EXECUTE FUNCTION {name}()",
        ]
        drop = [f"DROP TRIGGER {name} ON {table}", f"DROP FUNCTION {name}()"]
    else:
        create = [
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
        drop = [f"DROP TRIGGER {name}"]
    with engine.begin() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for statement in drop:
                conn.execute(text(statement))


def scan(
    session_id: str, attendee_id: str = "A1", reason: Reason = Reason.SESSION_CLOSED
) -> RejectedScan:
    moment = datetime.now(UTC)
    return RejectedScan(
        event_id=uuid4(),
        session_id=session_id,
        reason=reason,
        attendee_id=attendee_id,
        desk_id="desk-1",
        source="desk-1",
        occurred_at=moment,
        received_at=moment,
    )


# --- 1. once, and a redelivery changes nothing -----------------------------------------------


def test_a_batch_folds_each_new_event_once_and_its_redelivery_changes_nothing(
    engine: Engine, session_id: str
) -> None:
    batch = entries(session_id, DAY)
    first = fold_batch(engine, session_id, batch, NEVER_LATE)
    assert (ids(first.new), first.duplicates) == (numbers(1, 2, 3, 4, 5, 6), 0)
    after_first = totals(engine, session_id)
    assert shown(after_first) == DAY_FIGURES
    assert after_first.position == "6-0"

    again = fold_batch(engine, session_id, batch, NEVER_LATE)  # acked too late: read again

    assert (again.new, again.duplicates) == ([], len(DAY))
    assert totals(engine, session_id) == after_first
    assert stored(engine, session_id) == len(DAY)


# --- 2. an event is its event_id within its session ------------------------------------------


def test_an_event_is_its_event_id_within_its_session_whatever_entry_carries_it(
    engine: Engine, session_id: str
) -> None:
    fold_batch(engine, session_id, entries(session_id, DAY[:1]), NEVER_LATE)
    appended_twice = entries(session_id, [DAY[0], DAY[0], DAY[1]], first=7)
    second = fold_batch(engine, session_id, appended_twice, NEVER_LATE)
    assert (ids(second.new), second.duplicates) == (numbers(2), 2)
    assert (shown(totals(engine, session_id))["checkins"], stored(engine, session_id)) == (2, 2)

    other = new_session(engine)
    reused = checkin(1, "B7", category=Category.MEDIA, country="FR")  # event 1, another session
    there = fold_batch(engine, other, entries(other, [reused], first=7), NEVER_LATE)

    assert (ids(there.new), there.duplicates) == (numbers(1), 0)
    figures = totals(engine, other).current
    assert (figures.checkins, figures.attendees_by_category[Category.MEDIA]) == (1, 1)
    assert shown(totals(engine, session_id))["checkins"] == 2  # the first session unmoved


# --- 3. the figures are those of the set of events -------------------------------------------


def deliveries(session_id: str, seed: int) -> list[list[Entry]]:
    """The tangled events appended in a shuffled order, read in batches of random sizes,
    committed in a shuffled order (as several aggregators would), some batches twice."""
    rng = random.Random(seed)
    arrived = rng.sample(TANGLED, len(TANGLED))
    stream = entries(session_id, arrived)
    cuts = sorted(rng.sample(range(1, len(stream)), rng.randint(1, 8)))
    batches = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    redelivered = rng.sample(batches, max(1, len(batches) // 3))
    return rng.sample(batches + redelivered, len(batches) + len(redelivered))


def test_figures_after_any_split_order_and_redelivery_equal_the_pure_fold(
    engine: Engine,
) -> None:
    state, _ = fold(TANGLED)
    expected = Tally.of_session(state.totals, countries_of(state), is_open=True).figures()
    # D2 is void; D1 counts as its earlier signing, an agreement of 900.00.
    assert (expected.checkins, expected.deals, expected.deal_value_cny) == (
        34,
        2,
        Decimal("1779.38"),
    )

    arrangements: dict[str, Callable[[str], list[list[Entry]]]] = {
        "one batch": lambda s: [entries(s, TANGLED)],
        "one batch, reversed": lambda s: [entries(s, TANGLED[::-1])],
        "one event a batch, newest first": lambda s: [[e] for e in entries(s, TANGLED)][::-1],
        **{f"seed {seed}": partial(deliveries, seed=seed) for seed in (3, 17, 2025)},
    }
    for name, delivered in arrangements.items():
        session_id = new_session(engine)
        for batch in delivered(session_id):
            fold_batch(engine, session_id, batch, NEVER_LATE)
        answer = totals(engine, session_id)
        assert (answer.current, answer.as_of) == (expected, state.totals.as_of), name
        assert answer.position == f"{len(TANGLED)}-0", name
        assert stored(engine, session_id) == len(TANGLED), name
        assert check(engine, [session_id], NEVER_LATE) == [], name  # the projection is a rebuild's
        for by in BREAKDOWN_BY:
            assert breakdown(engine, session_id, by) == pure_breakdown(state, by), (name, by)
    # D1 counts as its signing of 900.00 (低空经济); D3 as 123.45 USD at 7.1234 (AI, X1).
    assert breakdown(engine, session_id, "sector") == {
        "低空经济": (1, Decimal("900.00")),
        "AI": (1, Decimal("879.38")),
    }
    assert breakdown(engine, session_id, "exhibitor") == {
        "X1": (1, Decimal("879.38")),
        "": (1, Decimal("900.00")),
    }


# --- 4. a batch the database refuses leaves nothing ------------------------------------------


@pytest.mark.parametrize("folded_before", [0, 3], ids=["first batch", "later batch"])
def test_a_batch_the_database_refuses_half_way_leaves_nothing_behind(
    engine: Engine, session_id: str, folded_before: int
) -> None:
    if folded_before:
        fold_batch(engine, session_id, entries(session_id, DAY[:folded_before]), NEVER_LATE)
    before = totals(engine, session_id)
    good = entries(session_id, DAY[folded_before:], first=folded_before + 1)
    refused = registered(7, REFUSED, country="NO")  # its record is written late in the batch
    poisoned = [*good, *entries(session_id, [refused, DAY[0]], first=7)]

    with refusing(engine, "exhibitor_record", "exhibitor_id"):
        with pytest.raises(DBAPIError, match="refused by the test"):
            fold_batch(engine, session_id, poisoned, NEVER_LATE)
        assert totals(engine, session_id) == before
        assert stored(engine, session_id) == folded_before
        retried = fold_batch(engine, session_id, good, NEVER_LATE)

    assert (ids(retried.new), retried.duplicates) == (numbers(*range(folded_before + 1, 7)), 0)
    answer = totals(engine, session_id)
    assert (shown(answer), answer.position) == (DAY_FIGURES, "6-0")


# --- 5. refused scans, each kept once ----------------------------------------------------------


def test_a_refused_scan_is_kept_once_however_often_it_is_delivered(
    engine: Engine, session_id: str
) -> None:
    scans = [
        scan(session_id, "A1"),
        scan(session_id, "A2", Reason.OCCURRED_OUTSIDE_SESSION),
        scan(session_id, "A3"),
    ]
    assert keep_rejected(engine, [*scans, scans[0]]) == 3
    assert keep_rejected(engine, scans) == 0
    assert keep_rejected(engine, [scans[1], scan(session_id, "A4", Reason.WRONG_SESSION)]) == 1
    kept = {"session_closed": 2, "occurred_outside_session": 1, "wrong_session": 1}
    assert totals(engine, session_id).rejected_scans == kept

    other = new_session(engine)  # the same event id refused in another session: another scan
    assert keep_rejected(engine, [scans[0].model_copy(update={"session_id": other})]) == 1
    assert totals(engine, other).rejected_scans == {"session_closed": 1}
    assert totals(engine, session_id).rejected_scans == kept


def test_a_batch_of_refused_scans_the_database_refuses_keeps_none_of_them(
    engine: Engine, session_id: str
) -> None:
    kept = scan(session_id, "A1")
    assert keep_rejected(engine, [kept]) == 1
    fresh = scan(session_id, "A2", Reason.WRONG_SESSION)

    with refusing(engine, "rejected_scan", "attendee_id"):
        with pytest.raises(DBAPIError, match="refused by the test"):
            keep_rejected(engine, [fresh, scan(session_id, REFUSED), kept])
        assert totals(engine, session_id).rejected_scans == {"session_closed": 1}
        assert keep_rejected(engine, [fresh, kept]) == 1

    assert totals(engine, session_id).rejected_scans == {"session_closed": 1, "wrong_session": 1}


# --- 6. the position ---------------------------------------------------------------------------


def test_the_recorded_position_is_the_newest_entry_folded_and_never_moves_back(
    engine: Engine, session_id: str
) -> None:
    def fold_at(*pairs: tuple[str, Event]) -> str | None:
        batch = [Entry(at, e.model_copy(update={"session_id": session_id})) for at, e in pairs]
        fold_batch(engine, session_id, batch, NEVER_LATE)
        return totals(engine, session_id).position

    assert fold_at(("9-0", DAY[0]), ("9-1", DAY[1])) == "9-1"
    assert fold_at(("10-0", DAY[2]), ("10-2", DAY[3])) == "10-2"
    # Compared as text, "9-5" is after "10-2" and "10-3" after "10-10": entry ids are numbers.
    assert fold_at(("9-5", DAY[4])) == "10-2"  # an older batch committed later
    assert fold_at(("10-10", DAY[0])) == "10-10"  # an entry holding an event folded already
    assert fold_at(("10-3", DAY[5])) == "10-10"
    assert fold_at(("10-4", DAY[1])) == "10-10"
    assert shown(totals(engine, session_id)) == DAY_FIGURES  # the older batches were folded


# --- 7. revisions ------------------------------------------------------------------------------


def scanned(n: int, attendee_id: str, occurred_at: datetime) -> Event:
    return checkin(n, attendee_id).model_copy(
        update={"occurred_at": occurred_at, "recorded_at": occurred_at}
    )


def test_late_and_after_close_events_count_in_the_revisions_once_however_often_delivered(
    engine: Engine, session_id: str
) -> None:
    now = datetime.now(UTC)
    late = scanned(2, "A2", now - timedelta(minutes=10))  # a desk that was offline
    first = entries(session_id, [scanned(1, "A1", now), late])
    folding = datetime.now(UTC)
    fold_batch(engine, session_id, first, LATE_AFTER)
    revisions = totals(engine, session_id).revisions
    assert (revisions.late_events, revisions.after_close) == (1, 0)
    assert revisions.last_revised_at is not None
    assert folding <= revisions.last_revised_at <= datetime.now(UTC)
    fold_batch(engine, session_id, first, LATE_AFTER)
    assert totals(engine, session_id).revisions == revisions

    closed_at = datetime.now(UTC) - timedelta(seconds=1)
    close(engine, session_id, closed_at)
    uploaded = [
        scanned(3, "A3", closed_at - timedelta(seconds=5)),  # after close only
        scanned(4, "A4", closed_at - timedelta(hours=1)),  # late and after close
    ]
    second = entries(session_id, uploaded, first=3)
    fold_batch(engine, session_id, second, LATE_AFTER)
    revised = totals(engine, session_id).revisions
    assert (revised.late_events, revised.after_close) == (2, 2)
    assert revised.last_revised_at is not None
    assert revisions.last_revised_at < revised.last_revised_at  # the newest late event's

    fold_batch(engine, session_id, [*second, *entries(session_id, [late], first=9)], LATE_AFTER)
    assert totals(engine, session_id).revisions == revised
    assert totals(engine, session_id).current.checkins == 4


def test_two_events_under_one_id_count_the_first_delivered_however_batches_split(
    engine: Engine,
) -> None:
    """Ingest refuses an event_id it has seen within its idempotency window; past it, a
    reused id reaches the stream twice. The entry delivered first is the event, whether
    both come in one batch or in two."""
    vip = checkin(1, "A1", category=Category.VIP)
    media = checkin(1, "A1", category=Category.MEDIA)
    together, apart = new_session(engine), new_session(engine)

    folded = fold_batch(engine, together, entries(together, [vip, media]), NEVER_LATE)
    fold_batch(engine, apart, entries(apart, [vip]), NEVER_LATE)
    fold_batch(engine, apart, entries(apart, [media], first=2), NEVER_LATE)

    assert (len(folded.new), folded.duplicates) == (1, 1)
    for session in (together, apart):
        by_category = totals(engine, session).current.attendees_by_category
        assert (by_category[Category.VIP], by_category[Category.MEDIA]) == (1, 0)


def test_a_batch_holding_another_sessions_event_is_refused_whole(engine: Engine) -> None:
    mine, theirs = new_session(engine), new_session(engine)
    batch = [*entries(mine, [checkin(1, "A1")]), *entries(theirs, [checkin(2, "A2")], first=2)]

    with pytest.raises(ValueError, match="another session"):
        fold_batch(engine, mine, batch, NEVER_LATE)

    assert (stored(engine, mine), stored(engine, theirs)) == (0, 0)
    assert totals(engine, mine).current.checkins == 0


def test_a_batch_of_ten_thousand_refused_scans_is_kept_whole(engine: Engine) -> None:
    """As many as the largest batch the aggregator reads (EXPO_FOLD_BATCH_SIZE)."""
    session = new_session(engine)
    scans = [scan(session, f"A{n}") for n in range(10_000)]

    assert keep_rejected(engine, scans) == 10_000
    assert keep_rejected(engine, scans) == 0
    assert sum(totals(engine, session).rejected_scans.values()) == 10_000
