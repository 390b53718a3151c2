"""What `expo … --help` shows besides the options: each option's default and one example
per command."""

import argparse
from collections.abc import Iterator

Path = tuple[str, ...]

EXAMPLES: dict[Path, str] = {
    (): "expo rebuild --session mianyang-5 --check",
    ("up",): "expo up",
    ("ingest",): "EXPO_REDIS_URL=redis://10.0.0.5:6379/0 expo ingest",
    ("aggregator",): "EXPO_REDIS_URL=redis://10.0.0.5:6379/0 expo aggregator --name aggregator-2",
    ("api",): "EXPO_REDIS_URL=redis://10.0.0.5:6379/0 expo api",
    ("migrate",): "expo migrate --status",
    ("demo",): "expo demo --rate 50 --duration 60",
    ("rebuild",): "expo rebuild --session mianyang-5 --check",
    ("token",): "expo token list",
    ("token", "create"): "expo token create --role desk --session mianyang-5 --label 'gate 3'",
    ("token", "list"): "expo token list",
    ("token", "revoke"): "expo token revoke 3f9c2a1b7d4e5f60",
    ("dead-letters",): "expo dead-letters list",
    ("dead-letters", "list"): "expo dead-letters list",
    ("dead-letters", "show"): "expo dead-letters show mianyang-5 1764756000000-0",
    ("dead-letters", "replay"): "expo dead-letters replay mianyang-5 1764756000000-0",
    ("dead-letters", "drop"): "expo dead-letters drop rejected-scans 1764756000000-0",
    ("import-history",): "expo import-history editions.csv",
}


class Formatter(argparse.HelpFormatter):
    """Adds '(default: …)' to an option whose default is a value; an option whose default
    is nothing says in its own words what it means (e.g. 'default: every session')."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = action.default not in (None, argparse.SUPPRESS) and action.default is not False
        if shown and action.default != [] and "default" not in text and action.option_strings:
            text += " (default: %(default)s)"
        return text


def subcommands(
    parser: argparse.ArgumentParser, path: Path = ()
) -> Iterator[tuple[Path, argparse.ArgumentParser]]:
    """Every command under `parser` (itself first), nested ones included, by its path."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, command in action.choices.items():
                yield from subcommands(command, (*path, name))


def explain(root: argparse.ArgumentParser) -> None:
    """Give every command the formatter and its example; a command without one fails here."""
    for path, command in subcommands(root):
        command.formatter_class = Formatter
        command.epilog = f"example: {EXAMPLES[path]}"
