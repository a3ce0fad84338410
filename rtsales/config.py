"""Settings: read once from the environment and a .env file, validated, frozen.

The root CLI callback calls `load_settings()`; nothing reads the environment at
import time. Validation collects every problem and reports them in one
ConfigError (exit 78); `load_settings_leniently` (for `rtsales doctor`) gives what
can be read beside that error instead. Credentials are checked only by `require_spapi()` and
`require_xai()` and `require_keepa()`, so commands that call no API work without them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from rtsales.amazon.marketplaces import MARKETPLACES, REGION_ENDPOINTS, find, lookup, nearest
from rtsales.clock import EARLIEST, LATEST, Clock, FrozenClock, SystemClock, iso, parse_instant
from rtsales.errors import ConfigError
from rtsales.kinds import KINDS
from rtsales.redaction import Secret

DEFAULT_LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
DEFAULT_XAI_API_URL = "https://api.x.ai/v1"
# xAI's recommended replacement for the Grok models it retired on 2026-05-15, and its
# cheapest current general model; override with XAI_MODEL when xAI moves on.
DEFAULT_XAI_MODEL = "grok-4.3"
DEFAULT_KEEPA_API_URL = "https://api.keepa.com"
KEEPA_POLICIES = ("controlled-deficit", "strict")


@dataclass(frozen=True)
class Settings:
    db_path: Path = Path("rtsales.db")
    marketplace_ids: tuple[str, ...] = ()
    report_types: tuple[str, ...] = ("sales",)  # rtsales.kinds names, in KINDS order
    spapi_endpoint: str | None = None
    lwa_token_url: str = DEFAULT_LWA_TOKEN_URL
    lwa_client_id: str | None = None
    lwa_client_secret: Secret | None = None
    lwa_refresh_token: Secret | None = None
    lwa_client_secret_rotated: date | None = None  # Amazon expires an LWA client secret 180 days after it is issued
    now: datetime | None = None
    quota_cooldown_minutes: int = 30
    quota_cooldown_max_minutes: int = 240
    daily_audit_enabled: bool = True
    weekly_audit_enabled: bool = False
    audit_daily_hours: int = 48
    lookback_days: int = 7
    max_data_age_hours: int = 168
    settle_hours: int = 3
    safety_lag_minutes: int = 5
    live_refresh_minutes: int = 15
    quota_budget_percent: int = 50
    max_window_hours: int = 24
    run_budget_seconds: int = 600
    lock_ttl_minutes: int = 15
    http_timeout_seconds: float = 30.0
    max_document_mb: int = 512
    fill_day_max_age_days: int = 30
    xai_api_key: Secret | None = None
    xai_api_url: str = DEFAULT_XAI_API_URL
    xai_model: str = DEFAULT_XAI_MODEL
    xai_daily_limit: int = 1000
    xai_fallback_answer: str | None = None
    keepa_api_key: Secret | None = None
    keepa_api_url: str = DEFAULT_KEEPA_API_URL
    keepa_policy: str = "controlled-deficit"
    keepa_deficit_threshold: int = 50
    keepa_strict_min_balance: int = 10
    keepa_strict_safety_buffer: int = 20
    keepa_max_wait_minutes: int = 15
    watch_baseline_days: int = 14
    watch_min_baseline_units: float = 5.0
    watch_drop_hours: int = 2
    watch_drop_ratio: float = 0.25
    watch_spike_hours: int = 2
    watch_spike_ratio: float = 3.0
    watch_views_ratio: float = 0.5
    watch_vanished_hours: int = 24
    watch_chance: float = 1e-5
    env_file: Path | None = field(default=None, compare=False)

    @property
    def lanes(self) -> int:
        """Report kinds times marketplaces: how many live windows share the createReport budget."""
        return max(1, len(self.report_types) * len(self.marketplace_ids))

    def clock(self) -> Clock:
        return FrozenClock(self.now) if self.now is not None else SystemClock()

    def require_spapi(self) -> None:
        """Raise one ConfigError naming every variable an SP-API call still needs."""
        self._require(("LWA_CLIENT_ID", self.lwa_client_id),
                      ("LWA_CLIENT_SECRET", self.lwa_client_secret),
                      ("LWA_REFRESH_TOKEN", self.lwa_refresh_token),
                      ("MARKETPLACE_IDS", self.marketplace_ids))

    def require_xai(self) -> None:
        """Raise a ConfigError when an xAI call cannot be made for want of a key."""
        self._require(("XAI_API_KEY", self.xai_api_key))

    def _require(self, *pairs: tuple[str, object]) -> None:
        missing = [name for name, value in pairs if not value]
        if missing:
            raise ConfigError(
                f"missing configuration: {', '.join(missing)}",
                hint=f"set {'it' if len(missing) == 1 else 'them'} in the environment or in "
                     f"{self.env_file or '.env'} (see .env.example)",
            )

    def require_keepa(self) -> None:
        """Raise a ConfigError when a Keepa call has no API key to use."""
        if not self.keepa_api_key:
            raise ConfigError(
                "missing configuration: KEEPA_API_KEY",
                hint=f"set it in the environment or in {self.env_file or '.env'} (see .env.example)",
            )


@dataclass(frozen=True)
class _Whole:
    """A whole number in [low, high]; the error names the range .env.example documents."""

    low: int
    high: int

    def __call__(self, text: str) -> int:
        text = text.strip()
        # the digit count first: int() of 4300+ digits raises with a message of its own
        if not (text.isascii() and text.isdigit()) or len(text) > 15 or not self.low <= int(text) <= self.high:
            raise ValueError(f"must be a whole number from {self.low} to {self.high}")
        return int(text)


@dataclass(frozen=True)
class _Number:
    """A decimal number in [low, high] (NaN and infinities are outside)."""

    low: float
    high: float

    def __call__(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not self.low <= value <= self.high:
            raise ValueError(f"must be a number from {self.low:g} to {self.high:g}")
        return value


def _keepa_policy(text: str) -> str:
    if text.strip().lower() not in KEEPA_POLICIES:
        raise ValueError(f"must be one of {', '.join(KEEPA_POLICIES)}")
    return text.strip().lower()


def _boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be true or false")


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return text.rstrip("/")


def is_http_loopback(url: str) -> bool:
    """A plain-http URL on this machine (simulators, test servers)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def _instant(text: str) -> datetime:
    try:
        value = parse_instant(text)
    except ValueError:
        raise ValueError("must be an ISO-8601 timestamp with a zone, e.g. 2026-01-01T00:15:00Z") from None
    if not EARLIEST <= value <= LATEST:  # keeps now +/- any configured duration inside datetime's range
        raise ValueError(f"must be from {iso(EARLIEST)} to {iso(LATEST)}")
    return value


