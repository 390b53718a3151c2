"""Where an expo stands: each edition's figures (baselines and sessions, in ordinal order),
read from the projections in a handful of queries."""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select

from services.api.schemas import BaselineFigures
from shared.events import Category
from shared.figures import Tally
from shared.fold import Totals
from shared.tables import Baseline, CountryRef, ExpoSession, SessionFigures, totals_of

FIGURES = SessionFigures.__table__  # type: ignore[attr-defined]
COUNTRIES = CountryRef.__table__  # type: ignore[attr-defined]
SESSIONS = ExpoSession.__table__  # type: ignore[attr-defined]
BASELINES = Baseline.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Part:
    """One row of an expo's history: a baseline or a session."""

    kind: str
    label: str
    first_ordinal: int
    last_ordinal: int
    tally: Tally
    session: ExpoSession | None = None
    as_of: datetime | None = None


def baseline_tally(figures_json: str, countries_json: str | None) -> Tally:
    figures = BaselineFigures.model_validate_json(figures_json)
    by_category = dict(figures.attendees_by_category or {})
    if figures.professional_attendees is not None:
        by_category.setdefault(Category.PROFESSIONAL, figures.professional_attendees)
    by_kind = dict(figures.deals_by_kind or {})
    countries = frozenset(json.loads(countries_json)) if countries_json else None
    return Tally(
        checkins=figures.checkins,
        by_category=by_category,
        by_kind=by_kind,
        unclassified_attendees=figures.attendees - sum(by_category.values()),
        unclassified_deals=figures.deals - sum(by_kind.values()),
        deal_value_cny=figures.deal_value_cny,
        exhibitors=figures.exhibitors,
        projects_on_display=figures.projects_on_display,
        country_list=countries or frozenset(),
        country_count_only=0 if countries is not None else figures.countries,
        countries_exact=countries is not None,
    )


def expo_parts(conn: Connection, expo_id: str) -> list[Part]:
    """The baselines and sessions of an expo with their figures, in ordinal order."""
    parts = [
        Part(
            "baseline",
            row.label,
            row.first_ordinal,
            row.last_ordinal,
            baseline_tally(row.figures, row.countries_list),
        )
        for row in conn.execute(select(BASELINES).where(BASELINES.c.expo_id == expo_id))
    ]
    sessions = [
        ExpoSession.model_validate(row._mapping)
        for row in conn.execute(select(SESSIONS).where(SESSIONS.c.expo_id == expo_id))
    ]
    ids = [s.id for s in sessions]
    rows = {
        r.session_id: r for r in conn.execute(select(FIGURES).where(FIGURES.c.session_id.in_(ids)))
    }
    countries: dict[str, set[str]] = {}
    for ref in conn.execute(
        select(COUNTRIES.c.session_id, COUNTRIES.c.country).where(
            COUNTRIES.c.session_id.in_(ids), COUNTRIES.c.refs > 0
        )
    ):
        countries.setdefault(ref.session_id, set()).add(ref.country)
    for session in sessions:
        row = rows.get(session.id)
        totals = totals_of(row) if row is not None else Totals()
        tally = Tally.of_session(totals, countries.get(session.id, set()))
        parts.append(
            Part(
                "session",
                session.name,
                session.ordinal,
                session.ordinal,
                tally,
                session,
                totals.as_of,
            )
        )
    return sorted(parts, key=lambda p: p.first_ordinal)
