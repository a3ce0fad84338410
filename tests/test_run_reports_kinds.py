"""The human reports of `sync`, `fill-day` and `audit` name the report kind: per-kind ledger and
freshness after a sync of several kinds, the kind's measure as fill-day's column label (no revenue
for traffic and inventory), and the report kind of every audit row."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rtsales import render
from rtsales.sync.results import MarketplaceOutcome, SyncResult

US = "ATVPDKIKX0DER"
NOW = "2026-03-10T12:07:00Z"


def _ledger(applied: int, total: int) -> dict[str, int]:
    return {"MISSING": total - applied, "REQUESTED": 0, "DOWNLOADED": 0, "APPLIED": applied, "FAILED": 0,
            "UNAVAILABLE": 0}


def _sync(kinds: dict[str, tuple[int, int, int | None]]) -> SyncResult:
    outcome = MarketplaceOutcome(US, kinds={kind: {"ledger": _ledger(applied, total), "newest_age_minutes": age}
                                            for kind, (applied, total, age) in kinds.items()})
    for kind in kinds.values():
        outcome.ledger["APPLIED"] = outcome.ledger.get("APPLIED", 0) + kind[0]
    return SyncResult(NOW, [outcome], calls={"createReport": 3})


def _line(out: str, *fragments: str) -> str:
    found = [line for line in out.splitlines() if all(f in line for f in fragments)]
    assert len(found) == 1, (fragments, out)
    return found[0]


def test_sync_summary_shows_each_kinds_ledger_and_freshness(capsys: pytest.CaptureFixture[str]) -> None:
    render.sync_result(_sync({"sales": (48, 48, 7), "traffic": (46, 47, 67), "inventory": (40, 48, None)}))
    out = capsys.readouterr().out
    assert "48/48" in _line(out, US, "sales") and "7m 00s ago" in _line(out, US, "sales")
    assert "46/47" in _line(out, US, "traffic") and "1h 07m ago" in _line(out, US, "traffic")
    assert "40/48" in _line(out, US, "inventory") and "none held" in _line(out, US, "inventory")


def test_sync_summary_of_one_kind_is_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    render.sync_result(_sync({"sales": (48, 48, 7)}))
    out = capsys.readouterr().out
    assert "48/48" in _line(out, US) and not re.search(r"\bsales\b", out) and "ago" not in out


def _hour(units: tuple[int, int], revenue: tuple[float, float]) -> dict[str, Any]:
    return {"hour_utc": "2026-03-09T05:00:00Z", "hour_local": "2026-03-09T05:00:00+00:00", "status": "APPLIED",
            "inconclusive": False, "units_before": units[0], "units_after": units[1], "revenue_before": revenue[0],
            "revenue_after": revenue[1], "changed": units[0] != units[1]}


def test_fill_day_names_the_kind_and_labels_its_measure(capsys: pytest.CaptureFixture[str]) -> None:
    report = {"day": "2026-03-09", "time_zone": "UTC", "now_utc": NOW, "hours": 1, "reports_created": 2,
              "quota_hit": None, "cooldown_until": None, "marketplaces": [
                  {"marketplace_id": US, "report_kind": "sales", "measure": "units", "hours": [_hour((3, 4), (30, 40))]},
                  {"marketplace_id": US, "report_kind": "traffic", "measure": "glance views",
                   "hours": [_hour((120, 130), (0.0, 0.0))]},
                  {"marketplace_id": US, "report_kind": "inventory", "measure": "sellable units",
                   "hours": [_hour((55, 50), (0.0, 0.0))]}]}
    render.fill_day_report(report)
    out = capsys.readouterr().out
    titles = [line for line in out.splitlines() if line.startswith("fill-day 2026-03-09")]
    assert titles == [f"fill-day 2026-03-09 (UTC) {US} sales", f"fill-day 2026-03-09 (UTC) {US} traffic",
                      f"fill-day 2026-03-09 (UTC) {US} inventory"]
    headers = [line for line in out.splitlines() if "before" in line]
    assert "units before" in headers[0] and "revenue after" in headers[0]
    assert "glance views before" in headers[1] and "glance views after" in headers[1] and "revenue" not in headers[1]
    assert "sellable units before" in headers[2] and "revenue" not in headers[2] and " units before" not in \
        headers[2].replace("sellable units before", "")
    tables = out.split("fill-day 2026-03-09")
    assert "130" in tables[2] and "0.00" not in tables[2]


def test_audit_report_names_each_rows_report_kind(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"id": 1, "marketplace_id": US, "started_at": NOW, "finished_at": NOW, "hours": 24, "hours_changed": 2,
           "units_delta": -3, "revenue_delta": -29.97, "hours_inconclusive": 0}
    report = {"kind": "daily", "now_utc": NOW, "reports_created": 2, "quota_hit": None, "cooldown_until": None,
              "marketplaces": [{**row, "report_kind": "sales"},
                               {**row, "id": 2, "report_kind": "traffic", "units_delta": 40, "revenue_delta": 0.0}]}
    render.audit_report(report)
    out = capsys.readouterr().out
    sales, traffic = _line(out, US, "sales"), _line(out, US, "traffic")
    assert "-3 units" in sales and "-29.97" in sales
    assert "+40 glance views" in traffic and "0.00" not in traffic
