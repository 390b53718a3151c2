"""The event contract (docs/design.md §3): exact money, valid codes, and nothing unexpected
accepted."""

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from shared.events import (
    EVENT_ADAPTER,
    UPCASTERS,
    AttendeeCheckedIn,
    Category,
    DealKind,
    DealSigned,
    DealVoided,
    Direction,
    Event,
    ExhibitorRegistered,
    decode_event,
    encode_event,
    sort_key,
    to_cny,
)

from .factories import as_version_1, checkin, event_id, exit_scan, registered, signed, voided


def wire(event: Event) -> dict[str, Any]:
    """The event as JSON carries it."""
    raw: dict[str, Any] = json.loads(encode_event(event))
    return raw


def decode(raw: dict[str, Any]) -> Event:
    return decode_event(json.dumps(raw))


def rejection(raw: dict[str, Any]) -> set[str]:
    """The error types a decoding of `raw` fails with."""
    with pytest.raises(ValidationError) as caught:
        decode(raw)
    return {error["type"] for error in caught.value.errors()}


# --- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rate", "cny"),
    [
        ("0.125", None, "0.12"),
        ("0.135", None, "0.14"),
        ("0.25", "0.5", "0.12"),
        ("0.27", "0.5", "0.14"),
        ("0.01", "0.5", "0.00"),
        ("0.03", "0.5", "0.02"),
        ("1234567890123.45", "0.5", "617283945061.72"),
        ("1234567890123.47", "0.5", "617283945061.74"),
        ("13550000000.00", None, "13550000000.00"),
        ("100", None, "100.00"),
        ("1000000.00", "7.1234567891", "7123456.79"),
        ("1234567.89", "0.1234567891", "152415.79"),
        ("9999999999999.99", "9.9999999999", "99999999998999.90"),
    ],
)
def test_cny_value_is_amount_times_rate_rounded_half_even_to_the_fen(
    amount: str, rate: str | None, cny: str
) -> None:
    value = to_cny(Decimal(amount), None if rate is None else Decimal(rate))
    assert str(value) == cny


def test_money_travels_as_decimal_strings() -> None:
    deal = signed(1, "deal-1", amount="1000000.00", currency="USD", fx_rate_to_cny="7.1234567891")
    raw = wire(deal)
    assert raw["amount"] == "1000000.00"
    assert raw["fx_rate_to_cny"] == "7.1234567891"
    assert raw["amount_cny"] == "7123456.79"
    assert wire(registered(2, "exh-1"))["booth_area_m2"] == "36.00"


@pytest.mark.parametrize("field", ["amount", "fx_rate_to_cny", "amount_cny"])
def test_money_sent_as_a_float_is_refused(field: str) -> None:
    raw = wire(signed(1, "deal-1", currency="USD", fx_rate_to_cny="7.1"))
    raw[field] = 710.5
    assert rejection(raw) == {"value_error"}


def test_booth_area_sent_as_a_float_is_refused() -> None:
    raw = wire(registered(1, "exh-1"))
    raw["booth_area_m2"] = 36.5
    assert rejection(raw) == {"value_error"}


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("100.505", "decimal_max_places"),
        ("0", "greater_than"),
        ("-1.00", "value_error"),
        ("10000000000000.01", "less_than_equal"),
        ("NaN", "value_error"),
        ("Infinity", "value_error"),
        ("a lot", "value_error"),
    ],
)
def test_amount_outside_the_contract_is_refused(amount: str, error: str) -> None:
    raw = wire(signed(1, "deal-1"))
    raw["amount"] = amount
    assert rejection(raw) == {error}


def test_cny_value_with_fractions_of_a_fen_is_refused() -> None:
    raw = wire(signed(1, "deal-1"))
    raw["amount_cny"] = "100.005"
    assert rejection(raw) == {"decimal_max_places"}


MONEY_SLOPPY = [
    "1E+5",
    "1e5",
    " 5.00 ",
    "5.00 ",
    "\uff15.00",  # a full-width five
    "\u0665.00",  # an Arabic-Indic five
    "+5.00",
    "5.",
    ".50",
    "1_000.00",
    "100.000",
]


