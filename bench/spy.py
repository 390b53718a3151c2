"""Summarise a py-spy profile (`py-spy record -f raw`): where a service spends its samples.

    .tools/bin/uv tool run py-spy record -r 200 -f raw -o ingest.txt --pid PID --duration 15
    .tools/bin/uv run --frozen python -m bench.spy ingest.txt

Samples of threads waiting for work (a thread pool's idle workers) are left out. Two
views: the project's own functions (services/, shared/) that were running or waiting
below, counted once per sample (inclusive), and the package whose code was on top of the
stack (self time by package: where the CPU actually went).
"""

import argparse
import re
from collections import Counter
from pathlib import Path

FRAME = re.compile(r"^(?P<function>.+) \((?P<file>[^():]+)(?::\d+)?\)$")
OWN = ("services/", "shared/")
IDLE = ("threading.py", "queue.py", "selectors.py")  # waiting, not working


def _frames(stack: str) -> list[tuple[str, str]]:
    frames = []
    for text in stack.split(";"):
        match = FRAME.match(text.strip())
        if match:
            frames.append((match["function"], match["file"]))
    return frames


def _package(path: str) -> str:
    if path.startswith(OWN):
        return path
    parts = path.split("/")
    return parts[0] if len(parts) > 1 else path.removesuffix(".py") + " (stdlib/builtin)"


def summarise(raw: str, top: int) -> str:
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = _frames(stack)
        if frames and frames[-1][1].startswith(IDLE):
            continue
        total += samples
        own = {f"{function} ({file})" for function, file in frames if file.startswith(OWN)}
        for name in own:
            inclusive[name] += samples
        if frames:
            packages[_package(frames[-1][1])] += samples
    lines = [f"{total} samples", "", "own functions, inclusive:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self time by package:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in packages.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy record -f raw output")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    print(summarise(args.profile.read_text(), args.top))


if __name__ == "__main__":
    main()
