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


# Seed 004: Mianyang's three promotion conferences of 2022, each a session of its own: "18
# projects ... 13.55 billion yuan", "27 projects ... 26.8 billion", "30 projects amounting to
# 52.563 billion yuan, which has exceeded the sum of Xiamen and Dongguan"; together "75 big
# orders with a total amount of about 93 billion yuan".
PROMOTION_CONFERENCES_2022: tuple[tuple[str, int, str], ...] = (
    ("Xiamen", 18, "13550000000.00"),
    ("Dongguan", 27, "26800000000.00"),
    ("Suzhou", 30, "52563000000.00"),
)
SECTORS = (
    "electronic information",
    "advanced manufacturing",
    "new materials",
    "artificial intelligence",
    "low-altitude economy",
)


def conference_deals(city: str, count: int, total: str) -> list[dict[str, Any]]:
    """`count` deals adding up to `total` exactly: amounts weighted 1 to 4, each rounded down
    to ¥10,000 but the last, which takes the rest; sectors and kinds spread over the deals."""
    total_fen = int(total.replace(".", ""))
    weights = [1 + n % 4 for n in range(count)]
    step = 10_000_00
    amounts = [total_fen * w // sum(weights) // step * step for w in weights[:-1]]
    amounts.append(total_fen - sum(amounts))
    return [
        {
            "type": "deal.signed",
            "deal_id": f"{city.lower()}-{n + 1:02d}",
            "title": f"{city} project {n + 1}",
            "kind": ("contract", "contract", "agreement")[n % 3],
            "amount": f"{fen // 100}.{fen % 100:02d}",
            "sector": SECTORS[(n * 3 + len(city)) % len(SECTORS)],
            "counterparty_country": "CN",
        }
        for n, fen in enumerate(amounts)
    ]
