"""Rows of the projection tables and the fold's records, each way: every mapping between an
`attendee_record`, `deal_record`, `exhibitor_record` or `country_ref` row and what
`shared.fold` works on (a `session_figures` row holds the fold's counters by name:
`shared.tables.totals_of`)."""

from typing import Any
from uuid import UUID

from shared.events import Category, DealKind
from shared.fold_state import Attendee, Counts, Deal, Exhibitor, Signing
from shared.money import fen_of, yuan_of


def attendee_of(row: Any) -> Attendee:
    first = None
    if row.first_event_id is not None:
        first = (row.first_occurred_at, UUID(row.first_event_id))
    category = Category(row.category) if row.category is not None else None
    latest = (row.latest_occurred_at, UUID(row.latest_event_id))
    return Attendee(first, category, latest, row.inside, row.country, row.desk_id)


def attendee_row(session_id: str, attendee_id: str, attendee: Attendee) -> dict[str, Any]:
    first = attendee.first
    return {
        "session_id": session_id,
        "attendee_id": attendee_id,
        "first_occurred_at": first[0] if first else None,
        "first_event_id": str(first[1]) if first else None,
        "category": attendee.category.value if attendee.category else None,
        "latest_occurred_at": attendee.latest[0],
        "latest_event_id": str(attendee.latest[1]),
        "inside": attendee.inside,
        "country": attendee.country,
        "desk_id": attendee.desk,
    }


def deal_of(row: Any) -> Deal:
    signing = None
    if row.signed_event_id is not None:
        signing = Signing(
            first=(row.signed_occurred_at, UUID(row.signed_event_id)),
            kind=DealKind(row.kind),
            amount_cny=yuan_of(row.amount_fen),
            counterparty_country=row.counterparty_country,
            content=row.content,
            sector=row.sector,
            exhibitor_id=row.exhibitor_id,
        )
    return Deal(signing=signing, voided=row.voided)


def exhibitor_of(row: Any) -> Exhibitor:
    first = (row.first_occurred_at, UUID(row.first_event_id))
    return Exhibitor(first, row.projects_on_display, row.country)


def exhibitor_row(session_id: str, exhibitor_id: str, exhibitor: Exhibitor) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "exhibitor_id": exhibitor_id,
        "first_occurred_at": exhibitor.first[0],
        "first_event_id": str(exhibitor.first[1]),
        "projects_on_display": exhibitor.projects_on_display,
        "country": exhibitor.country,
    }


def breakdown_row(session_id: str, by: str, key: str, counts: Counts) -> dict[str, Any]:
    return {"session_id": session_id, "by": by, "key": key, **counts}


def country_row(session_id: str, country: str, refs: int) -> dict[str, Any]:
    return {"session_id": session_id, "country": country, "refs": refs}


def deal_row(session_id: str, deal_id: str, deal: Deal) -> dict[str, Any]:
    signing = deal.signing
    return {
        "session_id": session_id,
        "deal_id": deal_id,
        "signed_occurred_at": signing.first[0] if signing else None,
        "signed_event_id": str(signing.first[1]) if signing else None,
        "kind": signing.kind.value if signing else None,
        "amount_fen": fen_of(signing.amount_cny) if signing else None,
        "counterparty_country": signing.counterparty_country if signing else None,
        "content": signing.content if signing else None,
        "voided": deal.voided,
        "sector": signing.sector if signing else None,
        "exhibitor_id": signing.exhibitor_id if signing else None,
    }
