"""A command that only reads never creates a database: a missing file is one line and exit 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales.cli import app
from tests.conftest import CREDS, unstamped

runner = CliRunner()
READERS = [["status"], ["status", "--check"], ["status", "--json"], ["sales"], ["sales", "--csv"], ["runs"],
           ["runs", "--json"], ["xai", "quota"]]


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("args", READERS, ids=" ".join)
def test_in_an_empty_directory_nothing_is_created_and_exit_is_1(tmp_path: Path, args: list[str]) -> None:
    # tmp_path is the working directory (tests/conftest.py): the default ./rtsales.db is looked for there
    result = runner.invoke(app, args, env=CREDS)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and unstamped(result.stderr).startswith("error: database rtsales.db does not exist")
    assert "--db" in result.stderr and "RTSALES_DB" in result.stderr and "rtsales sync" in result.stderr
    assert _files(tmp_path) == []


@pytest.mark.parametrize("args", [["status", "--check"], ["runs"]], ids=" ".join)
def test_a_wrong_path_is_named(tmp_path: Path, args: list[str]) -> None:
    wrong = tmp_path / "data" / "typo.db"
    wrong.parent.mkdir()
    result = runner.invoke(app, ["--db", str(wrong), *args])
    assert result.exit_code == 1 and f"database {wrong} does not exist" in result.stderr
    assert _files(tmp_path) == ["data"]


def test_sync_still_creates_its_database(tmp_path: Path) -> None:
    result = runner.invoke(app, ["sync", "--quiet"], env={**CREDS, "RTSALES_NOW": "2026-03-10T12:07:00Z",
                                                          "LWA_TOKEN_URL": "http://127.0.0.1:9/token",
                                                          "SPAPI_ENDPOINT": "http://127.0.0.1:9"})
    assert (tmp_path / "rtsales.db").exists(), result.stderr
