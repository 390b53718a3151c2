"""`expo`: one command for running, migrating, rebuilding and issuing tokens."""

import argparse
import gc
import importlib
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from importlib.metadata import version
from pathlib import Path

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlmodel import Session
from uvicorn.config import LOGGING_CONFIG

from services import operator, up, usage
from services.console import FAILED, refuse
from services.progress import Progress
from shared import auth, migration, runtime
from shared.settings import Settings, described, get_settings
from shared.tables import ExpoSession

logger = logging.getLogger("expo")

SERVICES = {
    "ingest": ("services.ingest.app:create_app", "ingest_port"),
    "aggregator": ("services.aggregator.app:create_app", "aggregator_port"),
    "api": ("services.api.app:create_app", "api_port"),
}


def serve(name: str, settings: Settings) -> None:
    """Run one service in the foreground, built from `settings` (the command line's
    choices included)."""
    target, port_setting = SERVICES[name]
    module, _, factory = target.partition(":")
    create_app = getattr(importlib.import_module(module), factory)
    gc.collect()
    gc.freeze()  # what the imports made lives as long as the process: never scanned again
    uvicorn.run(
        partial(create_app, settings),
        factory=True,
        host=settings.bind_host,
        port=getattr(settings, port_setting),
        log_level=settings.log_level.lower(),
        access_log=False,
        # JSON logs: uvicorn's own loggers go through the root handler too.
        log_config=None if settings.log_format == "json" else LOGGING_CONFIG,
        # Display screens hold live streams open forever: on SIGTERM give in-flight
        # requests a moment, then close the streams (screens reconnect by themselves).
        timeout_graceful_shutdown=3,
    )


def migration_status(settings: Settings) -> None:
    found = migration.status(settings.database_url)
    print(f"database: {found.database}")  # noqa: T201
    print(f"current revision: {', '.join(found.current) or 'none applied'}")  # noqa: T201
    print(f"head revision: {', '.join(found.head)}")  # noqa: T201
    pending = f"{found.pending} migrations to apply (expo migrate)" if found.pending else ""
    print(pending or "up to date")  # noqa: T201


def rebuild(settings: Settings, sessions: Sequence[str], check_only: bool) -> None:
    from services.aggregator.check import check  # noqa: PLC0415
    from services.aggregator.rebuild import UnknownSessionsError  # noqa: PLC0415
    from services.aggregator.rebuild import rebuild as run_rebuild  # noqa: PLC0415

    late_after = timedelta(seconds=settings.late_after_seconds)
    try:
        with Progress("rebuild check" if check_only else "rebuild", "events") as progress:
            if check_only:
                differences = check(runtime.engine(settings), sessions, late_after, progress)
            else:
                folded = run_rebuild(runtime.engine(settings), sessions, late_after, progress)
    except UnknownSessionsError as error:
        refuse(str(error), FAILED)
    if check_only:
        for line in differences:
            print(line)  # noqa: T201
        print(f"rebuild check: {len(differences) or 'no'} differences")  # noqa: T201
        raise SystemExit(1 if differences else 0)
    for session_id, count in folded.items():
        print(f"{session_id}: rebuilt from {count} events")  # noqa: T201


def import_history(settings: Settings, path: Path) -> None:
    from services import history_import  # noqa: PLC0415

    try:
        with Progress("import-history", "rows") as progress:
            added, kept = history_import.run(runtime.engine(settings), path, progress)
    except OSError as error:
        refuse(f"{path}: cannot be read ({error.strerror})")
    except history_import.HistoryFileError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)  # noqa: T201
        refuse(f"{path}: nothing imported ({len(error.problems)} problems)", FAILED)
    print(f"{path}: {added} baselines added, {kept} already there")  # noqa: T201


def create_token(settings: Settings, role: str, session: str | None, label: str | None) -> None:
    issued = auth.issue(auth.Role(role), session, label)
    with Session(runtime.engine(settings)) as db:
        if session is not None and db.get(ExpoSession, session) is None:
            refuse(f"there is no session {session!r}", FAILED)
        db.add(issued.record)
        db.commit()
    print(f"token id {issued.id}, role {role}: {issued.secret}")  # noqa: T201
    print("it is shown once; keep it now")  # noqa: T201


