"""`expo token list|revoke` and `expo dead-letters …`: what an on-call engineer runs."""

import argparse
from datetime import UTC, datetime

from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.console import FAILED, refuse
from services.ingest.cache import MAX_AGE
from shared import dead_letters, reference, runtime
from shared.errors import DomainError
from shared.runtime import SyncRedis
from shared.settings import Settings
from shared.tables import ApiToken, ExpoSession


def add_commands(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
    token_commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> None:
    token_commands.add_parser("list", help="list tokens without their secrets")
    revoke = token_commands.add_parser("revoke", help="refuse a token from now on")
    revoke.add_argument("token_id")
    letters = commands.add_parser("dead-letters", help="inspect and replay dead letters")
    letter_commands = letters.add_subparsers(dest="letters_command", required=True)
    letter_commands.add_parser("list", help="every dead letter with its reason")
    for name, text in (
        ("show", "one dead letter in full"),
        ("replay", "append it to its stream again (after fixing the cause)"),
        ("drop", "forget it"),
    ):
        command = letter_commands.add_parser(name, help=text)
        command.add_argument("session_id", help="its session (or rejected-scans)")
        command.add_argument("entry_id", help="its entry id in the dead-letter stream")


def tokens(settings: Settings, args: argparse.Namespace) -> None:
    engine = runtime.engine(settings)
    if args.token_command == "list":  # noqa: S105 - a command name
        _list_tokens(engine)
    else:
        _revoke(engine, args.token_id)
        tell_ingest(settings)


def _list_tokens(engine: Engine) -> None:
    with Session(engine) as db:
        for t in db.exec(select(ApiToken).order_by(col(ApiToken.created_at))):
            state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "active"
            scope = t.session_id or "all sessions"
            print(f"{t.id}  {t.role:<9} {scope:<24} {state:<24} {t.label or ''}")  # noqa: T201


def _revoke(engine: Engine, token_id: str) -> None:
    with Session(engine) as db:
        token = db.get(ApiToken, token_id)
        if token is None:
            refuse(f"there is no token {token_id!r}", FAILED)
        token.revoked_at = token.revoked_at or datetime.now(UTC)
        db.add(token)
        db.commit()
    print(f"token {token_id} revoked")  # noqa: T201


def tell_ingest(settings: Settings) -> None:
    """Ingest acts on a change to a token or a session from its next request on once it
    sees the change mark; without Redis it still does within its cache's age limit."""
    try:
        redis = runtime.sync_redis(settings, socket_timeout=5)
        try:
            reference.mark_changed(redis)
        finally:
            redis.close()
    except (RuntimeError, RedisError) as error:
        print(f"ingest sees the change within {MAX_AGE:.0f} s (Redis not reached: {error})")  # noqa: T201


def letters(settings: Settings, args: argparse.Namespace) -> None:
    try:
        redis = runtime.sync_redis(settings)
    except RuntimeError as error:
        refuse(str(error))
    try:
        _letters(settings, redis, args)
    except DomainError as error:
        refuse(error.detail, FAILED)
    finally:
        redis.close()


def _letters(settings: Settings, redis: SyncRedis, args: argparse.Namespace) -> None:
    match args.letters_command:
        case "list":
            with Session(runtime.engine(settings)) as db:
                sessions = db.exec(select(ExpoSession.id)).all()
            found = dead_letters.list_letters(redis, sessions, limit=1000)
            for letter in found:
                print(letter.brief())  # noqa: T201
            print(f"{dead_letters.count(redis, sessions)} dead letters")  # noqa: T201
        case "show":
            letter, _ = dead_letters.get(redis, args.session_id, args.entry_id)
            print(f"{letter.brief()}\nfrom entry {letter.original_entry_id}")  # noqa: T201
            for name, value in letter.fields.items():
                print(f"{name}: {value}")  # noqa: T201
        case "replay":
            position = dead_letters.replay(redis, args.session_id, args.entry_id)
            print(f"replayed as {position}")  # noqa: T201
        case "drop":
            dead_letters.drop(redis, args.session_id, args.entry_id)
            print("dropped")  # noqa: T201
