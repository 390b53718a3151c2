"""Waiting for asynchronous work: a bounded poll of an observable condition."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
POLL_SECONDS = 0.02


def wait_until(condition: Callable[[], T], timeout: float = 30.0, what: str = "condition") -> T:
    """Return the first truthy value of `condition()`; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T = condition()
    while not last:
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout:.0f}s waiting for {what}; last value: {last!r}"
            raise AssertionError(msg)
        time.sleep(POLL_SECONDS)
        last = condition()
    return last