def consumer_name(value: str) -> str:
    """A consumer name: what the group records the aggregator's pending entries under."""
    if not value.strip() or value != value.strip():
        msg = "a consumer name is not empty and has no surrounding spaces"
        raise argparse.ArgumentTypeError(msg)
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="expo", description=__doc__)
    root.add_argument("--version", action="version", version=f"expo {version('expo-tally')}")
    commands = root.add_subparsers(dest="command", required=True)
    up_cmd = commands.add_parser(
        "up", help="migrate, then run and watch everything (embedded Redis by default)"
    )
    up_cmd.add_argument(
        "--verbose",
        action="store_true",
        help="print every service's output on the console instead of var/log/",
    )
    services = {
        name: commands.add_parser(name, help=f"run the {name} service alone") for name in SERVICES
    }
    services["aggregator"].add_argument(
        "--name",
        type=consumer_name,
        default=None,
        help="this aggregator's consumer name in the group (default: $EXPO_CONSUMER_NAME); "
        "each aggregator needs its own, kept across restarts",
    )
    migrate_cmd = commands.add_parser("migrate", help="apply database migrations")
    migrate_cmd.add_argument(
        "--status", action="store_true", help="change nothing: say which migrations are applied"
    )
    demo = commands.add_parser("demo", help="simulate an expo day against running services")
    demo.add_argument("--rate", type=float, default=20.0, help="check-ins per second")
    demo.add_argument(
        "--duration", type=float, default=None, help="seconds (default: until Ctrl-C)"
    )
    rebuild_cmd = commands.add_parser("rebuild", help="recompute projections from the events")
    rebuild_cmd.add_argument(
        "--session",
        action="append",
        default=[],
        help="only this session; repeat for more (default: every session)",
    )
    rebuild_cmd.add_argument(
        "--check",
        action="store_true",
        help="write nothing: fold the events apart and list where the live projections differ",
    )
    token = commands.add_parser("token", help="manage API tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="issue a token (shown once)")
    create.add_argument("--role", required=True, choices=[r.value for r in auth.Role])
    create.add_argument(
        "--session", default=None, help="bind the token to one session (default: every session)"
    )
    create.add_argument("--label", default=None, help="shown by `token list` (default: none)")
    history = commands.add_parser(
        "import-history", help="add baselines of editions before the system, from CSV or YAML"
    )
    history.add_argument("file", help="a .csv, .yaml or .yml file (see docs/operate.md)")
    operator.add_commands(commands, token_commands)
    usage.explain(root)
    return root


def read_settings() -> Settings:
    """The settings, or one line naming each bad variable and exit 2."""
    try:
        return get_settings()
    except (ValidationError, SettingsError) as error:
        refuse(described(error))


def quiet_alembic(command: str, settings: Settings) -> None:
    """Alembic's steps are chatter at a terminal (`expo up` keeps them in var/log/up.log)."""
    if command != "up" and settings.log_level.upper() != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    settings = read_settings()
    runtime.configure_logging(settings)
    quiet_alembic(args.command, settings)
    match args.command:
        case "up":
            up.up(settings, verbose=args.verbose)
        case "migrate":
            (migration_status if args.status else up.migrate)(settings)
        case "demo":
            from services import demo as simulation  # noqa: PLC0415

            simulation.run(settings, simulation.DemoPlan(args.rate, duration=args.duration))
        case "rebuild":
            rebuild(settings, args.session, args.check)
        case "token" if args.token_command == "create":  # noqa: S105 - a command name
            create_token(settings, args.role, args.session, args.label)
        case "token":
            operator.tokens(settings, args)
        case "dead-letters":
            operator.letters(settings, args)
        case "import-history":
            import_history(settings, Path(args.file))
        case "aggregator" if args.name is not None:
            serve("aggregator", settings.model_copy(update={"consumer_name": args.name}))
        case name:
            serve(name, settings)


if __name__ == "__main__":
    main()
