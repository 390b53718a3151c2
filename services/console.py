"""What the `expo` command prints for a person at a terminal: one-line refusals."""

import sys
from typing import NoReturn

USAGE = 2  # the command cannot run as asked: a bad setting, a wrong place, nothing to talk to
FAILED = 1  # the command ran and the work failed, or what it was asked about does not exist


def say(line: str) -> None:
    """A line for the person running the command (not a log record)."""
    print(line, flush=True)  # noqa: T201


def refuse(message: str, code: int = USAGE) -> NoReturn:
    """One line on stderr naming what is wrong, then exit with `code`; never a traceback."""
    print(f"expo: {message}", file=sys.stderr)  # noqa: T201
    raise SystemExit(code)
