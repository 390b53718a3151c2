"""`expo up` run as an operator runs it: in a directory of its own, on free ports, its
output kept in a file."""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.conftest import PORTS, free_port


@dataclass
class Up:
    """A running `expo up` and what it printed."""

    process: subprocess.Popen[bytes]
    directory: Path
    env: dict[str, str]
    output: Path

    @property
    def printed(self) -> str:
        return self.output.read_text()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.env[PORTS[name]]}"

    def child(self, command: str) -> int | None:
        """The pid of the child of `expo up` whose command line holds `command`, if any."""
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == self.process.pid and command in line:
                return int(entry.name)
        return None

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60)


def environment(**settings: str) -> dict[str, str]:
    """This environment without its EXPO_ settings, free ports for the services and the
    supervisor, and `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPO_")}
    env |= {variable: str(free_port()) for variable in PORTS.values()}
    env |= {"EXPO_SUPERVISOR_PORT": str(free_port())}
    return env | settings


def start_up(directory: Path, env: dict[str, str], name: str = "up") -> Up:
    """`expo up` started in `directory`; what it prints goes to `name`.out there."""
    output = directory / f"{name}.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up"],
            cwd=directory,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Up(process, directory, env, output)
