"""`-m/--marketplace` takes an ID or a country code in any case; a typo gets the nearest known one.
MARKETPLACE_IDS takes country codes too (stored as IDs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rtsales.cli import app
from rtsales.config import load_settings
from rtsales.errors import ConfigError
from rtsales.store import open_db
from tests.conftest import CREDS

runner = CliRunner()
US, CA, UK = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1F83G8C2ARO7P"


def _run(tmp_path: Path, ids: str, *args: str) -> Result:
    path = tmp_path / "m.db"
    open_db(path).conn.close()  # read-only commands never create a database
    env = {**CREDS, "MARKETPLACE_IDS": ids, "RTSALES_DB": str(path), "RTSALES_NOW": "2026-03-10T12:07:00Z"}
    return runner.invoke(app, list(args), env=env)


@pytest.mark.parametrize("given", ["US", "us", "Us", US, US.lower()])
@pytest.mark.parametrize("command", [["status"], ["sales"]], ids=lambda c: c[0])
def test_code_or_id_in_any_case(tmp_path: Path, command: list[str], given: str) -> None:
    result = _run(tmp_path, f"{US},{CA}", *command, "-m", given, "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    shown = [m["marketplace_id"] for m in report["marketplaces"]] if command == ["status"] \
        else list(report["newest_applied_hour"])
    assert shown == [US]


@pytest.mark.parametrize("given", ["GB", "uk", UK])
def test_great_britain_is_the_uk(tmp_path: Path, given: str) -> None:
    result = _run(tmp_path, UK, "status", "-m", given, "--json")
    assert result.exit_code == 0, result.stderr
    assert [m["marketplace_id"] for m in json.loads(result.stdout)["marketplaces"]] == [UK]


@pytest.mark.parametrize(("given", "suggestion"), [("ATVPDKIKX0DR", US), ("ATVPDKIKXODER", US), ("UX", "US"),
                                                    ("CAA", "CA")])
def test_a_typo_names_the_nearest_known_marketplace(tmp_path: Path, given: str, suggestion: str) -> None:
    result = _run(tmp_path, f"{US},{CA}", "sales", "-m", given)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert f"unknown marketplace {given!r}" in result.stderr
    assert f"did you mean {suggestion!r}?" in result.stderr


def test_a_real_marketplace_that_is_not_configured_says_so(tmp_path: Path) -> None:
    result = _run(tmp_path, US, "status", "-m", "de")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "marketplace A1PA6795UKMFR9 (DE) is not configured" in result.stderr
    assert "known: ATVPDKIKX0DER (US)" in result.stderr and "MARKETPLACE_IDS" in result.stderr


def test_marketplace_ids_take_country_codes() -> None:
    settings = load_settings(environ={"MARKETPLACE_IDS": "us, ca,ATVPDKIKX0DER"})
    assert settings.marketplace_ids == (US, CA)


def test_a_typo_in_marketplace_ids_names_the_nearest() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"MARKETPLACE_IDS": "ATVPDKIKX0DR"})
    assert "unknown marketplace ID 'ATVPDKIKX0DR'; did you mean 'ATVPDKIKX0DER'?" in caught.value.message
