"""Settings: sources, precedence, validation (exit 78), secrets kept out of repr."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rtsales.clock import FrozenClock, SystemClock
from rtsales.config import _SIMPLE, load_settings
from rtsales.errors import ConfigError, ExitCode


def test_defaults_without_any_configuration() -> None:
    settings = load_settings(environ={})
    assert settings.db_path == Path("rtsales.db")
    assert settings.marketplace_ids == ()
    assert settings.quota_cooldown_minutes == 30
    assert settings.daily_audit_enabled is True and settings.weekly_audit_enabled is False
    assert isinstance(settings.clock(), SystemClock)


def test_env_file_is_read_and_real_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "custom.env"
    env_file.write_text("MARKETPLACE_IDS=ATVPDKIKX0DER\nQUOTA_COOLDOWN_MINUTES=45\nLOOKBACK_DAYS=3\n")
    settings = load_settings(env_file=env_file, environ={"QUOTA_COOLDOWN_MINUTES": "10"})
    assert settings.marketplace_ids == ("ATVPDKIKX0DER",)
    assert settings.quota_cooldown_minutes == 10
    assert settings.lookback_days == 3


def test_dot_env_in_working_directory_is_picked_up(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("MARKETPLACE_ID=A1PA6795UKMFR9\n")
    settings = load_settings(environ={})
    assert settings.marketplace_ids == ("A1PA6795UKMFR9",)
    assert settings.spapi_endpoint == "https://sellingpartnerapi-eu.amazon.com"


@pytest.mark.parametrize(("ids", "endpoint"), [
    ("ATVPDKIKX0DER,A2EUQ1WTGCTBG2", "https://sellingpartnerapi-na.amazon.com"),
    ("A1VC38T7YXB528", "https://sellingpartnerapi-fe.amazon.com"),
])
def test_endpoint_derived_from_marketplace_region(ids: str, endpoint: str) -> None:
    assert load_settings(environ={"MARKETPLACE_IDS": ids}).spapi_endpoint == endpoint


def test_explicit_endpoint_allows_mixed_regions() -> None:
    settings = load_settings(environ={"MARKETPLACE_IDS": "ATVPDKIKX0DER,A1PA6795UKMFR9",
                                      "SPAPI_ENDPOINT": "http://127.0.0.1:8765/"})
    assert settings.spapi_endpoint == "http://127.0.0.1:8765"


def test_every_problem_is_listed_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={
            "MARKETPLACE_IDS": "ATVPDKIKX0DER,NOPE,A1PA6795UKMFR9",
            "QUOTA_COOLDOWN_MINUTES": "ten",
            "RTSALES_NOW": "yesterday",
            "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": "maybe",
            "SPAPI_ENDPOINT": "ftp://x",
        })
    message = caught.value.message
    for fragment in ("NOPE", "QUOTA_COOLDOWN_MINUTES", "RTSALES_NOW", "DAILY_AUDIT", "SPAPI_ENDPOINT"):
        assert fragment in message
    assert caught.value.exit_code == ExitCode.CONFIG


def test_mixed_regions_without_endpoint_is_an_error() -> None:
    with pytest.raises(ConfigError, match="regions EU, NA"):
        load_settings(environ={"MARKETPLACE_IDS": "ATVPDKIKX0DER,A1PA6795UKMFR9"})


@pytest.mark.parametrize("value", ["0", "-5", "1.5", "abc"])
def test_minutes_must_be_positive_whole_numbers(value: str) -> None:
    with pytest.raises(ConfigError, match="whole number from 1 to 10080"):
        load_settings(environ={"QUOTA_COOLDOWN_MINUTES": value})


def test_rtsales_now_gives_a_frozen_clock() -> None:
    clock = load_settings(environ={"RTSALES_NOW": "2026-01-02T03:04:05+01:00"}).clock()
    assert isinstance(clock, FrozenClock)
    assert clock.now().isoformat() == "2026-01-02T02:04:05+00:00"


def test_rtsales_now_without_zone_is_rejected() -> None:
    with pytest.raises(ConfigError, match="RTSALES_NOW"):
        load_settings(environ={"RTSALES_NOW": "2026-01-02T03:04:05"})


def test_credentials_are_checked_only_when_required() -> None:
    settings = load_settings(environ={"LWA_CLIENT_ID": "x", "LWA_CLIENT_SECRET": ""})
    with pytest.raises(ConfigError) as caught:
        settings.require_spapi()
    assert "LWA_CLIENT_SECRET" in caught.value.message
    assert "LWA_REFRESH_TOKEN" in caught.value.message
    assert "MARKETPLACE_IDS" in caught.value.message
    assert "LWA_CLIENT_ID" not in caught.value.message


def test_env_file_that_does_not_parse(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nthis line is not an assignment\n")
    with pytest.raises(ConfigError, match="line 2"):
        load_settings(env_file=bad, environ={})


def test_missing_env_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="env file not found"):
        load_settings(env_file=tmp_path / "nope.env", environ={})


def test_db_option_wins_over_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={"RTSALES_DB": "env.db"}, db_path=tmp_path / "cli.db")
    assert settings.db_path == tmp_path / "cli.db"


def test_secrets_never_in_repr() -> None:
    settings = load_settings(environ={"LWA_CLIENT_SECRET": "s3cr3t-value-123",
                                      "LWA_REFRESH_TOKEN": "Atzr|refresh-456789"})
    shown = repr(settings) + str(settings)
    assert "s3cr3t-value-123" not in shown
    assert "refresh-456789" not in shown
    assert settings.lwa_client_secret is not None
    assert settings.lwa_client_secret.get() == "s3cr3t-value-123"


def test_env_example_documents_every_setting() -> None:
    from rtsales.config import setting_names
    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    documented = {line.lstrip("# ").split("=", 1)[0] for line in example.splitlines() if "=" in line}
    missing = set(setting_names()) - documented - {"MARKETPLACE_ID"}
    assert not missing, f"not in .env.example: {sorted(missing)}"


# -- ranges: an absurd number is a configuration error, not a crash at the first 429 ------------

FREE_TEXT = {"RTSALES_DB", "XAI_MODEL", "XAI_FALLBACK_ANSWER"}
NOT_NUMBERS = {*FREE_TEXT, "LWA_TOKEN_URL", "XAI_API_URL", "KEEPA_API_URL", "KEEPA_POLICY",
               "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT", "ENABLE_VENDOR_RT_SALES_WEEKLY_AUDIT", "REPORT_TYPES"}


NOW_RANGE = "from 2000-01-01T00:00:00Z to 2100-01-01T00:00:00Z"


def _absurd(name: str) -> str:
    return "9999-12-31T23:59:59Z" if name == "RTSALES_NOW" else "99999999999"


def _problem(name: str, value: str, **more: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={name: value, **more})
    assert caught.value.exit_code == ExitCode.CONFIG
    return caught.value.message


@pytest.mark.parametrize(("name", "value", "range_text"), [
    ("QUOTA_COOLDOWN_MINUTES", "99999999999", "from 1 to 10080"),
    ("QUOTA_COOLDOWN_MAX_MINUTES", "10081", "from 1 to 10080"),
    ("LOOKBACK_DAYS", "366", "from 1 to 365"),
    ("MAX_DATA_AGE_HOURS", "8761", "from 1 to 8760"),
    ("SETTLE_HOURS", "73", "from 1 to 72"),
    ("HTTP_TIMEOUT_SECONDS", "601", "from 0.1 to 600"),
    ("HTTP_TIMEOUT_SECONDS", "0.05", "from 0.1 to 600"),
    ("RTSALES_NOW", "9999-12-31T23:59:59Z", NOW_RANGE),
    ("RTSALES_NOW", "0001-01-01T00:00:00Z", NOW_RANGE),
    ("RTSALES_NOW", "1999-12-31T23:59:59Z", NOW_RANGE),
    ("KEEPA_DEFICIT_THRESHOLD", "99999999999", "from 0 to 1000000"),
    ("XAI_DAILY_LIMIT", "0", "from 1 to 1000000"),
])
def test_out_of_range_value_names_the_variable_and_its_range(name: str, value: str, range_text: str) -> None:
    message = _problem(name, value)
    assert f"{name}={value!r}" in message and range_text in message and "\n" not in message


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_instant_that_overflows_in_utc_is_a_config_error(value: str) -> None:
    assert "RTSALES_NOW" in _problem("RTSALES_NOW", value)


def test_range_edges_are_accepted() -> None:
    settings = load_settings(environ={"QUOTA_COOLDOWN_MINUTES": "10080", "QUOTA_COOLDOWN_MAX_MINUTES": "10080",
                                      "RTSALES_NOW": "2100-01-01T00:00:00Z", "HTTP_TIMEOUT_SECONDS": "0.1",
                                      "LOOKBACK_DAYS": "365", "MAX_DATA_AGE_HOURS": "8760"})
    assert settings.quota_cooldown_minutes == 10080 and settings.http_timeout_seconds == 0.1


@pytest.mark.parametrize("name", [n for n in _SIMPLE if n not in FREE_TEXT])
def test_every_numeric_and_instant_setting_refuses_an_absurd_value(name: str) -> None:
    assert f"{name}={_absurd(name)!r}" in _problem(name, _absurd(name))


def _documented_block(name: str) -> str:
    """The comment lines right above `name=` in .env.example, and that line."""
    lines = (Path(__file__).resolve().parents[1] / ".env.example").read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip("# ").startswith(f"{name}="))
    start = at
    while start > 0 and lines[start - 1].startswith("#") and "=" not in lines[start - 1]:
        start -= 1
    return "\n".join(lines[start:at + 1])


@pytest.mark.parametrize("name", [n for n in _SIMPLE if n not in NOT_NUMBERS])
def test_env_example_documents_the_range_the_error_names(name: str) -> None:
    found = re.search(r"from (\S+) to (\S+?)(?:[;)]|$)", _problem(name, _absurd(name)).split(f"{name}=", 1)[1])
    assert found, f"{name}: the error names no range"
    assert f"Range: {found[1]} to {found[2]}" in _documented_block(name)


def test_lookback_beyond_max_data_age_names_both_variables() -> None:
    message = _problem("LOOKBACK_DAYS", "30")
    assert ("LOOKBACK_DAYS=30 reaches back 720 h, beyond MAX_DATA_AGE_HOURS=168 "
            "(lower LOOKBACK_DAYS or raise MAX_DATA_AGE_HOURS)") in message
    assert load_settings(environ={"LOOKBACK_DAYS": "30", "MAX_DATA_AGE_HOURS": "720"}).lookback_days == 30
    assert "LOOKBACK_DAYS=8 reaches back 192 h" in _problem("MAX_DATA_AGE_HOURS", "100", LOOKBACK_DAYS="8")
