"""The validation context of records stored by earlier versions.

The rules for what comes in grow stricter over time; records an earlier version accepted
and stored (the event store, stream entries, baseline figures) stay readable. Readers of
stored records validate with `context=STORED`; the types whose rules grew stricter
(`shared.money`, `shared.text`) then also take what earlier versions accepted. Nothing
that comes from outside is ever validated with it.
"""

from typing import Any

from pydantic import ValidationInfo

STORED: dict[str, Any] = {"stored": True}


def is_stored(info: ValidationInfo) -> bool:
    """Whether the value is being read from a stored record."""
    return isinstance(info.context, dict) and bool(info.context.get("stored"))
