"""CPU accounting from /proc, for benchmarks that say where a machine's time went: the
machine's busy and total time, one process's, and every process's but the bench's own."""

import os
from pathlib import Path

from bench.database import BENCH_DATABASE as DATABASE_NAME

BENCH_DATABASE = DATABASE_NAME.encode()


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def process_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def others_seconds() -> float:
    """CPU seconds used so far by every process that is not this bench's: not the bench,
    not one of its descendants (services, aggregators, Redis), not a PostgreSQL process
    serving its database or none (background writers). A busy neighbour shows here."""
    stats: dict[int, tuple[int, float, bytes]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        stats[int(entry.name)] = (int(fields[1]), seconds, cmdline)
    ours = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, (parent, _, _) in stats.items() if parent in ours} - ours
        ours |= found
        grew = bool(found)
    total = 0.0
    for pid, (_, seconds, cmdline) in stats.items():
        postgres = cmdline.startswith(b"postgres")
        if pid in ours or (postgres and (BENCH_DATABASE in cmdline or b"expo_" not in cmdline)):
            continue
        total += seconds
    return total
