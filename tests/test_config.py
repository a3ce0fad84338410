"""Settings: sources, precedence, validation (exit 78), secrets kept out of repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtsales.clock import FrozenClock, SystemClock
from rtsales.config import load_settings
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
    with pytest.raises(ConfigError, match="whole number above 0"):
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
