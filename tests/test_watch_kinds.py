"""`rtsales watch` with traffic and inventory: broken conversion, a listing no one sees, and the stock
level that explains a drop; traffic counts only where its own ledger holds the hour."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from rtsales.store import open_db
from rtsales.views.watch import Thresholds, watch_report
from tests.watch_data import NEWEST, NOW, US, Units, add_kind, build, hour, steady

ZERO = (hour("03-20T10"), hour("03-21T00"))


def _flags(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    db = open_db(path)
    try:
        return {(f["asin"], f["kind"]): f for f in watch_report(db, [US], Thresholds.of(), NOW, record=False)["flags"]}
    finally:
        db.conn.close()


def _store(tmp_path: Path, views: Units, stock: Units | None = None, views_until: datetime = NEWEST) -> Path:
    path = build(tmp_path / "k.db", {"B0DROP0001": steady(10, zero=ZERO)})
    add_kind(path, "traffic", {"B0DROP0001": views}, newest=views_until)
    if stock is not None:
        add_kind(path, "inventory", {"B0DROP0001": stock})
    return path


def test_no_units_while_glance_views_stay_normal_is_broken_conversion(tmp_path: Path) -> None:
    flags = _flags(_store(tmp_path, steady(50)))
    assert set(flags) == {("B0DROP0001", "drop"), ("B0DROP0001", "conversion")}
    conversion = flags[("B0DROP0001", "conversion")]
    assert [(h["units"], h["baseline"], h["glance_views"], h["views_baseline"]) for h in conversion["hours"]] == [
        (0, 10, 50, 50), (0, 10, 50, 50)]
    assert "none buy" in conversion["why"] and conversion["start_hour"] == "2026-03-20T10:00:00Z"


def test_a_drop_whose_glance_views_are_gone_too_reads_as_a_lost_listing(tmp_path: Path) -> None:
    flags = _flags(_store(tmp_path, steady(50, zero=ZERO)))
    assert set(flags) == {("B0DROP0001", "drop")}
    assert "listing suppressed or lost" in flags[("B0DROP0001", "drop")]["why"]
    assert [h["glance_views"] for h in flags[("B0DROP0001", "drop")]["hours"]] == [0, 0]


def test_sellable_units_at_zero_are_attached_and_explain_the_drop(tmp_path: Path) -> None:
    flags = _flags(_store(tmp_path, steady(50), stock=steady(120, zero=ZERO)))
    drop = flags[("B0DROP0001", "drop")]
    assert (drop["stock"], drop["stock_hour"]) == (0, "2026-03-20T11:00:00Z")
    assert drop["why"] == "out of stock: sellable units 0"
    assert flags[("B0DROP0001", "conversion")]["why"] == "out of stock: sellable units 0"


def test_stock_is_attached_to_a_spike_too(tmp_path: Path) -> None:
    path = build(tmp_path / "k.db", {"B0SPIKE001": steady(6, times=5, during=(hour("03-20T10"), hour("03-21T00")))})
    add_kind(path, "inventory", {"B0SPIKE001": steady(80)})
    spike = _flags(path)[("B0SPIKE001", "spike")]
    assert (spike["stock"], spike["stock_hour"], spike["why"]) == (80, "2026-03-20T11:00:00Z", None)


def test_traffic_counts_only_where_its_ledger_holds_the_hour(tmp_path: Path) -> None:
    # Traffic lands an hour after sales: with 11:00 not held yet, one hour of normal views is no evidence.
    flags = _flags(_store(tmp_path, steady(50), views_until=hour("03-20T10")))
    assert set(flags) == {("B0DROP0001", "drop")}
    assert [h["glance_views"] for h in flags[("B0DROP0001", "drop")]["hours"]] == [50, None]


def test_without_traffic_or_inventory_watch_works_on_sales_alone(tmp_path: Path) -> None:
    flags = _flags(build(tmp_path / "k.db", {"B0DROP0001": steady(10, zero=ZERO)}))
    drop = flags[("B0DROP0001", "drop")]
    assert set(flags) == {("B0DROP0001", "drop")} and drop["stock"] is None and drop["why"] is None
    assert [h["glance_views"] for h in drop["hours"]] == [None, None]
