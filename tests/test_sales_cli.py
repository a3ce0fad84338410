"""`rtsales sales`: right-aligned numbers with totals per currency, `--tz` for display, and every
hour of the window in `--by hour` (0 when held without sales, "not fetched" when not held)."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rtsales.cli import app
from rtsales.store import open_db, transaction

runner = CliRunner()
US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
NOW = "2026-03-10T12:07:00Z"
LEDGER = [  # (marketplace, hour, data_state); 09:00 has no ledger row at all
    (US, "06", "final"), (US, "07", "final"), (US, "08", "none"), (US, "10", "provisional"),
    (US, "11", "provisional"), (CA, "11", "final"),
]
SALES = [(US, "B000000001", "06", 3, 29.97, "USD"), (US, "B000000002", "06", 1, 10.0, "USD"),
         (US, "B000000001", "10", 12, 119.88, "USD"), (CA, "B000000003", "11", 2, 40.0, "CAD")]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "sales.db"
    db = open_db(path)
    with transaction(db) as conn:
        conn.executemany("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, updated_at, "
                         "data_state) VALUES (?, ?, ?, ?, ?)",
                         [(mp, f"2026-03-10T{h}:00:00Z", "MISSING" if state == "none" else "APPLIED", NOW, state)
                          for mp, h, state in LEDGER])
        conn.executemany("INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, ?, ?, ?, 'r1', ?)",
                         [(mp, asin, f"2026-03-10T{h}:00:00Z", units, revenue, currency, NOW)
                          for mp, asin, h, units, revenue, currency in SALES])
    db.conn.close()
    return path


def _env(db_path: Path) -> dict[str, str]:
    return {"MARKETPLACE_IDS": f"{US},{CA}", "RTSALES_DB": str(db_path), "RTSALES_NOW": NOW}


def _json(db_path: Path, *args: str) -> dict:
    result = runner.invoke(app, ["sales", "--hours", "6", *args, "--json"], env=_env(db_path))
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _human(db_path: Path, *args: str) -> list[str]:
    """The table as a person sees it, in a process of its own on a wide (fake) terminal."""
    env = {**os.environ, **_env(db_path), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "rtsales", "sales", "--hours", "6", *args], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _line(lines: list[str], *fragments: str) -> str:
    found = [line for line in lines if all(f in line for f in fragments)]
    assert len(found) == 1, (fragments, lines)
    return found[0]


def _ends_under(header: str, column: str, line: str, value: str) -> bool:
    """Right-aligned: the value ends where its column's (right-aligned) header ends."""
    end = header.index(column) + len(column)
    return line[end - len(value):end] == value


def test_by_hour_shows_every_hour_of_the_window(db_path: Path) -> None:
    rows = {(r["marketplace_id"], r["hour"][11:13]): r for r in _json(db_path, "--by", "hour")["rows"]}
    assert len(rows) == 12  # 06:00 .. 11:00 for each marketplace
    assert (rows[US, "06"]["ordered_units"], rows[US, "06"]["held"]) == (4, True)
    assert (rows[US, "07"]["ordered_units"], rows[US, "07"]["ordered_revenue"], rows[US, "07"]["final"],
            rows[US, "07"]["held"]) == (0, 0.0, True, True)
    assert (rows[US, "11"]["ordered_units"], rows[US, "11"]["final"], rows[US, "11"]["currency_code"]) == (0, False,
                                                                                                           "USD")
    for key in [(US, "08"), (US, "09"), (CA, "06"), (CA, "10")]:
        assert (rows[key]["ordered_units"], rows[key]["held"], rows[key]["final"]) == (None, False, False), key
    assert rows[CA, "11"]["ordered_units"] == 2


def test_by_hour_csv_has_the_empty_hours_too(db_path: Path) -> None:
    result = runner.invoke(app, ["sales", "--hours", "6", "--by", "hour", "--csv"], env=_env(db_path))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 12
    assert [(r["hour"][11:13], r["ordered_units"], r["held"]) for r in rows if r["marketplace_id"] == US][1:4] == [
        ("07", "0", "True"), ("08", "", "False"), ("09", "", "False")]


