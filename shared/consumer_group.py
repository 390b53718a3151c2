"""The aggregators' consumer group on a stream, as Redis reports it.

The fold (which trims below what the group still holds and counts each entry's deliveries)
and the API (whether an entry was folded, how far behind the figures are) read the group
the same way: found by its name in XINFO GROUPS, an entry delivered once it is at or below
`last-delivered-id`, settled once it is no longer pending.
"""

from typing import Any

from shared.runtime import SyncRedis
from shared.stream import GROUP, position_key


def find(groups: Any) -> dict[str, Any] | None:
    """The aggregators' entry in an XINFO GROUPS reply, if the stream has the group."""
    return next((g for g in groups if g["name"] in (GROUP, GROUP.encode())), None)


def after(position: str, other: bytes | str) -> bool:
    """Whether the entry id `position` comes after `other` in the stream."""
    text = other.decode() if isinstance(other, bytes) else other
    return position_key(position) > position_key(text)


def pending(redis: SyncRedis, key: str, position: str) -> dict[str, Any] | None:
    """The group's pending record of the entry at `position` (its consumer, how often it
    was delivered), or None when no consumer holds it unacknowledged."""
    found: Any = redis.xpending_range(key, GROUP, position, position, 1)
    return found[0] if found else None


def acknowledged(redis: SyncRedis, key: str, position: str) -> bool:
    """Delivered to the group and no longer pending: folded (or dead-lettered)."""
    group = find(redis.xinfo_groups(key))
    if group is None or after(position, group["last-delivered-id"]):
        return False
    return pending(redis, key, position) is None