@pytest.mark.parametrize("text", MONEY_SLOPPY)
@pytest.mark.parametrize("field", ["amount", "amount_cny"])
def test_a_new_deal_takes_money_only_as_plain_ascii_digits_with_two_places(
    field: str, text: str
) -> None:
    raw = wire(signed(1, "deal-1"))
    raw[field] = text
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_json(json.dumps(raw))


@pytest.mark.parametrize("text", ["1E+1", "7.1 ", "\uff17.1"])
def test_a_new_deal_takes_a_rate_only_as_plain_ascii_digits_with_ten_places(text: str) -> None:
    raw = wire(signed(1, "deal-1", currency="USD", fx_rate_to_cny="7.1"))
    raw["fx_rate_to_cny"] = text
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_json(json.dumps(raw))


@pytest.mark.parametrize("text", ["3.6E+1", " 36 ", "\uff13\uff16", "36.000", 36])
def test_a_new_exhibitor_takes_its_booth_area_only_as_a_plain_decimal_string(
    text: object,
) -> None:
    raw = wire(registered(1, "exh-1"))
    raw["booth_area_m2"] = text
    with pytest.raises(ValidationError):
        EVENT_ADAPTER.validate_json(json.dumps(raw))


@pytest.mark.parametrize("amount", [12, 10**12])
def test_money_sent_as_a_json_integer_is_refused(amount: object) -> None:
    raw = wire(signed(1, "deal-1"))
    raw["amount"] = amount
    assert rejection(raw) == {"value_error"}


@pytest.mark.parametrize(
    ("field", "stored", "value"),
    [
        ("fx_rate_to_cny", "1E-7", "0.0000001"),
        ("fx_rate_to_cny", "1E+1", "10"),
        ("amount", "100", "100.00"),
    ],
)
def test_an_event_stored_by_an_earlier_version_in_its_notation_stays_readable(
    field: str, stored: str, value: str
) -> None:
    raw = wire(signed(1, "deal-1", amount="100000000.00", currency="USD", fx_rate_to_cny="7"))
    raw[field] = stored
    raw["amount_cny"] = str(to_cny(Decimal(raw["amount"]), Decimal(raw["fx_rate_to_cny"])))
    event = decode(raw)
    assert isinstance(event, DealSigned)
    assert getattr(event, field) == Decimal(value)
    assert decode_event(encode_event(event)) == event
    assert EVENT_ADAPTER.validate_json(encode_event(event)) == event


def test_money_is_written_in_fixed_point_and_reads_back_as_new_input() -> None:
    deal = signed(1, "deal-1", amount="2000000.00", currency="USD", fx_rate_to_cny="0.0000001")
    raw = wire(deal)
    assert raw["fx_rate_to_cny"] == "0.0000001"
    assert EVENT_ADAPTER.validate_json(encode_event(deal)) == deal


def test_largest_amount_is_accepted() -> None:
    deal = signed(1, "deal-1", amount="10000000000000.00")
    assert deal.amount_cny == Decimal("10000000000000.00")


# --- codes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("country", ["CN", "DE", "ID", "HK", "MO", "TW"])
def test_countries_and_regions_in_upper_case_are_valid(country: str) -> None:
    assert checkin(1, "att-1", country=country).country == country
    assert registered(2, "exh-1", country=country).country == country
    assert signed(3, "deal-1", counterparty_country=country).counterparty_country == country


@pytest.mark.parametrize("country", ["cn", "Hk", "CHN", "XX", "EU", "", " CN"])
def test_anything_else_is_not_a_country(country: str) -> None:
    with pytest.raises(ValidationError, match="ISO 3166-1 alpha-2"):
        checkin(1, "att-1", country=country)
    with pytest.raises(ValidationError, match="ISO 3166-1 alpha-2"):
        registered(2, "exh-1", country=country)
    with pytest.raises(ValidationError, match="ISO 3166-1 alpha-2"):
        signed(3, "deal-1", counterparty_country=country)


@pytest.mark.parametrize("currency", ["CNY", "USD", "EUR", "HKD", "JPY"])
def test_currencies_in_upper_case_are_valid(currency: str) -> None:
    assert signed(1, "deal-1", currency=currency, fx_rate_to_cny="1.5").currency == currency


