"""What long work says while it runs: plain lines every few seconds off a terminal, a bar
redrawn in place on one."""

import io
import re

from services.progress import Progress, duration


class Clock:
    """Seconds as the test says they pass."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_off_a_terminal_progress_is_a_plain_line_every_five_seconds_and_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    progress = Progress("rebuild", "events", out)
    progress.clock = clock
    with progress:
        for second in range(1, 13):
            clock.now += 1
            progress(second * 10_000, 120_000)
    lines = out.getvalue().splitlines()
    assert lines == [
        "rebuild: 50,000/120,000 events, 10,000/s, about 7 s left",
        "rebuild: 100,000/120,000 events, 10,000/s, about 2 s left",
        "rebuild: 120,000/120,000 events, 10,000/s, done in 12.0 s",
    ]


def test_on_a_terminal_progress_is_one_bar_redrawn_in_place() -> None:
    out, clock = Terminal(), Clock()
    progress = Progress("import-history", "rows", out)
    progress.clock = clock
    with progress:
        for done in range(0, 101, 25):
            clock.now += 1
            progress(done, 100)
    text = out.getvalue()
    assert text.count("\n") == 1
    assert text.endswith("\n")
    frames = text.split("\r")[1:]
    assert len(frames) == 6  # the first state, each change, the last state once more
    assert re.match(r"\[#{12}-{12}\] import-history: 50/100 rows, [\d,]+/s, about", frames[2])
    assert "done in" in frames[-1]


def test_nothing_is_said_for_work_that_never_started() -> None:
    out = io.StringIO()
    with Progress("rebuild", "events", out):
        pass
    assert out.getvalue() == ""


def test_time_left_reads_in_the_largest_sensible_units() -> None:
    assert [duration(s) for s in (48.4, 200, 7500)] == ["48 s", "3 min 20 s", "2 h 05 min"]