def _day(text: str) -> date:
    try:
        value = date.fromisoformat(text.strip()) if len(text.strip()) == 10 else None
    except ValueError:
        value = None
    if value is None or not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must be a date YYYY-MM-DD from {EARLIEST.date()} to {LATEST.date() - timedelta(days=1)}")
    return value


def _key_safe_url(text: str) -> str:
    # The bearer key travels with every request: plain http only where it cannot leave the host.
    url = _url(text)
    if url.startswith("http://") and not is_http_loopback(url):
        raise ValueError("must be https (plain http only for a loopback address)")
    return url


def _report_types(text: str) -> tuple[str, ...]:
    """Kind names or Amazon's reportType names, comma-separated, in any case; KINDS order."""
    wanted = set()
    for given in (part.strip() for part in text.split(",") if part.strip()):
        found = [k.name for k in KINDS.values() if given.lower() in (k.name, k.report_type.lower())]
        if not found:
            raise ValueError(f"unknown report type {given!r} (use any of {', '.join(KINDS)})")
        wanted.update(found)
    if not wanted:
        raise ValueError(f"names no report type (use any of {', '.join(KINDS)})")
    return tuple(name for name in KINDS if name in wanted)


WEEK_MINUTES = 7 * 24 * 60
MILLION = 1_000_000

