"""expo import-history: baselines from CSV or YAML, all or nothing, idempotent, and every
problem named with its line."""

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from shared.tables import Baseline
from tests.integration.conftest import Stack

CSV = """expo_id,label,first_ordinal,last_ordinal,attendees,professional_attendees,deals,\
deal_value_cny,countries,countries_list
{expo},"Editions 1-4",1,4,1960000,270000,2100,356730850000.00,2,CN;DE
{expo},"Edition 5",5,5,300000,,310,4000000000.00,,
"""
YAML = """- expo_id: {expo}
  label: Editions 1-4
  first_ordinal: 1
  last_ordinal: 4
  attendees: 1960000
  countries: 56
- expo_id: {expo}
  label: Edition 5
  first_ordinal: 5
  last_ordinal: 5
  deals: 310
  deal_value_cny: "4000000000.00"
"""
BAD = """expo_id,label,first_ordinal,last_ordinal,attendees,professional_attendees,deals
{expo},"Fine",1,1,100,,1
{expo},"Parts over totals",2,2,100,500,1
{expo},"",3,3,100,,1
{expo},"Backwards",5,4,100,,1
"""


def _import(stack: Stack, path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "EXPO_DATABASE_URL": stack.settings.database_url,
        "EXPO_REDIS_URL": str(stack.settings.redis_url),
    }
    command = [sys.executable, "-m", "services.cli", "import-history", str(path)]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def _baselines(stack: Stack, expo: str) -> list[tuple[str, int, int]]:
    with Session(stack.engine) as db:
        found = db.exec(select(Baseline).where(Baseline.expo_id == expo)).all()
    return sorted((b.label, b.first_ordinal, b.last_ordinal) for b in found)


def test_a_csv_history_is_imported_once_and_adds_up_in_the_history(
    stack: Stack, tmp_path: Path
) -> None:
    expo = stack.new_expo()
    path = tmp_path / "history.csv"
    path.write_text(CSV.format(expo=expo))
    first = _import(stack, path)
    assert first.returncode == 0, first.stderr
    assert "2 baselines added, 0 already there" in first.stdout
    again = _import(stack, path)
    assert again.returncode == 0, again.stderr
    assert "0 baselines added, 2 already there" in again.stdout
    assert _baselines(stack, expo) == [("Edition 5", 5, 5), ("Editions 1-4", 1, 4)]
    history = stack.api.get(f"/v1/expos/{expo}/history").json()["rows"]
    cumulative = history[-1]["cumulative"]
    assert cumulative["attendees"] == 2_260_000
    assert cumulative["deals"] == 2410
    assert cumulative["deal_value_cny"] == "360730850000.00"


def test_a_yaml_history_is_imported_with_the_same_rules(stack: Stack, tmp_path: Path) -> None:
    expo = stack.new_expo()
    path = tmp_path / "history.yaml"
    path.write_text(YAML.format(expo=expo))
    assert _import(stack, path).returncode == 0
    assert _import(stack, path).returncode == 0
    assert _baselines(stack, expo) == [("Edition 5", 5, 5), ("Editions 1-4", 1, 4)]


def test_a_bad_file_writes_nothing_and_names_each_problem_with_its_line(
    stack: Stack, tmp_path: Path
) -> None:
    expo = stack.new_expo()
    path = tmp_path / "bad.csv"
    path.write_text(BAD.format(expo=expo) + "no-such-expo,Nowhere,9,9,1,,0\n")
    refused = _import(stack, path)
    assert refused.returncode != 0
    problems = refused.stderr
    assert "line 3: row: Value error, the attendees by category add up to more" in problems
    assert "line 4: label:" in problems
    assert "line 5: row: Value error, last_ordinal must not be below first_ordinal" in problems
    assert "nothing imported (3 problems)" in problems
    assert _baselines(stack, expo) == []  # the good line 2 was not written either

    path.write_text(BAD.format(expo=expo).splitlines()[0] + "\nno-such-expo,Nowhere,9,9,1,,0\n")
    unknown = _import(stack, path)
    assert "line 2: expo_id: there is no expo 'no-such-expo'" in unknown.stderr


def test_a_row_whose_ordinals_another_baseline_holds_is_refused(
    stack: Stack, tmp_path: Path
) -> None:
    expo = stack.new_expo()
    path = tmp_path / "history.csv"
    path.write_text(CSV.format(expo=expo))
    assert _import(stack, path).returncode == 0
    path.write_text(CSV.format(expo=expo).replace("1960000", "1970000"))
    changed = _import(stack, path)
    assert changed.returncode != 0
    assert "line 2: ordinals 1..4 overlap" in changed.stderr