@pytest.mark.parametrize("currency", ["usd", "RMB", "ABC", "US", ""])
def test_anything_else_is_not_a_currency(currency: str) -> None:
    with pytest.raises(ValidationError, match="ISO 4217"):
        signed(1, "deal-1", currency=currency, fx_rate_to_cny="1.5")


def test_currency_defaults_to_cny() -> None:
    raw = wire(signed(1, "deal-1"))
    del raw["currency"]
    deal = decode(raw)
    assert isinstance(deal, DealSigned)
    assert deal.currency == "CNY"


# --- the wire --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        checkin(1, "att-1", category=Category.PROFESSIONAL, country="HK"),
        exit_scan(5, "att-1", category=Category.PROFESSIONAL, country="HK"),
        signed(
            2,
            "deal-1",
            kind=DealKind.AGREEMENT,
            amount="26800000000.00",
            currency="HKD",
            fx_rate_to_cny="0.9123456789",
            counterparty_country="MO",
        ),
        voided(3, "deal-1"),
        registered(4, "exh-1", country="TW", projects_on_display=0),
    ],
    ids=[
        "attendee.checked_in entry",
        "attendee.checked_in exit",
        "deal.signed",
        "deal.voided",
        "exhibitor.registered",
    ],
)
def test_every_event_type_survives_the_wire_unchanged(event: Event) -> None:
    decoded = decode_event(encode_event(event))
    assert type(decoded) is type(event)
    assert decoded == event
    assert encode_event(decoded) == encode_event(event)


def test_type_picks_the_model() -> None:
    assert isinstance(decode(wire(checkin(1, "att-1"))), AttendeeCheckedIn)
    assert isinstance(decode(wire(signed(2, "deal-1"))), DealSigned)
    assert isinstance(decode(wire(voided(3, "deal-1"))), DealVoided)
    assert isinstance(decode(wire(registered(4, "exh-1"))), ExhibitorRegistered)


def test_unknown_type_is_refused() -> None:
    raw = wire(voided(1, "deal-1"))
    raw["type"] = "deal.renegotiated"
    assert rejection(raw) == {"union_tag_invalid"}


@pytest.mark.parametrize(
    "event",
    [checkin(1, "att-1"), signed(2, "deal-1"), voided(3, "deal-1"), registered(4, "exh-1")],
    ids=["attendee.checked_in", "deal.signed", "deal.voided", "exhibitor.registered"],
)
def test_unknown_fields_are_refused(event: Event) -> None:
    raw = wire(event)
    raw["vip_lounge"] = True
    assert rejection(raw) == {"extra_forbidden"}


def test_field_of_another_type_is_refused() -> None:
    raw = wire(checkin(1, "att-1"))
    raw["deal_id"] = "deal-1"
    assert rejection(raw) == {"extra_forbidden"}


def test_time_without_offset_is_refused() -> None:
    raw = wire(checkin(1, "att-1"))
    raw["occurred_at"] = "2025-09-26T09:00:00"
    assert rejection(raw) == {"timezone_aware"}


def test_unknown_schema_version_is_refused() -> None:
    raw = wire(checkin(1, "att-1"))
    raw["schema_version"] = 3
    assert rejection(raw) == {"literal_error"}


def test_a_version_1_checkin_is_read_as_an_entry() -> None:
    raw = wire(checkin(1, "att-1"))
    del raw["direction"]
    raw["schema_version"] = 1
    event = decode_event(json.dumps(raw))
    assert isinstance(event, AttendeeCheckedIn)
    assert (event.schema_version, event.direction) == (2, Direction.ENTRY)
    assert event.attendee_id == "att-1"


def test_a_version_1_checkin_reads_back_as_the_same_entry_in_version_2() -> None:
    entry = checkin(1, "att-1", minute=30, category=Category.VIP, country="MO")
    assert decode_event(as_version_1(entry)) == entry
    assert encode_event(decode_event(as_version_1(entry))) == encode_event(entry)


def test_a_deal_stored_before_version_3_reads_as_the_same_deal_naming_no_exhibitor() -> None:
    deal = signed(1, "deal-1", amount="13550000000.00", counterparty_country="DE", sector="AI")
    raw = wire(deal)
    assert (raw["schema_version"], raw["exhibitor_id"]) == (3, None)
    del raw["exhibitor_id"]
    raw["schema_version"] = 1

    old = decode(raw)

    assert old == deal
    assert isinstance(old, DealSigned)
    assert old.content() == deal.content()  # a re-signing of it is no conflict
    named = signed(2, "deal-1", amount="13550000000.00", counterparty_country="DE", sector="AI")
    with_exhibitor = named.model_copy(update={"exhibitor_id": "X1"})
    assert with_exhibitor.content() != deal.content()


