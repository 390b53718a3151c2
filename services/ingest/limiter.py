"""Per-token rate limit on ingest: a token bucket per token, in events per second.

Limits hold per ingest process; behind N replicas a token may send N times the rate.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.errors import DomainError, Reason

MIN_BURST = 1000  # a full batch always fits in an idle bucket


@dataclass
class Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    rate: float  # events per second; 0 turns the limit off
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, Bucket] = field(default_factory=dict)

    @property
    def burst(self) -> float:
        return max(2 * self.rate, MIN_BURST)

    def take(self, token_id: str, events: int) -> None:
        """Spend `events` from the token's bucket, or refuse with 429 and Retry-After."""
        if self.rate <= 0:
            return
        now = self.clock()
        bucket = self.buckets.setdefault(token_id, Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < events:
            wait = math.ceil((events - bucket.tokens) / self.rate)
            raise DomainError(
                Reason.RATE_LIMITED,
                f"this token may send {self.rate:g} events per second; retry in {wait} s",
                retry_after_seconds=wait,
            )
        bucket.tokens -= events
