"""Identifiers and free text as people and scanners send them (docs/design.md §3).

An identifier (`attendee_id`, `deal_id`, `exhibitor_id`, `desk_id`) is printable text with
no whitespace at either end and no character of the Unicode categories Cc (control), Cf
(format: bidirectional marks, overrides and isolates, zero-width characters, the byte
order mark), Cs (surrogate), Co (private use), Cn (unassigned), Zl or Zp (line and
paragraph separators). Two ids that print the same are then the same id.

Free text (`title`, `reason`, `name`, `sector`, `counterparty`, `label`) is not blank and
holds no Cc, Cs, Zl or Zp character and no bidirectional embedding, override or isolate
(U+202A..U+202E, U+2066..U+2069), which would reorder whatever a display shows after it.
Other format characters stay allowed in free text: the zero-width joiner and non-joiner
that scripts and emoji need, and the left-to-right and right-to-left marks of mixed
Arabic, Hebrew and Latin titles. Free text may begin or end with a space.

Records stored by earlier versions (read with `shared.stored.STORED`) are held only to the
rule of their time, which the types in `shared.events` check in any case: no C0 control
character and no DEL.
"""

import unicodedata

from pydantic import ValidationInfo

from shared.stored import is_stored

ID_REFUSED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
TEXT_REFUSED = frozenset({"Cc", "Cs", "Zl", "Zp"})
BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def _refused(char: str, what: str) -> ValueError:
    name = unicodedata.name(char, unicodedata.category(char))
    return ValueError(f"must not contain U+{ord(char):04X} ({name}): {what}")


def identifier(value: str, info: ValidationInfo) -> str:
    """An identifier: printable, no whitespace at either end (see the module's text)."""
    if is_stored(info):
        return value
    if value != value.strip():
        msg = "must not begin or end with whitespace"
        raise ValueError(msg)
    if value.isascii() and value.isprintable():
        return value
    for char in value:
        if unicodedata.category(char) in ID_REFUSED:
            raise _refused(char, "control, format, bidirectional or unassigned character")
    return value


def free_text(value: str, info: ValidationInfo) -> str:
    """Free text: not blank, no control, line-breaking or bidirectional control character."""
    if is_stored(info):
        return value
    if not value.strip():
        msg = "must not be blank"
        raise ValueError(msg)
    if value.isascii() and value.isprintable():
        return value
    for char in value:
        if unicodedata.category(char) in TEXT_REFUSED or char in BIDI_CONTROLS:
            raise _refused(char, "control, separator or bidirectional control character")
    return value
