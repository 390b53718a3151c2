"""The fact sheet: every figure a press officer quotes for a session, this edition's, the
previous ones' and the cumulative, each exact and in press style (`shared.press`), with the
top sectors and countries, and what can be said in a sentence: the headline, and a
comparison with the editions before it only when it is true.

The page `/factsheet/{session_id}` prints it on A4; the wording is made here, once, so the
page and the API say the same."""

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from services.api import breakdown, freshness
from services.api.admin import get_expo, get_session
from services.api.deps import ReaderDep, SourcesDep
from services.api.freshness import Backlog, Freshness
from services.api.schemas import RevisionsPublic
from services.api.standing import Part, expo_parts, totals_among
from shared import press
from shared.openapi import READ, problems
from shared.press import Lang
from shared.tables import ExpoSession
from shared.vocabulary import BREAKDOWN_BY, BY_NAME, quoted

router = APIRouter(tags=["figures"])
TOP = 5  # rows of each breakdown quoted


class Quote(BaseModel):
    exact: str = Field(description="Exact: ¥92,913,000,000.00, 1,960,002.")
    press: str = Field(description="Press style, rounded down: 929.13亿元, 92.91 billion yuan.")


class FactLine(BaseModel):
    name: str = Field(description="The figure, as named in the totals.")
    label: str
    current: Quote
    previous: Quote
    cumulative: Quote


class TopRow(BaseModel):
    key: str | None = Field(description="The sector or country code; null for the rest.")
    label: str | None = None
    part: breakdown.Part = Field(description="As in a breakdown: key, not_given, other.")
    quote: Quote


class FactSheet(Freshness):
    expo_id: str
    expo_name: str
    session_id: str
    session_name: str
    ordinal: int
    status: str
    lang: Lang
    headline: str = Field(description="This edition and all editions in one sentence.")
    comparisons: list[str] = Field(
        description="Sentences comparing this edition with those before it, each true."
    )
    figures: list[FactLine]
    top_sectors: list[TopRow] = Field(description="Deals by sector, by value.")
    top_countries: list[TopRow] = Field(description="Attendees by country.")
    revisions: RevisionsPublic
    revisions_note: str | None = Field(description="What late events changed, if any.")


@router.get("/v1/sessions/{session_id}/factsheet", responses=problems(*READ))
def factsheet(
    session_id: str,
    _: ReaderDep,
    sources: SourcesDep,
    lang: Annotated[Lang, Query(description="zh (default) or en")] = Lang.ZH,
) -> FactSheet:
    """Every press figure of the session, the editions before it and all together."""
    session = get_session(sources.db, session_id)
    expo_name = get_expo(sources.db, session.expo_id).name
    backlog = freshness.backlog(sources.redis, session_id)  # read before the figures
    sources.db.rollback()
    return fact_sheet(sources.db.connection(), session, expo_name, lang, backlog)


def fact_sheet(
    conn: Connection, session: ExpoSession, expo_name: str, lang: Lang, backlog: Backlog | None
) -> FactSheet:
    editions = expo_parts(conn, session.expo_id)
    totals = totals_among(conn, editions, session, backlog)
    parts = {
        "current": dict(totals.current),
        "previous": dict(totals.previous),
        "cumulative": dict(totals.cumulative),
    }
    lines = []
    for figure in quoted():
        quotes = {
            part: _quote(figure.name, values[figure.name], lang, values["countries_exact"])
            for part, values in parts.items()
        }
        lines.append(FactLine(name=figure.name, label=press.label(figure, lang), **quotes))
    sectors, _ = breakdown.ranked(conn, BREAKDOWN_BY["sector"], [session.id], TOP)
    countries, _ = breakdown.ranked(conn, BREAKDOWN_BY["country"], [session.id], TOP)
    return FactSheet(
        **totals.freshness_only().model_dump(),
        expo_id=session.expo_id,
        expo_name=expo_name,
        session_id=session.id,
        session_name=session.name,
        ordinal=session.ordinal,
        status=session.status,
        lang=lang,
        headline=_headline(session.name, parts, lang),
        comparisons=_comparisons(editions, session, lang),
        figures=lines,
        top_sectors=_top(sectors, "deal_value_cny", lang),
        top_countries=_top(countries, "attendees", lang),
        revisions=totals.revisions,
        revisions_note=_revisions_note(totals.revisions, lang),
    )


def _top(rows: list[Any], measure: str, lang: Lang) -> list[TopRow]:
    return [
        TopRow(
            key=row.key,
            label=row.label,
            part=row.part,
            quote=_quote(measure, getattr(row, measure), lang),
        )
        for row in rows
    ]


def _quote(name: str, value: Any, lang: Lang, countries_exact: bool = True) -> Quote:
    figure = BY_NAME[name]
    return Quote(
        exact=press.exact(figure, value),
        press=press.press(figure, value, lang, countries_exact),
    )


def _headline(name: str, parts: dict[str, dict[str, Any]], lang: Lang) -> str:
    now, everything = parts["current"], parts["cumulative"]
    if lang is Lang.ZH:
        return (
            f"{name}签约项目{now['deals']:,}个，"
            f"签约金额{press.money(now['deal_value_cny'], lang)}；"
            f"历届累计签约项目{everything['deals']:,}个，"
            f"签约金额{press.money(everything['deal_value_cny'], lang)}。"
        )
    return (
        f"{name}: {now['deals']:,} projects signed, worth "
        f"{press.money(now['deal_value_cny'], lang)}; {everything['deals']:,} projects worth "
        f"{press.money(everything['deal_value_cny'], lang)} across all editions."
    )


def _comparisons(parts: list[Part], session: ExpoSession, lang: Lang) -> list[str]:
    """ "Suzhou alone exceeded Xiamen and Dongguan together", when it did: this session's
    value signed against the sessions before it (baselines are not single editions)."""
    earlier = [p for p in parts if p.session is not None and p.first_ordinal < session.ordinal]
    value: Decimal = next(p for p in parts if p.id == session.id).tally.values()["deal_value_cny"]
    before = sum((p.tally.values()["deal_value_cny"] for p in earlier), Decimal(0))
    if not earlier or value <= before:
        return []
    names = press.listed([p.label for p in earlier], lang)
    if lang is Lang.ZH:
        together = "之和" if len(earlier) > 1 else ""
        return [
            f"{session.name}一场签约金额{press.money(value, lang)}，"
            f"超过{names}{together}（{press.money(before, lang)}）。"
        ]
    together = " together" if len(earlier) > 1 else ""
    return [
        f"{session.name} alone signed {press.money(value, lang)}, more than "
        f"{names}{together} ({press.money(before, lang)})."
    ]


def _revisions_note(revisions: RevisionsPublic, lang: Lang) -> str | None:
    """What came after the fact: late events, and events after the close (either may be
    both)."""
    late, after = revisions.late_events, revisions.after_close
    if lang is Lang.ZH:
        said = [f"{late:,}条数据为事后补录"] if late else []
        said += [f"{after:,}条数据在闭幕后录入"] if after else []
        return f"其中{'，'.join(said)}。" if said else None
    said = [f"{late:,} events were recorded late"] if late else []
    said += [f"{after:,} after the close"] if after else []
    return f"{' and '.join(said)}.".capitalize() if said else None
