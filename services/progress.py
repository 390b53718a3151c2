"""Progress of long work, on stderr: on a terminal a bar redrawn in place with the count, the
rate and the time left; elsewhere (a pipe, a log file) a plain line every few seconds and
one at the end, e.g. `rebuild: 120,000/500,000 events, 8,000/s, about 48 s left`."""

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self, TextIO

BAR_WIDTH = 24


class Progress:
    """Called as `progress(done, total)` by the work; a context manager around it, so the
    last state is said once the work ends."""

    def __init__(
        self, what: str, unit: str, stream: TextIO | None = None, every: float = 5.0
    ) -> None:
        self.what, self.unit = what, unit
        self.stream = stream or sys.stderr
        self.terminal = self.stream.isatty()
        self.every = 0.1 if self.terminal else every
        self.clock: Callable[[], float] = time.monotonic
        self.started = self.said = self.clock()
        self.done: int | None = None
        self.total = 0

    def __enter__(self) -> Self:
        self.started = self.said = self.clock()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.done is not None:
            self._say(final=True)

    def __call__(self, done: int, total: int) -> None:
        first = self.done is None
        self.done, self.total = done, total
        now = self.clock()
        if (first and self.terminal) or now - self.said >= self.every:
            self.said = now
            self._say(final=False)

    def line(self, final: bool) -> str:
        done, elapsed = self.done or 0, max(self.clock() - self.started, 1e-6)
        rate = done / elapsed
        if final:
            tail = f"done in {elapsed:,.1f} s"
        elif rate > 0:
            tail = f"about {duration(max(self.total - done, 0) / rate)} left"
        else:
            tail = "time left unknown"
        return f"{self.what}: {done:,}/{self.total:,} {self.unit}, {rate:,.0f}/s, {tail}"

    def _say(self, final: bool) -> None:
        if not self.terminal:
            print(self.line(final), file=self.stream, flush=True)
            return
        filled = BAR_WIDTH * (self.done or 0) // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        end = "\n" if final else ""
        print(f"\r[{bar}] {self.line(final)}\033[K", end=end, file=self.stream, flush=True)


def duration(seconds: float) -> str:
    """`48 s`, `3 min 20 s`, `2 h 05 min`."""
    whole = round(seconds)
    if whole < 100:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"
