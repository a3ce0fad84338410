"""Bad command lines: one `error: ... (hint)` line, exit 2, no API call, and the database
unchanged (or, for a database that did not exist yet, still not there).

Already proven elsewhere, not repeated here: fill-day's refusals leave that day's
ledger states alone (tests/e2e/test_operator_cli.py::
test_fill_day_refuses_bad_input_with_exit_2); status refuses --days 0 and 1000
(tests/test_status_cli.py::test_refusals); sales refuses --by week and --json with --csv
(tests/e2e/test_operator_cli.py::test_sales_by_asin_hour_csv_and_during_cooldown).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from tests.reliability.conftest import assert_one_error_line, files_under, invoke, snapshot

BAD_DAYS = [  # NOW is 2026-03-10T12:07Z; FILL_DAY_MAX_AGE_DAYS defaults to 30
    pytest.param("2026-3-9", "not a date: '2026-3-9'", "YYYY-MM-DD", id="malformed"),
    pytest.param("2026-02-30", "not a date", "YYYY-MM-DD", id="no-such-day"),
    pytest.param("2026-03-11", "2026-03-11 is in the future", "earlier day", id="future"),
    pytest.param("2026-02-07", "older than the 30 days", "FILL_DAY_MAX_AGE_DAYS", id="too-old"),
]

BAD_NUMBERS = [
    pytest.param(["status", "--days", "-1"], "--days", id="status-days-negative"),
    pytest.param(["status", "--days", "seven"], "--days", id="status-days-not-a-number"),
    pytest.param(["status", "--days", "91"], "--days", id="status-days-absurd"),
    pytest.param(["sales", "--hours", "-5"], "--hours", id="sales-hours-negative"),
    pytest.param(["sales", "--hours", str(10**20)], "--hours", id="sales-hours-absurd"),
    pytest.param(["demo", "--days", "0"], "--days", id="demo-days-zero"),
    pytest.param(["demo", "--days", "15"], "--days", id="demo-days-absurd"),
    pytest.param(["keepa", "balance", "--cost", "-1"], "--cost", id="keepa-cost-negative"),
    pytest.param(["xai", "ask", "q", "--price", "-3"], "--price", id="xai-price-negative"),
    pytest.param(["simulator", "serve", "--port", "70000"], "--port", id="simulator-port-absurd"),
    pytest.param(["simulator", "serve", "--p429", "2"], "--p429", id="simulator-probability-absurd"),
]


@pytest.mark.parametrize(("day", "message", "hint"), BAD_DAYS)
def test_fill_day_with_a_bad_day(vendor_db: Path, vendor_env: dict[str, str], tmp_path: Path,
                                 httpx_mock: HTTPXMock, day: str, message: str, hint: str) -> None:
    before = snapshot(vendor_db)
    assert_one_error_line(invoke("fill-day", day, env=vendor_env), 2, message, hint)
    assert snapshot(vendor_db) == before
    fresh = tmp_path / "fresh.db"
    assert_one_error_line(invoke("fill-day", day, env={**vendor_env, "RTSALES_DB": str(fresh)}), 2, message)
    assert not fresh.exists()
    assert httpx_mock.get_requests() == []


BAD_ZONES = [  # what ZoneInfo rejects with OSError or ValueError, not only ZoneInfoNotFoundError
    pytest.param("Europe", id="a-directory"),
    pytest.param("Etc", id="another-directory"),
    pytest.param("Europe/" + "x" * 5000, id="name-too-long"),
    pytest.param("zone.tab", id="a-file-that-is-no-zone"),
    pytest.param("Europe/../UTC", id="not-normalized"),
    pytest.param("Mars/Olympus", id="no-such-zone"),
]


@pytest.mark.parametrize("zone", BAD_ZONES)
def test_fill_day_with_a_bad_time_zone(vendor_db: Path, vendor_env: dict[str, str], tmp_path: Path,
                                       httpx_mock: HTTPXMock, zone: str) -> None:
    before = snapshot(vendor_db)
    stderr = assert_one_error_line(invoke("fill-day", "2026-03-09", "--tz", zone, env=vendor_env), 2,
                                   f"unknown time zone '{zone[:20]}",
                                   "(use an IANA name such as Europe/Berlin or UTC)")
    assert len(stderr) < 200  # a 5,000-character name is not repeated whole
    assert snapshot(vendor_db) == before
    fresh = tmp_path / "fresh.db"
    result = invoke("fill-day", "2026-03-09", "--tz", zone, env={**vendor_env, "RTSALES_DB": str(fresh)})
    assert_one_error_line(result, 2, "unknown time zone")
    assert not fresh.exists()
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize("command", [["status"], ["sales"], ["fill-day", "2026-03-09"], ["audit", "daily"],
                                     ["audit", "weekly"]], ids=lambda c: "-".join(c))
def test_unknown_marketplace(vendor_db: Path, vendor_env: dict[str, str], httpx_mock: HTTPXMock,
                             command: list[str]) -> None:
    before = snapshot(vendor_db)
    result = invoke(*command, "--marketplace", "A1PA6795UKMFR9", env=vendor_env)
    assert_one_error_line(result, 2, "marketplace A1PA6795UKMFR9 (DE) is not configured (known: ATVPDKIKX0DER (US))",
                          "MARKETPLACE_IDS")
    assert snapshot(vendor_db) == before
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(("args", "option"), BAD_NUMBERS)
def test_out_of_range_option(vendor_db: Path, vendor_env: dict[str, str], tmp_path: Path, httpx_mock: HTTPXMock,
                             args: list[str], option: str) -> None:
    before, files = snapshot(vendor_db), files_under(tmp_path)
    result = invoke(*args, env=vendor_env)
    assert_one_error_line(result, 2, f"Invalid value for '{option}'", f"see 'rtsales {args[0]}")
    assert snapshot(vendor_db) == before and files_under(tmp_path) == files
    assert httpx_mock.get_requests() == []


@pytest.mark.parametrize(("args", "message", "where"), [
    (["nosuch"], "No such command 'nosuch'", "rtsales --help"),
    (["statsu"], "Did you mean 'status'?", "rtsales --help"),
    (["--bogus", "status"], "No such option: --bogus", "rtsales --help"),
    (["fill-day"], "Missing argument", "rtsales fill-day --help"),
    (["sales", "--by"], "'--by' requires an argument", "rtsales --help"),
], ids=["unknown-command", "typo", "unknown-global-option", "missing-argument", "missing-value"])
def test_usage_errors_are_one_line(vendor_db: Path, vendor_env: dict[str, str], args: list[str], message: str,
                                   where: str) -> None:
    before = snapshot(vendor_db)
    assert_one_error_line(invoke(*args, env=vendor_env), 2, message, f"(see '{where}')")
    assert snapshot(vendor_db) == before


def test_no_arguments_still_shows_the_help() -> None:
    # On stderr, as click's plain help does for this usage error (exit 2); `--help` uses stdout.
    result = invoke("audit")
    assert result.exit_code == 2 and "daily" in result.stderr and "weekly" in result.stderr
