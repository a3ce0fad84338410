"""Bad configuration: one `error: ... (hint)` line, exit 78, no API call, the database unchanged
(but for the refused run, in its run history).

Already proven elsewhere, not repeated here:
- an unknown marketplace ID through the CLI (one line, exit 78, no file created):
  tests/test_cli.py::test_config_error_is_one_line_exit_78;
- every problem listed in one error, a missing --env-file, an RTSALES_NOW without a zone:
  tests/test_config.py;
- a missing KEEPA_API_KEY / XAI_API_KEY (exit 78, one line, no request):
  tests/test_keepa_cli.py::test_missing_key_is_a_configuration_error,
  tests/test_xai_cli.py::test_missing_key_exit_78.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock

from tests.reliability.conftest import Snapshot, assert_one_error_line, invoke, snapshot

DAY = "2026-03-09"

CASES = [
    pytest.param({"LWA_CLIENT_SECRET": None}, ["sync"], ["missing configuration: LWA_CLIENT_SECRET", "env"],
                 id="missing-secret"),
    pytest.param({"LWA_CLIENT_SECRET": "", "LWA_REFRESH_TOKEN": "   "}, ["audit", "daily"],
                 ["missing configuration: LWA_CLIENT_SECRET, LWA_REFRESH_TOKEN"], id="empty-credentials"),
    pytest.param({"LWA_CLIENT_ID": ""}, ["fill-day", DAY], ["missing configuration: LWA_CLIENT_ID"],
                 id="empty-client-id-fill-day"),
    pytest.param({"MARKETPLACE_IDS": "ATVPDKIKX0DER,A1PA6795UKMFR9"}, ["sync"],
                 ["regions EU, NA", "SPAPI_ENDPOINT"], id="mixed-regions"),
    pytest.param({"LOOKBACK_DAYS": "7d", "HTTP_TIMEOUT_SECONDS": "nan", "MAX_DOCUMENT_MB": "1e3",
                  "KEEPA_DEFICIT_THRESHOLD": "-1"}, ["sync"],
                 ["LOOKBACK_DAYS='7d'", "HTTP_TIMEOUT_SECONDS='nan'", "MAX_DOCUMENT_MB='1e3'",
                  "KEEPA_DEFICIT_THRESHOLD='-1'", "whole number"], id="malformed-numbers"),
    pytest.param({"RTSALES_NOW": "yesterday"}, ["status"],
                 ["RTSALES_NOW='yesterday'", "ISO-8601", "2026-01-01T00:15:00Z"], id="now-not-a-timestamp"),
    pytest.param({"RTSALES_NOW": "2026-03-10 12:07"}, ["sync"], ["RTSALES_NOW", "with a zone"],
                 id="now-without-zone"),
    pytest.param({"XAI_API_URL": "http://api.x.ai/v1"}, ["xai", "quota"], ["XAI_API_URL", "https"],
                 id="key-over-plain-http"),
    pytest.param({"QUOTA_COOLDOWN_MINUTES": "99999999999"}, ["sync"],
                 ["QUOTA_COOLDOWN_MINUTES='99999999999'", "whole number from 1 to 10080"], id="cooldown-absurd"),
    pytest.param({"RTSALES_NOW": "9999-12-31T23:59:59Z"}, ["sync"],
                 ["RTSALES_NOW='9999-12-31T23:59:59Z'", "from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z"],
                 id="now-at-the-end-of-time"),
    pytest.param({"RTSALES_NOW": "0001-01-01T00:00:00Z"}, ["status"],
                 ["RTSALES_NOW='0001-01-01T00:00:00Z'", "from 2000-01-01T00:00:00Z"], id="now-at-year-one"),
    pytest.param({"RTSALES_NOW": "0001-01-01T00:00:00+01:00"}, ["status"], ["RTSALES_NOW", "ISO-8601"],
                 id="now-before-the-first-utc-instant"),
    pytest.param({"HTTP_TIMEOUT_SECONDS": "1e9", "SETTLE_HOURS": "0"}, ["sync"],
                 ["HTTP_TIMEOUT_SECONDS='1e9'", "from 0.1 to 600", "SETTLE_HOURS='0'", "from 1 to 72"],
                 id="two-out-of-range"),
    pytest.param({"LOOKBACK_DAYS": "30"}, ["sync"],
                 ["LOOKBACK_DAYS=30 reaches back 720 h, beyond MAX_DATA_AGE_HOURS=168 "
                  "(lower LOOKBACK_DAYS or raise MAX_DATA_AGE_HOURS)"], id="lookback-beyond-data-age"),
    pytest.param({"LOOKBACK_DAYS": "100000"}, ["sync"], ["LOOKBACK_DAYS='100000'", "from 1 to 365"],
                 id="lookback-absurd"),
]


@pytest.mark.parametrize(("change", "args", "fragments"), CASES)
def test_bad_setting(vendor_db: Path, vendor_env: dict[str, str], httpx_mock: HTTPXMock,
                     change: dict[str, str | None], args: list[str], fragments: list[str]) -> None:
    env = {k: v for k, v in {**vendor_env, **change}.items() if v is not None}
    before = snapshot(vendor_db)
    result = invoke(*args, env=env)
    assert_one_error_line(result, 78, *fragments)
    after = snapshot(vendor_db)
    assert _data(after) == _data(before)
    # Settings that load name the database: its run history records the refused run, for status.
    refused = [line for line in after or () if line not in (before or ()) and line not in _data(after)]
    if fragments[0].startswith("missing configuration"):
        assert len(refused) == 1 and "'config_error',78" in refused[0] and fragments[0] in refused[0]
    else:
        assert refused == []
    assert httpx_mock.get_requests() == []


def _data(snap: Snapshot) -> list[str]:
    """Everything but the run history's rows."""
    return [line for line in snap or () if not line.startswith('INSERT INTO "rtsales_runs"')]


@pytest.mark.parametrize("where", [".env", "prod.env"])
def test_env_file_that_does_not_parse(vendor_db: Path, vendor_env: dict[str, str], tmp_path: Path,
                                      where: str) -> None:
    env_file = tmp_path / where  # tmp_path is the working directory: ./.env is read by default
    env_file.write_text("LOOKBACK_DAYS=3\nMARKETPLACE_IDS ATVPDKIKX0DER\n")
    before = snapshot(vendor_db)
    args = ["sync"] if where == ".env" else ["--env-file", str(env_file), "sync"]
    assert_one_error_line(invoke(*args, env=vendor_env), 78, f"{where} does not parse at line 2", "NAME=value")
    assert snapshot(vendor_db) == before


@pytest.mark.parametrize(("args", "variable"), [
    (["sync"], "LWA_REFRESH_TOKEN"), (["audit", "weekly"], "LWA_REFRESH_TOKEN"),
    (["fill-day", DAY], "LWA_REFRESH_TOKEN"), (["keepa", "balance"], "KEEPA_API_KEY"),
    (["keepa", "products", "B000000001"], "KEEPA_API_KEY"),
])
def test_no_database_is_created_by_a_command_that_cannot_run(vendor_env: dict[str, str], tmp_path: Path,
                                                             args: list[str], variable: str) -> None:
    fresh = tmp_path / "fresh.db"
    result = invoke(*args, env={**vendor_env, "RTSALES_DB": str(fresh), "LWA_REFRESH_TOKEN": ""})
    assert_one_error_line(result, 78, f"missing configuration: {variable}")
    assert not fresh.exists()
