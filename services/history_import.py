"""`expo import-history FILE`: baselines of editions that predate the system, from CSV or
YAML, checked whole before anything is written.

Each row (a CSV line, a YAML list item) is one baseline: `expo_id`, `label`,
`first_ordinal`, `last_ordinal`, the figures the record gives (`checkins`, `attendees`,
`professional_attendees`, `deals`, `deal_value_cny`, `countries`, `exhibitors`,
`projects_on_display`) and optionally `countries_list` (codes separated by spaces or `;`
in CSV, a list in YAML). A file with any bad row writes nothing and every problem is
reported with its line. Importing the same file again changes nothing: a row equal to a
baseline already stored is skipped; a row whose ordinals are taken by something else is an
error.
"""

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, select

from services.api.admin import ordinals_taken
from services.api.schemas import BaselineCreate
from shared import vocabulary
from shared.errors import DomainError
from shared.tables import Baseline, Expo

FIGURES = vocabulary.history_fields()

Progress = Callable[[int, int], None]  # told (rows stored so far, rows in the file)

WHOLE_NUMBERS = ("first_ordinal", "last_ordinal", *vocabulary.whole_numbers(FIGURES))


@dataclass(frozen=True)
class Row:
    line: int
    expo_id: str
    baseline: BaselineCreate


class HistoryFileError(ValueError):
    """Every problem found in the file, each with its line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """The raw rows of a CSV or YAML file, each with its line number."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        return _yaml_rows(text)
    reader = csv.DictReader(text.splitlines())
    rows = []
    for raw in reader:
        cleaned = {k.strip(): v.strip() for k, v in raw.items() if k and v and v.strip()}
        if "countries_list" in cleaned:
            cleaned["countries_list"] = cleaned["countries_list"].replace(";", " ").split()
        for name in WHOLE_NUMBERS:
            if cleaned.get(name, "").isdigit():  # CSV has only text; others stay refused
                cleaned[name] = int(cleaned[name])
        rows.append((reader.line_num, cleaned))
    return rows


def _yaml_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise HistoryFileError([f"not YAML: {error}"]) from error
    if not isinstance(document, list) or node is None:
        raise HistoryFileError(["line 1: the file must be a list of baselines"])
    lines = [item.start_mark.line + 1 for item in node.value]
    return [
        (line, item if isinstance(item, dict) else {})
        for line, item in zip(lines, document, strict=True)
    ]


def parse(raw_rows: list[tuple[int, dict[str, Any]]]) -> list[Row]:
    """Validate every row; raises HistoryFileError naming each bad row's line and field."""
    rows, problems = [], []
    for line, raw in raw_rows:
        fields = dict(raw)
        expo_id = str(fields.pop("expo_id", "") or "")
        figures = {name: fields.pop(name) for name in FIGURES if name in fields}
        try:
            if not expo_id:
                problems.append(f"line {line}: expo_id: missing")
                continue
            baseline = BaselineCreate.model_validate({**fields, "figures": figures})
        except ValidationError as error:
            for found in error.errors():
                where = ".".join(str(part) for part in found["loc"] if part != "figures")
                problems.append(f"line {line}: {where or 'row'}: {found['msg']}")
            continue
        rows.append(Row(line, expo_id, baseline))
    if problems:
        raise HistoryFileError(problems)
    return rows


def store(engine: Engine, rows: list[Row], progress: Progress | None = None) -> tuple[int, int]:
    """Write the rows in one transaction; returns (added, already there)."""
    added, kept, problems = 0, 0, []
    with Session(engine) as db:
        for done, row in enumerate(rows):
            if progress:
                progress(done, len(rows))
            if db.get(Expo, row.expo_id) is None:
                problems.append(f"line {row.line}: expo_id: there is no expo {row.expo_id!r}")
                continue
            wanted = _record(row)
            if _already_there(db, wanted):
                kept += 1
                continue
            try:
                _ordinals_taken(db, row.expo_id, row.baseline)
            except DomainError as error:
                problems.append(f"line {row.line}: {error.detail}")
                continue
            db.add(wanted)
            db.flush()  # the next rows see this one
            added += 1
        if problems:
            db.rollback()
            raise HistoryFileError(problems)
        db.commit()
    if progress:
        progress(len(rows), len(rows))
    return added, kept


def run(engine: Engine, path: Path, progress: Progress | None = None) -> tuple[int, int]:
    return store(engine, parse(read(path)), progress)


def _record(row: Row) -> Baseline:
    body = row.baseline
    countries = sorted(set(body.countries_list)) if body.countries_list is not None else None
    return Baseline(
        expo_id=row.expo_id,
        label=body.label,
        first_ordinal=body.first_ordinal,
        last_ordinal=body.last_ordinal,
        figures=body.figures.model_dump_json(),
        countries_list=json.dumps(countries) if countries is not None else None,
    )


def _already_there(db: Session, wanted: Baseline) -> bool:
    found = db.exec(
        select(Baseline).where(
            Baseline.expo_id == wanted.expo_id,
            Baseline.first_ordinal == wanted.first_ordinal,
            Baseline.last_ordinal == wanted.last_ordinal,
        )
    ).first()
    return found is not None and (found.label, found.figures, found.countries_list) == (
        wanted.label,
        wanted.figures,
        wanted.countries_list,
    )


def _ordinals_taken(db: Session, expo_id: str, body: BaselineCreate) -> None:
    ordinals_taken(db, expo_id, body.first_ordinal, body.last_ordinal)