def test_a_version_1_deal_that_names_an_exhibitor_is_refused() -> None:
    raw = wire(signed(1, "deal-1")) | {"schema_version": 1, "exhibitor_id": "X1"}
    assert rejection(raw) == {"literal_error"}


def test_a_checkin_without_direction_is_an_entry() -> None:
    raw = wire(checkin(1, "att-1"))
    del raw["direction"]
    event = decode(raw)
    assert isinstance(event, AttendeeCheckedIn)
    assert event.direction is Direction.ENTRY


def test_an_exit_is_a_version_2_checkin() -> None:
    raw = wire(exit_scan(1, "att-1"))
    assert (raw["schema_version"], raw["direction"]) == (2, "exit")
    event = decode(raw)
    assert isinstance(event, AttendeeCheckedIn)
    assert event.direction is Direction.EXIT


@pytest.mark.parametrize("direction", ["EXIT", "transfer", "", None, 1])
def test_anything_but_entry_or_exit_is_not_a_direction(direction: object) -> None:
    raw = wire(checkin(1, "att-1"))
    raw["direction"] = direction
    assert rejection(raw) == {"enum"}


def test_event_without_id_is_refused() -> None:
    raw = wire(checkin(1, "att-1"))
    del raw["event_id"]
    assert rejection(raw) == {"missing"}


@pytest.mark.parametrize("value", ["3", 2.0, True, -1, 1_000_001])
def test_projects_on_display_must_be_a_plain_count(value: object) -> None:
    raw = wire(registered(1, "exh-1"))
    raw["projects_on_display"] = value
    assert len(rejection(raw)) == 1


@pytest.mark.parametrize("attendee_id", ["", "x" * 65, "att\n1", "att\x001"])
def test_attendee_id_must_be_1_to_64_printable_characters(attendee_id: str) -> None:
    raw = wire(checkin(1, "att-1"))
    raw["attendee_id"] = attendee_id
    assert len(rejection(raw)) == 1


SLOPPY_IDS = [
    "   ",
    " A-1",
    "A-1 ",
    "A-1\u3000",  # an ideographic space
    "\u202e",  # right-to-left override, alone
    "A\u200f1",  # right-to-left mark
    "\ufeffA-1",  # byte order mark
    "A\u200b1",  # zero-width space
    "A\u20281",  # line separator
    "A\ue0001",  # private use
    "A\u03781",  # unassigned
]


def new(raw: dict[str, Any]) -> Event:
    """The raw event validated as new input is (not as a stored record)."""
    return EVENT_ADAPTER.validate_json(json.dumps(raw))


def new_with(event: Event, field: str, value: str) -> Event:
    """The event with one field set to `value`, validated as new input."""
    raw = wire(event)
    raw[field] = value
    return new(raw)


# The identifiers and the free text of each event, and the values refused in them.
IDENTIFIERS = [
    (checkin(1, "att-1"), "attendee_id"),
    (checkin(1, "att-1"), "desk_id"),
    (signed(1, "deal-1"), "deal_id"),
    (voided(1, "deal-1"), "deal_id"),
    (registered(1, "exh-1"), "exhibitor_id"),
]
FREE_TEXT = [
    (signed(1, "deal-1"), "title"),
    (signed(1, "deal-1"), "counterparty"),
    (voided(1, "deal-1"), "reason"),
    (registered(1, "exh-1"), "name"),
]
SLOPPY_TEXT = ["   ", "\u3000", "\u202eReversed", "Robots\u2066", "two\u2028lines", "A\u00851"]


@pytest.mark.parametrize("value", SLOPPY_IDS)
@pytest.mark.parametrize(("event", "field"), IDENTIFIERS)
def test_an_identifier_is_printable_with_no_space_at_either_end(
    event: Event, field: str, value: str
) -> None:
    with pytest.raises(ValidationError, match="must not"):
        new_with(event, field, value)


