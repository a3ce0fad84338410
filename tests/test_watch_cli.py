"""`rtsales watch` on the command line: exit 1 only for something new, --json, --all, --no-record, no
credentials, and never a database created."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from rtsales.cli import app
from rtsales.clock import iso
from tests.conftest import CREDS, unstamped
from tests.unprivileged import give_away, run_python, shared_directory
from tests.watch_data import NOW, build, hour, steady

runner = CliRunner()
ZERO = (hour("03-20T10"), hour("03-21T00"))


def _run(db: Path, *args: str) -> Result:
    # no SP-API credentials at all: watch needs none
    return runner.invoke(app, ["--db", str(db), "watch", *args], env={"RTSALES_NOW": iso(NOW)})


def _database(tmp_path: Path) -> Path:
    return build(tmp_path / "w.db", {"B0DROP0001": steady(10, zero=ZERO), "B0STEADY01": steady(8)})


def test_a_new_flag_exits_1_and_the_next_run_exits_0(tmp_path: Path) -> None:
    db = _database(tmp_path)
    first = _run(db)
    assert first.exit_code == 1, first.stderr
    assert "B0DROP0001" in first.stdout and "drop" in first.stdout and "1 new" in first.stdout
    assert "0 0" in first.stdout and "10 10" in first.stdout  # the units and baselines it rests on
    second = _run(db)
    assert second.exit_code == 0, second.stderr
    assert "B0DROP0001" not in second.stdout and "nothing new" in second.stdout and "--all" in second.stdout
    shown = _run(db, "--all")
    assert shown.exit_code == 0 and "B0DROP0001" in shown.stdout and "before" in shown.stdout


def test_nothing_to_flag_exits_0(tmp_path: Path) -> None:
    db = build(tmp_path / "w.db", {"B0STEADY01": steady(8)})
    result = _run(db)
    assert result.exit_code == 0 and "nothing new flagged" in result.stdout


def test_json_lists_each_flag_with_its_numbers(tmp_path: Path) -> None:
    result = _run(_database(tmp_path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["new"], report["reported_before"], report["recorded"]) == (1, 0, True)
    flag = report["flags"][0]
    assert {k: flag[k] for k in ("marketplace_id", "asin", "kind", "start_hour", "last_hour", "new", "provisional",
                                 "currency_code", "revenue", "stock")} == {
        "marketplace_id": "ATVPDKIKX0DER", "asin": "B0DROP0001", "kind": "drop", "start_hour": "2026-03-20T10:00:00Z",
        "last_hour": "2026-03-20T11:00:00Z", "new": True, "provisional": False, "currency_code": "USD",
        "revenue": -200.0, "stock": None}
    assert [h["units"] for h in flag["hours"]] == [0, 0] and [h["baseline"] for h in flag["hours"]] == [10, 10]
    assert report["thresholds"]["drop_hours"] == 2


def test_no_record_reports_the_same_flags_again(tmp_path: Path) -> None:
    db = _database(tmp_path)
    assert _run(db, "--no-record").exit_code == 1
    assert _run(db, "--no-record").exit_code == 1
    assert _run(db).exit_code == 1 and _run(db).exit_code == 0


def test_thresholds_are_settings(tmp_path: Path) -> None:
    db = _database(tmp_path)
    result = runner.invoke(app, ["--db", str(db), "watch", "--json"],
                           env={"RTSALES_NOW": iso(NOW), "WATCH_DROP_HOURS": "3"})
    assert result.exit_code == 0 and json.loads(result.stdout)["flags"] == []


def test_a_missing_database_is_one_line_and_exit_1_and_nothing_is_created(tmp_path: Path) -> None:
    result = runner.invoke(app, ["watch"], env=CREDS)
    assert result.exit_code == 1 and result.stdout == ""
    assert unstamped(result.stderr).startswith("error: database rtsales.db does not exist")
    assert result.stderr.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_an_unknown_marketplace_is_a_usage_error(tmp_path: Path) -> None:
    result = _run(_database(tmp_path), "-m", "XX")
    assert result.exit_code == 2 and "unknown marketplace" in result.stderr


def test_a_read_only_database_is_watched_without_recording_or_refused_with_the_way_out() -> None:
    # Root writes through chmod: watch runs as an unprivileged user in a subprocess.
    with shared_directory() as shared:
        db = build(shared / "ro.db", {"B0DROP0001": steady(10, zero=ZERO)})
        give_away(shared, db)
        db.chmod(0o400)
        env = {"RTSALES_NOW": iso(NOW)}
        looked = run_python(["-m", "rtsales", "--db", "ro.db", "watch", "--no-record", "--json"], shared, env)
        assert looked.returncode == 1, looked.stderr
        assert json.loads(looked.stdout)["flags"][0]["asin"] == "B0DROP0001"
        refused = run_python(["-m", "rtsales", "--db", "ro.db", "watch"], shared, env)
        assert refused.returncode == 1 and "ro.db is read-only" in refused.stderr
        assert "rtsales watch --no-record" in refused.stderr and refused.stderr.count("\n") == 1


def test_watch_loads_no_api_client(tmp_path: Path) -> None:
    """No API call is possible: httpx, tenacity and pydantic are never imported."""
    db = _database(tmp_path)
    out = tmp_path / "modules.txt"
    code = ("import atexit, runpy, sys\n"
            f"atexit.register(lambda: open({str(out)!r}, 'w').write(' '.join(sys.modules)))\n"
            f"sys.argv = ['rtsales', '--db', {str(db)!r}, 'watch', '--no-record']\n"
            "runpy.run_module('rtsales', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", code], env={"PATH": os.environ["PATH"], "RTSALES_NOW": iso(NOW)},
                          cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and "B0DROP0001" in done.stdout, done.stderr
    assert not {"httpx", "tenacity", "pydantic"} & set(out.read_text().split())
