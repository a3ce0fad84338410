"""`rtsales sales` with traffic and inventory beside sales: glance views, conversion and sellable units
per ASIN and per hour, only when that kind has data in the window, unknown never shown as 0."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.store import open_db, transaction

runner = CliRunner()
US, CA = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"
NOW = "2026-03-10T12:07:00Z"
B1, B2, B3, B4 = "B000000001", "B000000002", "B000000003", "B000000004"
HELD = {  # kind -> marketplace -> hours the ledger holds (data_state provisional); others not held at all
    "sales": {US: ["06", "07", "08", "09", "10", "11"], CA: ["11"]},
    "traffic": {US: ["06", "07", "08", "10"], CA: ["10"]},  # US 09 not held; 11 not yet (an hour later)
    "inventory": {US: ["06", "07", "08", "09", "10"]},
}
SALES = [(US, B1, "06", 3, 30.0, "USD"), (US, B2, "06", 1, 10.0, "USD"), (US, B1, "10", 12, 120.0, "USD"),
         (US, B1, "11", 2, 20.0, "USD"), (CA, B3, "11", 2, 40.0, "CAD")]
# B2 held at 06 without a row: 0 views; CA 10:00 holds traffic but not sales
TRAFFIC = [(US, B1, "06", 30), (US, B1, "10", 100), (US, B4, "07", 50), (CA, B3, "10", 20)]
INVENTORY = [(US, B1, "06", 50), (US, B2, "06", 5), (US, B1, "09", 40), (US, B1, "10", 30)]


def _key(h: str) -> str:
    return f"2026-03-10T{h}:00:00Z"


def build(path: Path, kinds: tuple[str, ...] = ("sales", "traffic", "inventory")) -> Path:
    db = open_db(path)
    with transaction(db) as conn:
        conn.executemany("INSERT INTO vendor_rt_sales_hour_ledger (report_kind, marketplace_id, hour_utc, status, "
                         "updated_at, data_state) VALUES (?, ?, ?, 'APPLIED', ?, 'provisional')",
                         [(kind, mp, _key(h), NOW) for kind in kinds for mp, hours in HELD[kind].items()
                          for h in hours])
        conn.executemany("INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, ?, ?, ?, 'r1', ?)",
                         [(mp, asin, _key(h), u, r, c, NOW) for mp, asin, h, u, r, c in SALES])
        if "traffic" in kinds:
            conn.executemany("INSERT INTO vendor_realtime_traffic VALUES (?, ?, ?, ?, 'r2', ?)",
                             [(mp, asin, _key(h), v, NOW) for mp, asin, h, v in TRAFFIC])
        if "inventory" in kinds:
            conn.executemany("INSERT INTO vendor_realtime_inventory VALUES (?, ?, ?, ?, 'r3', ?)",
                             [(mp, asin, _key(h), v, NOW) for mp, asin, h, v in INVENTORY])
    db.conn.close()
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return build(tmp_path / "kinds.db")


def _invoke(db_path: Path, *args: str) -> str:
    env = {"MARKETPLACE_IDS": f"{US},{CA}", "RTSALES_DB": str(db_path), "RTSALES_NOW": NOW}
    result = runner.invoke(app, ["sales", "--hours", "6", *args], env=env)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _json(db_path: Path, *args: str) -> dict:
    return json.loads(_invoke(db_path, *args, "--json"))


def test_by_hour_glance_views_conversion_and_sellable_units(db_path: Path) -> None:
    report = _json(db_path, "--by", "hour")
    assert report["report_kinds"] == ["sales", "traffic", "inventory"]
    rows = {(r["marketplace_id"], r["hour"][11:13]): r for r in report["rows"]}
    got = {h: (rows[US, h]["glance_views"], rows[US, h]["conversion_percent"], rows[US, h]["sellable_units"])
           for h in ("06", "07", "08", "09", "10", "11")}
    assert got == {"06": (30, 13.33, 55),  # 4 units / 30 views; 50 + 5 sellable
                   "07": (50, 0.0, 0),  # views of an ASIN that sold nothing; inventory held without rows
                   "08": (0, None, 0),  # traffic held, no views: no conversion
                   "09": (None, None, 40),  # traffic not held: unknown, not 0
                   "10": (100, 12.0, 30),
                   "11": (None, None, None)}  # neither traffic nor inventory held yet
    assert (rows[CA, "11"]["glance_views"], rows[CA, "11"]["conversion_percent"],
            rows[CA, "11"]["sellable_units"]) == (None, None, None)
    assert (rows[CA, "10"]["glance_views"], rows[CA, "10"]["conversion_percent"]) == (20, None)  # units unknown


def test_by_asin_glance_views_conversion_and_newest_sellable_units(db_path: Path) -> None:
    rows = {r["asin"]: r for r in _json(db_path, "--by", "asin")["rows"]}
    assert set(rows) == {B1, B2, B3}  # the ASINs that sold, as before
    # B1 sold 17, but 2 of them in 11:00, which traffic does not hold: conversion is 15 / 130
    assert (rows[B1]["ordered_units"], rows[B1]["glance_views"], rows[B1]["conversion_percent"]) == (17, 130, 11.54)
    assert (rows[B2]["glance_views"], rows[B2]["conversion_percent"]) == (0, None)  # held hours, no views
    # CA: views only in 10:00, which holds no sales, and sales only in 11:00, which holds no traffic
    assert (rows[B3]["glance_views"], rows[B3]["conversion_percent"]) == (20, None)
    # sellable units at the newest hour of the window that holds inventory (10:00), 0 when held without a row
    assert (rows[B1]["sellable_units"], rows[B1]["sellable_units_hour"]) == (30, _key("10"))
    assert (rows[B2]["sellable_units"], rows[B2]["sellable_units_hour"]) == (0, _key("10"))
    assert (rows[B3]["sellable_units"], rows[B3]["sellable_units_hour"]) == (None, None)


@pytest.mark.parametrize(("by", "views", "conversion"), [("hour", 180, 8.89), ("asin", 130, 12.31)])
def test_totals_carry_glance_views_and_conversion_of_the_rows_shown(db_path: Path, by: str, views: int,
                                                                     conversion: float) -> None:
    totals = {t["currency_code"]: t for t in _json(db_path, "--by", by)["totals"]}
    assert (totals["USD"]["ordered_units"], totals["USD"]["glance_views"],
            totals["USD"]["conversion_percent"]) == (18, views, conversion)
    assert (totals["CAD"]["glance_views"], totals["CAD"]["conversion_percent"]) == (20, None)


def test_columns_only_for_the_kinds_with_data_in_the_window(tmp_path: Path) -> None:
    traffic_only = build(tmp_path / "traffic.db", ("sales", "traffic"))
    report = _json(traffic_only, "--by", "hour")
    assert report["report_kinds"] == ["sales", "traffic"]
    assert all("glance_views" in r and "sellable_units" not in r for r in report["rows"])
    sales_only = build(tmp_path / "sales.db", ("sales",))
    for by in ("hour", "asin"):
        report = _json(sales_only, "--by", by)
        assert report["report_kinds"] == ["sales"]
        assert not {"glance_views", "conversion_percent", "sellable_units"} & {k for r in report["rows"] for k in r}
        assert not {"glance_views", "conversion_percent"} & {k for t in report["totals"] for k in t}
        header = _invoke(sales_only, "--by", by, "--csv").splitlines()[0]
        assert "glance" not in header and "sellable" not in header and "conversion" not in header
        table = _invoke(sales_only, "--by", by)
        assert "glance views" not in table and "sellable" not in table and "conversion" not in table


def test_csv_carries_the_new_fields_empty_when_unknown(db_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_invoke(db_path, "--by", "hour", "--csv"))))
    us = {r["hour"][11:13]: r for r in rows if r["marketplace_id"] == US}
    assert (us["06"]["glance_views"], us["06"]["conversion_percent"], us["06"]["sellable_units"]) == ("30", "13.33",
                                                                                                      "55")
    assert (us["08"]["glance_views"], us["08"]["conversion_percent"]) == ("0", "")
    assert (us["09"]["glance_views"], us["09"]["sellable_units"]) == ("", "40")
    by_asin = {r["asin"]: r for r in csv.DictReader(io.StringIO(_invoke(db_path, "--by", "asin", "--csv")))}
    assert (by_asin[B1]["sellable_units"], by_asin[B1]["sellable_units_hour"]) == ("30", _key("10"))
    assert (by_asin[B3]["glance_views"], by_asin[B3]["conversion_percent"], by_asin[B3]["sellable_units"]) == (
        "20", "", "")


def test_table_shows_the_new_columns_and_labels_the_sellable_hour(db_path: Path) -> None:
    by_hour = _invoke(db_path, "--by", "hour").splitlines()
    header = next(line for line in by_hour if "units" in line and "revenue" in line)
    assert "glance views" in header and "conversion" in header and "sellable units" in header
    ten = next(line for line in by_hour if US in line and "2026-03-10 10:00 UTC" in line)
    assert "100" in ten and "12.0%" in ten and "30" in ten
    by_asin = _invoke(db_path, "--by", "asin")
    assert "sellable (newest hour)" in by_asin
    assert "2026-03-10 10:00 UTC" in next(line for line in by_asin.splitlines() if "sellable" in line.lower()
                                          and "newest hour of the window" in line)


@pytest.mark.parametrize("by", ["asin", "hour"])
def test_queries_do_not_grow_with_the_rows(db_path: Path, by: str) -> None:
    from rtsales.views.sales import sales_summary
    from tests.conftest import at

    def statements() -> int:
        db = open_db(db_path)
        seen: list[str] = []
        db.conn.set_trace_callback(seen.append)
        sales_summary(db, [US, CA], at(NOW), 6, by)
        return len(seen)

    few = statements()
    db = open_db(db_path)
    with transaction(db) as conn:
        for table, values in (("vendor_realtime_sales", "?, 1, 9.99, 'USD', 'r', ?"),
                              ("vendor_realtime_traffic", "?, 7, 'r', ?"), ("vendor_realtime_inventory", "?, 3, 'r', ?")):
            conn.executemany(f"INSERT INTO {table} VALUES (?, ?, {values})",
                             [(US, f"B1{i:08d}", _key(h), NOW) for i in range(300) for h in ("06", "10")])
    assert statements() == few
