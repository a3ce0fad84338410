"""`rtsales sales --compare yesterday|last-week`: each hour beside the same hour of the reference day,
the change, and a bar that reads without colour."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from rtsales.clock import HOUR, hour_key, iso
from rtsales.figures import bar
from rtsales.store import open_db, transaction
from tests.watch_data import NOW, build, hour

runner = CliRunner()
TODAY, YESTERDAY, LAST_WEEK = hour("03-20T10"), hour("03-19T10"), hour("03-13T10")


def _units(h: datetime) -> int:
    """8 an hour, but 4 at 10:00 today against 12 yesterday and 2 a week ago, and 16 at 11:00 today."""
    return {TODAY: 4, YESTERDAY: 12, LAST_WEEK: 2, TODAY + HOUR: 16}.get(h, 8)


def _invoke(db: Path, *args: str) -> Result:
    from rtsales.cli import app
    return runner.invoke(app, ["--db", str(db), "sales", "--hours", "2", *args], env={"RTSALES_NOW": iso(NOW)})


def _rows(db: Path, reference: str) -> dict[str, dict[str, Any]]:
    result = _invoke(db, "--compare", reference, "--json")
    assert result.exit_code == 0, result.stderr
    return {row["hour"][11:13]: row for row in json.loads(result.stdout)["rows"]}


def test_each_hour_against_the_same_hour_yesterday_and_last_week(tmp_path: Path) -> None:
    db = build(tmp_path / "c.db", {"B0ONE00001": _units})
    rows = _rows(db, "yesterday")
    assert list(rows) == ["10", "11"]
    assert (rows["10"]["reference_hour"], rows["10"]["ordered_units"], rows["10"]["reference_units"],
            rows["10"]["change_percent"]) == (hour_key(YESTERDAY), 4, 12, -66.7)
    assert (rows["11"]["reference_units"], rows["11"]["change_percent"]) == (8, 100.0)
    assert rows["10"]["reference_revenue"] == 120.0
    week = _rows(db, "last-week")
    assert (week["10"]["reference_hour"], week["10"]["reference_units"], week["10"]["change_percent"]) == (
        hour_key(LAST_WEEK), 2, 100.0)
    totals = json.loads(_invoke(db, "--compare", "yesterday", "--json").stdout)["totals"]
    assert totals == [{"currency_code": "USD", "ordered_units": 20, "ordered_revenue": 200.0, "reference_units": 20,
                       "reference_revenue": 200.0, "change_percent": 0.0}]


def test_a_reference_hour_not_held_has_no_numbers_and_no_change(tmp_path: Path) -> None:
    db = build(tmp_path / "c.db", {"B0ONE00001": _units})
    conn = open_db(db)
    with transaction(conn) as raw:
        raw.execute("UPDATE vendor_rt_sales_hour_ledger SET data_state = 'none' WHERE hour_utc = ?",
                    [hour_key(YESTERDAY)])
        raw.execute("DELETE FROM vendor_realtime_sales WHERE hour_utc = ?", [hour_key(YESTERDAY)])
    conn.conn.close()
    rows = _rows(db, "yesterday")
    assert (rows["10"]["reference_units"], rows["10"]["reference_held"], rows["10"]["change_percent"]) == (
        None, False, None)


def test_the_table_has_a_bar_per_row_that_reads_without_colour(tmp_path: Path) -> None:
    db = build(tmp_path / "c.db", {"B0ONE00001": _units})
    result = _invoke(db, "--compare", "yesterday")
    assert result.exit_code == 0, result.stderr
    assert "\x1b[" not in result.stdout  # no colour off a terminal: the bar is in its characters
    short = next(line for line in result.stdout.splitlines() if "ATVPDKIKX0DER" in line and "10:00" in line)
    ahead = next(line for line in result.stdout.splitlines() if "ATVPDKIKX0DER" in line and "11:00" in line)
    assert "-67 %" in short and " " + "█" * 4 + "·" * 8 + " " in short  # 4 and 12 of 16 units: 16 cells
    assert "+100 %" in ahead and "█" * 8 + "▒" * 8 in ahead
    assert "█ units sold in both hours" in result.stdout


def test_bars_scale_and_mark_an_unknown_side() -> None:
    assert bar(8, 8, 16) == "█" * 8
    assert bar(0, 16, 16) == "·" * 16
    assert bar(4, None, 16) == "████ ?" and bar(None, 4, 16) == "?"


def test_csv_has_the_reference_columns(tmp_path: Path) -> None:
    db = build(tmp_path / "c.db", {"B0ONE00001": _units})
    rows = list(csv.DictReader(io.StringIO(_invoke(db, "--compare", "yesterday", "--csv").stdout)))
    assert [(r["hour"][11:13], r["ordered_units"], r["reference_units"], r["change_percent"]) for r in rows] == [
        ("10", "4", "12", "-66.7"), ("11", "16", "8", "100.0")]


def test_compare_is_hour_by_hour(tmp_path: Path) -> None:
    db = build(tmp_path / "c.db", {"B0ONE00001": _units})
    result = _invoke(db, "--compare", "yesterday", "--by", "asin")
    assert result.exit_code == 2 and "--compare compares hour by hour" in result.stderr
    assert _invoke(db, "--compare", "yesterday", "--by", "hour").exit_code == 0
    assert _invoke(db, "--compare", "tomorrow").exit_code == 2
