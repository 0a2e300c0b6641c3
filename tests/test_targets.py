"""Targets from YAML or CSV: checked line by line against the reference data, saved by name."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from alerts import store as targets_store
from alerts.cli import EXAMPLE
from alerts.targets import TargetsError, read
from refdata import db as refdata_db
from refdata.files import default_dir, read_dir

DATA = read_dir(default_dir())
UNITS = {u.code: u.level for u in DATA.units}
AGENCIES = {a.code for a in DATA.agencies}


def targets_of(path: Path):
    return read(path, units=UNITS, agencies=AGENCIES)


def test_the_example_file_is_valid_and_realistic():
    example = targets_of(EXAMPLE)
    by_kpi = {t.kpi: t for t in example}
    assert by_kpi["online_submission_rate"].threshold == 50
    assert by_kpi["on_time_rate"].level == "province"
    assert by_kpi["overdue_open"].comparison == "<="
    assert {t.severity for t in example} <= {"info", "warning", "critical"}


def test_csv_and_yaml_say_the_same(tmp_path: Path):
    csv = tmp_path / "t.csv"
    csv.write_text(
        "name,kpi,unit,level,threshold,window,min_volume\n"
        "a,online_submission_rate,01,,50,month,100\n"
        "b,on_time_rate,,district,95,rolling_7_days,20\n",
        encoding="utf-8",
    )
    yml = tmp_path / "t.yaml"
    yml.write_text(
        "- {name: a, kpi: online_submission_rate, unit: '01', threshold: 50, window: month,\n"
        "   min_volume: 100}\n"
        "- {name: b, kpi: on_time_rate, level: district, threshold: 95, window: rolling_7_days,\n"
        "   min_volume: 20}\n",
        encoding="utf-8",
    )
    assert targets_of(csv) == targets_of(yml)
    assert targets_of(csv)[0].comparison == ">="  # higher is better: the default comparison
    assert targets_of(csv)[1].threshold == Decimal(95)


def test_every_problem_is_reported_with_its_line(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "- kpi: online_submission_rate\n"  # line 1: neither unit nor level
        "  threshold: 50\n"
        "- kpi: no_such_kpi\n"  # line 3
        "  unit: '01'\n"
        "  threshold: 50\n"
        "- kpi: on_time_rate\n"  # line 6: a percentage above 100
        "  unit: '01'\n"
        "  threshold: 120\n"
        "- kpi: on_time_rate\n"  # line 9: unknown unit and window
        "  unit: '99'\n"
        "  threshold: 90\n"
        "  window: decade\n",
        encoding="utf-8",
    )
    with pytest.raises(TargetsError) as raised:
        targets_of(path)
    lines = str(raised.value).splitlines()
    assert lines[0].startswith("bad.yaml:1: give either unit")
    assert lines[1] == "bad.yaml:3: kpi: unknown KPI 'no_such_kpi'"
    assert lines[2] == "bad.yaml:6: threshold: a percentage from 0 to 100, got 120"
    assert lines[3] == "bad.yaml:9: unit: unknown unit code '99'"
    assert len(lines) == 4


def test_saved_by_name_and_replaced(migrated: psycopg.Connection, tmp_path: Path):
    with migrated.transaction():
        refdata_db.save(migrated, DATA)
    example = targets_of(EXAMPLE)
    assert targets_store.save(migrated, example) == len(example)
    assert sorted(targets_store.load(migrated), key=lambda t: t.name) == sorted(example, key=lambda t: t.name)
    changed = tmp_path / "one.csv"
    changed.write_text(
        f"name,kpi,unit,threshold\n{example[0].name},{example[0].kpi},01,60\n", encoding="utf-8"
    )
    targets_store.save(migrated, targets_of(changed), replace=True)
    (kept,) = targets_store.load(migrated)
    assert (kept.name, kept.threshold) == (example[0].name, Decimal(60))