@pytest.mark.parametrize("value", SLOPPY_TEXT)
@pytest.mark.parametrize(("event", "field"), FREE_TEXT)
def test_free_text_is_not_blank_and_holds_no_bidirectional_control(
    event: Event, field: str, value: str
) -> None:
    with pytest.raises(ValidationError, match="must not"):
        new_with(event, field, value)


@pytest.mark.parametrize("value", ["A 1", "科-1", "Ünal-7", "\u0661\u0662", "A-1\u00e9"])
def test_an_identifier_may_hold_inner_spaces_and_letters_of_any_script(value: str) -> None:
    event = new_with(checkin(1, "att-1"), "attendee_id", value)
    assert isinstance(event, AttendeeCheckedIn)
    assert event.attendee_id == value


FINE_TEXT = [
    "Robots ",
    "\u0645\u0635\u0646\u0639\u200f Robots",  # Arabic, a right-to-left mark, Latin
    "\U0001f469\u200d\U0001f52c lab",  # an emoji sequence with a zero-width joiner
    "Mianyang \u2014 Hefei",
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, a zero-width non-joiner
]


@pytest.mark.parametrize("value", FINE_TEXT)
def test_free_text_may_hold_marks_joiners_and_surrounding_spaces(value: str) -> None:
    assert isinstance(event := new_with(signed(1, "deal-1"), "title", value), DealSigned)
    assert event.title == value


def test_an_event_stored_with_an_identifier_an_earlier_version_accepted_stays_readable() -> None:
    raw = wire(checkin(1, "att-1"))
    raw["attendee_id"] = "A\u200f1 "
    event = decode(raw)
    assert isinstance(event, AttendeeCheckedIn)
    assert event.attendee_id == "A\u200f1 "
    assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize("session_id", ["Mianyang-13", "-13", "", "mianyang 13"])
def test_session_id_must_be_a_lower_case_slug(session_id: str) -> None:
    raw = wire(checkin(1, "att-1"))
    raw["session_id"] = session_id
    assert rejection(raw) == {"string_pattern_mismatch"}


def test_events_are_frozen() -> None:
    deal = signed(1, "deal-1", amount="100.00")
    with pytest.raises(ValidationError, match="frozen"):
        deal.amount = Decimal("1000000.00")  # type: ignore[misc]
    assert deal.amount == Decimal("100.00")


def test_old_schema_versions_are_read_through_their_upcaster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def version_0_to_1(raw: dict[str, Any]) -> dict[str, Any]:
        upcasted = {k: v for k, v in raw.items() if k != "note"}
        return upcasted | {"reason": raw["note"], "schema_version": 1}

    monkeypatch.setitem(UPCASTERS, ("deal.voided", 0), version_0_to_1)
    raw = wire(voided(1, "deal-1")) | {"schema_version": 0, "note": "duplicate entry"}
    del raw["reason"]

    event = decode(raw)

    assert isinstance(event, DealVoided)
    assert event.reason == "duplicate entry"
    assert event.schema_version == 1


# --- order -----------------------------------------------------------------------------------


def test_events_are_ordered_by_occurred_at_then_event_id() -> None:
    events = [
        checkin(9, "att-1", minute=0),
        checkin(2, "att-1", minute=5),
        checkin(1, "att-1", minute=5),
        checkin(5, "att-1", minute=0),
    ]
    ordered = sorted(events, key=sort_key)
    assert [e.event_id for e in ordered] == [event_id(5), event_id(9), event_id(1), event_id(2)]


def test_order_compares_instants_not_clock_readings() -> None:
    nine_in_shanghai = checkin(1, "att-1", minute=0)
    tokyo = timezone(timedelta(hours=9))
    a_second_before_in_tokyo = nine_in_shanghai.model_copy(
        update={
            "event_id": event_id(2),
            "occurred_at": datetime(2025, 9, 26, 9, 59, 59, tzinfo=tokyo),
        }
    )
    assert sort_key(a_second_before_in_tokyo) < sort_key(nine_in_shanghai)


def test_a_version_1_record_that_names_a_direction_is_refused() -> None:
    raw = wire(checkin(1, "att-1"))
    raw["schema_version"] = 1
    raw["direction"] = "exit"
    with pytest.raises(ValidationError):
        decode_event(json.dumps(raw))
