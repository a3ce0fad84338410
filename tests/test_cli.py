"""The CLI shell: global options, exit codes, the one error boundary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rtsales import __version__
from rtsales.cli import app
from rtsales.store import open_db
from tests.conftest import CREDS

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"rtsales {__version__}"


def test_status_needs_no_credentials(tmp_path: Path) -> None:
    open_db(tmp_path / "s.db").conn.close()
    result = runner.invoke(app, ["--db", str(tmp_path / "s.db"), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["marketplaces"] == []
    assert (tmp_path / "s.db").exists()


def test_config_error_is_one_line_exit_78(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARKETPLACE_IDS", "ATVPDKIKX0DER,BOGUS")
    result = runner.invoke(app, ["--db", str(tmp_path / "s.db"), "status"])
    assert result.exit_code == 78
    assert result.stderr.count("\n") == 1
    assert "unknown marketplace ID 'BOGUS'" in result.stderr
    assert not (tmp_path / "s.db").exists()


def test_store_error_exit_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["--db", str(tmp_path / "no" / "s.db"), "sync"], env=CREDS)
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and "mkdir -p" in result.stderr


def test_usage_error_exit_2() -> None:
    result = runner.invoke(app, ["status", "--no-such-option"])
    assert result.exit_code == 2


def _explode(*_: object, **__: object) -> None:
    raise RuntimeError("kaboom")


def test_unknown_error_is_one_line_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rtsales.views.status.collect_status", _explode)
    open_db(tmp_path / "s.db").conn.close()
    result = runner.invoke(app, ["--db", str(tmp_path / "s.db"), "status"])
    assert result.exit_code == 1
    assert "unexpected error: RuntimeError: kaboom" in result.stderr
    assert "RTSALES_DEBUG" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_error_reraised_under_debug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rtsales.views.status.collect_status", _explode)
    monkeypatch.setenv("RTSALES_DEBUG", "1")
    open_db(tmp_path / "s.db").conn.close()
    result = runner.invoke(app, ["--db", str(tmp_path / "s.db"), "status"])
    assert isinstance(result.exception, RuntimeError)


def test_env_file_option(tmp_path: Path) -> None:
    env = tmp_path / "prod.env"
    env.write_text("MARKETPLACE_IDS=A1PA6795UKMFR9\n")
    open_db(tmp_path / "s.db").conn.close()
    result = runner.invoke(app, ["--env-file", str(env), "--db", str(tmp_path / "s.db"), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert [m["marketplace_id"] for m in json.loads(result.stdout)["marketplaces"]] == ["A1PA6795UKMFR9"]


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-m", "rtsales", "--version"], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0 and __version__ in done.stdout