# env name -> (Settings field, parser). Credentials and marketplaces are handled apart.
# Every number has a range (documented beside it in .env.example): large enough for any
# real use, small enough that no time arithmetic on it can overflow.
_SIMPLE: dict[str, tuple[str, Callable[[str], Any]]] = {
    "RTSALES_DB": ("db_path", Path),
    "LWA_TOKEN_URL": ("lwa_token_url", _url),
    "LWA_CLIENT_SECRET_ROTATED": ("lwa_client_secret_rotated", _day),
    "RTSALES_NOW": ("now", _instant),
    "REPORT_TYPES": ("report_types", _report_types),
    "QUOTA_COOLDOWN_MINUTES": ("quota_cooldown_minutes", _Whole(1, WEEK_MINUTES)),
    "QUOTA_COOLDOWN_MAX_MINUTES": ("quota_cooldown_max_minutes", _Whole(1, WEEK_MINUTES)),
    "ENABLE_VENDOR_RT_SALES_DAILY_AUDIT": ("daily_audit_enabled", _boolean),
    "ENABLE_VENDOR_RT_SALES_WEEKLY_AUDIT": ("weekly_audit_enabled", _boolean),
    "AUDIT_DAILY_HOURS": ("audit_daily_hours", _Whole(1, 168)),
    "LOOKBACK_DAYS": ("lookback_days", _Whole(1, 365)),
    "MAX_DATA_AGE_HOURS": ("max_data_age_hours", _Whole(1, 8760)),
    "SETTLE_HOURS": ("settle_hours", _Whole(1, 72)),
    "SAFETY_LAG_MINUTES": ("safety_lag_minutes", _Whole(1, 1440)),
    "LIVE_REFRESH_MINUTES": ("live_refresh_minutes", _Whole(5, 1440)),
    "QUOTA_BUDGET_PERCENT": ("quota_budget_percent", _Whole(1, 100)),
    "MAX_WINDOW_HOURS": ("max_window_hours", _Whole(1, 168)),
    "RUN_BUDGET_SECONDS": ("run_budget_seconds", _Whole(1, 86400)),
    "LOCK_TTL_MINUTES": ("lock_ttl_minutes", _Whole(1, 1440)),
    "HTTP_TIMEOUT_SECONDS": ("http_timeout_seconds", _Number(0.1, 600)),
    "MAX_DOCUMENT_MB": ("max_document_mb", _Whole(1, 10240)),
    "FILL_DAY_MAX_AGE_DAYS": ("fill_day_max_age_days", _Whole(1, 365)),
    "XAI_API_URL": ("xai_api_url", _key_safe_url),
    "XAI_MODEL": ("xai_model", str),
    "XAI_DAILY_LIMIT": ("xai_daily_limit", _Whole(1, MILLION)),
    "XAI_FALLBACK_ANSWER": ("xai_fallback_answer", str),
    "KEEPA_API_URL": ("keepa_api_url", _url),
    "KEEPA_POLICY": ("keepa_policy", _keepa_policy),
    "KEEPA_DEFICIT_THRESHOLD": ("keepa_deficit_threshold", _Whole(0, MILLION)),
    "KEEPA_STRICT_MIN_BALANCE": ("keepa_strict_min_balance", _Whole(0, MILLION)),
    "KEEPA_STRICT_SAFETY_BUFFER": ("keepa_strict_safety_buffer", _Whole(0, MILLION)),
    "KEEPA_MAX_WAIT_MINUTES": ("keepa_max_wait_minutes", _Whole(1, 1440)),
    "WATCH_BASELINE_DAYS": ("watch_baseline_days", _Whole(5, 90)),
    "WATCH_MIN_BASELINE_UNITS": ("watch_min_baseline_units", _Number(0.5, 10000)),
    "WATCH_DROP_HOURS": ("watch_drop_hours", _Whole(1, 72)),
    "WATCH_DROP_RATIO": ("watch_drop_ratio", _Number(0, 0.9)),
    "WATCH_SPIKE_HOURS": ("watch_spike_hours", _Whole(1, 72)),
    "WATCH_SPIKE_RATIO": ("watch_spike_ratio", _Number(1.5, 1000)),
    "WATCH_VIEWS_RATIO": ("watch_views_ratio", _Number(0.05, 1)),
    "WATCH_VANISHED_HOURS": ("watch_vanished_hours", _Whole(6, 720)),
    "WATCH_CHANCE": ("watch_chance", _Number(1e-12, 0.5)),
}


