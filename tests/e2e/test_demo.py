"""`rtsales demo`: its run lines say how fresh the newest hour is, and that figure is true."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.clock import HOUR, iso, parse_instant
from rtsales.store import open_db

runner = CliRunner()


def test_demo_lines_say_how_old_the_newest_hour_held_is(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["--db", str(db), "demo", "--days", "1"], env={"RTSALES_NOW": "2026-03-10T12:07:00Z"})
    assert result.exit_code == 0, result.stderr
    lines = re.findall(r"^(\S+ \S+) .*newest hour held ended (\d+)h (\d+)m ago", result.stdout, flags=re.M)
    assert lines, result.stdout
    stamp, hours, minutes = lines[-1]
    assert 60 * int(hours) + int(minutes) <= 75  # the live refresh keeps it within an hour and a cron run
    ended = parse_instant(stamp.replace(" ", "T") + ":00Z") - timedelta(hours=int(hours), minutes=int(minutes))
    held = open_db(db).conn.execute("SELECT data_state FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ? "
                                    "AND hour_utc = ?", ["ATVPDKIKX0DER", iso(ended - HOUR)]).fetchone()
    assert held is not None and held[0] != "none"  # the hour the line names is one the database holds


def test_demo_shows_sales_traffic_and_inventory(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = runner.invoke(app, ["--db", str(db), "demo", "--days", "1"], env={"RTSALES_NOW": "2026-03-10T12:07:00Z"})
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    for kind in ("sales", "traffic", "inventory"):  # status: a line per kind for each marketplace
        assert len([line for line in lines if line.strip().startswith(kind) and "last applied" in line]) == 2, kind
    assert re.search(r"newest hour held ended \S+ \S+ ago \(traffic \S+ \S+, inventory \S+ \S+\)", result.stdout)
    header = next(line for line in lines if "units" in line and "revenue" in line)
    assert "glance views" in header and "conversion" in header and "sellable units" in header
    held = open_db(db).conn.execute(
        "SELECT (SELECT COUNT(*) FROM vendor_realtime_traffic WHERE marketplace_id = 'ATVPDKIKX0DER'), "
        "(SELECT COUNT(*) FROM vendor_realtime_inventory WHERE marketplace_id = 'ATVPDKIKX0DER')").fetchone()
    assert held[0] > 0 and held[1] > 0