@pytest.mark.parametrize("by", ["asin", "hour"])
def test_totals_per_currency(db_path: Path, by: str) -> None:
    assert _json(db_path, "--by", by)["totals"] == [
        {"currency_code": "CAD", "ordered_units": 2, "ordered_revenue": 40.0},
        {"currency_code": "USD", "ordered_units": 16, "ordered_revenue": 159.85}]


def test_table_numbers_are_right_aligned_with_a_totals_row(db_path: Path) -> None:
    lines = _human(db_path)
    header = _line(lines, "units", "revenue")
    for asin, units, revenue in (("B000000001", "15", "149.85"), ("B000000002", "1", "10.00"),
                                 ("B000000003", "2", "40.00")):
        line = _line(lines, asin)
        assert _ends_under(header, "units", line, units) and _ends_under(header, "revenue", line, revenue), line
    usd, cad = _line(lines, "total", "USD"), _line(lines, "total", "CAD")
    assert _ends_under(header, "units", usd, "16") and _ends_under(header, "revenue", usd, "159.85"), usd
    assert _ends_under(header, "units", cad, "2") and _ends_under(header, "revenue", cad, "40.00"), cad


def test_table_by_hour_shows_zero_and_not_fetched_hours(db_path: Path) -> None:
    lines = _human(db_path, "--by", "hour")
    header = _line(lines, "units", "revenue")
    for hour in ("07", "11"):  # held, nothing sold
        zero = _line(lines, US, f"2026-03-10 {hour}:00 UTC", "USD")
        assert _ends_under(header, "units", zero, "0") and _ends_under(header, "revenue", zero, "0.00"), zero
        assert "not fetched" not in zero
    assert "not fetched" in _line(lines, US, "2026-03-10 08:00 UTC", "USD")
    assert "not fetched" in _line(lines, US, "2026-03-10 09:00 UTC", "USD")


def test_tz_shows_local_hours_with_their_dates(db_path: Path) -> None:
    rows = _json(db_path, "--by", "hour", "--tz", "Asia/Tokyo")["rows"]
    assert [r["hour_local"] for r in rows][:2] == ["2026-03-10T15:00:00+09:00", "2026-03-10T16:00:00+09:00"]
    lines = _human(db_path, "--by", "hour", "--tz", "America/Los_Angeles")
    header = _line(lines, "units", "revenue")
    # 06:00 UTC is the evening before there (PDT since 2026-03-08)
    assert _ends_under(header, "units", _line(lines, US, "2026-03-09 23:00 PDT", "USD"), "4")
    assert _ends_under(header, "units", _line(lines, US, "2026-03-10 03:00 PDT", "USD"), "12")


def _usage(db_path: Path, *args: str) -> Result:
    return runner.invoke(app, ["sales", *args], env=_env(db_path))


@pytest.mark.parametrize("zone", ["Europe", "Mars/Olympus", "Europe/../UTC", "x" * 5000])
def test_unknown_tz_is_one_line_exit_2(db_path: Path, zone: str) -> None:
    result = _usage(db_path, "--tz", zone)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and len(result.stderr) < 200
    assert "unknown time zone" in result.stderr and "Europe/Berlin" in result.stderr


def test_a_sales_row_without_its_ledger_row_is_still_counted_as_not_final(tmp_path: Path) -> None:
    from rtsales.store import open_db
    from rtsales.views.sales import sales_summary
    from tests.conftest import at
    db = open_db(tmp_path / "orphan.db")
    db.conn.execute("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, updated_at, "
                    "data_state) VALUES ('ATVPDKIKX0DER', '2026-03-10T08:00:00Z', 'APPLIED', "
                    "'2026-03-10T12:00:00Z', 'final')")
    db.conn.executemany("INSERT INTO vendor_realtime_sales VALUES ('ATVPDKIKX0DER', ?, ?, 2, 19.98, 'USD', 'r', "
                        "'2026-03-10T12:00:00Z')", [("B000000001", "2026-03-10T08:00:00Z"),
                                                     ("B000000002", "2026-03-10T07:00:00Z")])  # no ledger row
    report = sales_summary(db, ["ATVPDKIKX0DER"], at("2026-03-10T12:07:00Z"), 4, "asin")
    assert {(r["asin"], r["ordered_units"], r["final"]) for r in report["rows"]} == {
        ("B000000001", 2, True), ("B000000002", 2, False)}