def read_env_file(path: Path) -> dict[str, str]:
    """Values of a .env file; a line that does not parse is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read env file {path}: {exc.__class__.__name__}",
                          hint="check the path given to --env-file") from None
    bad = [b.original.line for b in parse_stream(_StringStream(text)) if b.error]
    if bad:
        raise ConfigError(f"{path} does not parse at line {', '.join(map(str, bad))}",
                          hint="each line must be NAME=value (quote values with spaces or '#')")
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


class _StringStream:
    """parse_stream() wants a stream with read(); this avoids re-opening the file."""

    def __init__(self, text: str):
        self._text = text

    def read(self) -> str:
        return self._text


def _merged_env(env_file: Path | None, environ: Mapping[str, str]) -> tuple[dict[str, str], Path | None]:
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"env file not found: {env_file}", hint="check the path given to --env-file")
    chosen = env_file or (Path(".env") if Path(".env").is_file() else None)
    values = read_env_file(chosen) if chosen else {}
    values.update(environ)  # the real environment wins over the file
    return {k: v.strip() for k, v in values.items() if v.strip()}, chosen


def _marketplaces(env: dict[str, str], problems: list[str]) -> tuple[str, ...]:
    """IDs, or country codes in any case (stored as IDs, which every table and lease is keyed by)."""
    raw = env.get("MARKETPLACE_IDS") or env.get("MARKETPLACE_ID") or ""
    ids = []
    for given in (p.strip() for p in raw.split(",") if p.strip()):
        found = find(given)
        ids.append(found.marketplace_id if found else given)
        if found is None:
            guess = nearest(given, list(MARKETPLACES))
            problems.append(f"MARKETPLACE_IDS: unknown marketplace ID {given!r}"
                            + (f"; did you mean {guess!r}?" if guess else ""))
    return tuple(dict.fromkeys(ids))


def _endpoint(env: dict[str, str], ids: tuple[str, ...], problems: list[str]) -> str | None:
    if "SPAPI_ENDPOINT" in env:
        try:
            return _url(env["SPAPI_ENDPOINT"])
        except ValueError as exc:
            problems.append(f"SPAPI_ENDPOINT: {exc}")
            return None
    regions = sorted({m.region for m in map(lookup, ids) if m})
    if len(regions) > 1:
        problems.append(f"MARKETPLACE_IDS: marketplaces from regions {', '.join(regions)} "
                        "need separate configurations or an explicit SPAPI_ENDPOINT")
        return None
    return REGION_ENDPOINTS[regions[0]] if regions else None


def _simple_values(env: dict[str, str], problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, (attr, parse) in _SIMPLE.items():
        if name in env:
            try:
                values[attr] = parse(env[name])
            except ValueError as exc:
                problems.append(f"{name}={env[name]!r}: {exc}")
    if not any(p.startswith(("LOOKBACK_DAYS=", "MAX_DATA_AGE_HOURS=")) for p in problems):
        _check_reach(values, problems)
    return values


def _check_reach(values: dict[str, Any], problems: list[str]) -> None:
    """The lookback may not ask Amazon for hours older than it serves."""
    days = values.get("lookback_days", Settings.lookback_days)
    oldest = values.get("max_data_age_hours", Settings.max_data_age_hours)
    if days * 24 > oldest:
        problems.append(f"LOOKBACK_DAYS={days} reaches back {days * 24} h, beyond MAX_DATA_AGE_HOURS={oldest} "
                        "(lower LOOKBACK_DAYS or raise MAX_DATA_AGE_HOURS)")


def load_settings(env_file: Path | None = None, db_path: Path | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Build the frozen Settings once; raise ConfigError listing every problem."""
    env, chosen = _merged_env(env_file, os.environ if environ is None else environ)
    values, problems = _values(env, chosen, db_path)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems),
                          hint=f"fix these in the environment or in {chosen or '.env'} (see .env.example)")
    return Settings(**values)


def load_settings_leniently(env_file: Path | None = None, db_path: Path | None = None,
                            environ: Mapping[str, str] | None = None) -> tuple[Settings, ConfigError | None]:
    """Settings with every invalid value left at its default (an unreadable env file left out),
    and the error `load_settings` raises, if any: `rtsales doctor` reports it and checks the rest."""
    environ = os.environ if environ is None else environ
    try:
        return load_settings(env_file, db_path, environ), None
    except ConfigError as exc:
        problem = exc
    try:
        env, chosen = _merged_env(env_file, environ)
    except ConfigError:
        env, chosen = {k: v.strip() for k, v in environ.items() if v.strip()}, None
    return Settings(**_values(env, chosen, db_path)[0]), problem


def _values(env: dict[str, str], chosen: Path | None, db_path: Path | None) -> tuple[dict[str, Any], list[str]]:
    """Settings fields from the merged environment (invalid ones left out), and the problems found."""
    problems: list[str] = []
    values: dict[str, Any] = {"env_file": chosen, **_simple_values(env, problems)}
    ids = _marketplaces(env, problems)
    values.update(marketplace_ids=ids, spapi_endpoint=_endpoint(env, ids, problems))
    values["lwa_client_id"] = env.get("LWA_CLIENT_ID")
    for name, attr in (("LWA_CLIENT_SECRET", "lwa_client_secret"), ("LWA_REFRESH_TOKEN", "lwa_refresh_token"),
                       ("XAI_API_KEY", "xai_api_key"), ("KEEPA_API_KEY", "keepa_api_key")):
        values[attr] = Secret(env[name]) if name in env else None
    if db_path is not None:
        values["db_path"] = db_path
    return values, problems


def setting_names() -> list[str]:
    """Every environment variable rtsales reads (documented in .env.example)."""
    return ["LWA_CLIENT_ID", "LWA_CLIENT_SECRET", "LWA_REFRESH_TOKEN", "MARKETPLACE_IDS",
            "MARKETPLACE_ID", "SPAPI_ENDPOINT", "XAI_API_KEY", "KEEPA_API_KEY", *_SIMPLE]

