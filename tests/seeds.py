"""Figures from the press texts the product exists for (seed 000: the Mianyang High-Tech
Expo's first four sessions)."""

from typing import Any

FOUR_PREVIOUS_SESSIONS: dict[str, Any] = {
    "label": "The four previous sessions",
    "first_ordinal": 1,
    "last_ordinal": 4,
    "figures": {
        "deals": 2107,
        "deal_value_cny": "345000000000.00",
        "countries": 56,
        "exhibitors": 3088,
        "projects_on_display": 6899,
        "attendees": 1960000,
        "professional_attendees": 270000,
    },
}
