"""The project's exceptions and the exit codes they map to.

Every error the user can cause or meet carries a one-line message, a hint that
names the command or variable that fixes it, and a documented exit code. The one
error boundary in `rtsales.cli` turns them into a line on stderr.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    TEMPFAIL = 75  # EX_TEMPFAIL: skipped because of a cooldown or a busy lock
    CONFIG = 78  # EX_CONFIG
    INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
    BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of stdout went away (`| head -1`); nothing else is said
    TERMINATED = 143  # 128 + SIGTERM: stopped by systemd, docker or a timeout, leases released


class RtsalesError(Exception):
    """Base of every error rtsales reports to the user."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, hint: str | None = None, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived (rtsales.cli installs the handler). A KeyboardInterrupt, so it unwinds
    exactly like Ctrl-C: every clean-up that handles Ctrl-C releases leases for it too."""


class ConfigError(RtsalesError):
    """Missing or invalid configuration (environment, .env, credentials)."""

    exit_code = ExitCode.CONFIG


class UsageError(RtsalesError):
    """A command-line value that cannot be right (bad date, unknown marketplace)."""

    exit_code = ExitCode.USAGE


class StoreError(RtsalesError):
    """The database cannot be opened, read or migrated."""


class TempFailError(RtsalesError):
    """Nothing was done because of a cooldown or a busy lock; cron tries again later."""

    exit_code = ExitCode.TEMPFAIL


class DatabaseBusyError(StoreError, TempFailError):
    """Another connection held the database's write lock past the busy timeout."""

    exit_code = ExitCode.TEMPFAIL


class CooldownActiveError(TempFailError):
    """An API is cooling down after a quota hit."""


class LockBusyError(TempFailError):
    """Another live process holds the worker lock."""


class KeepaCooldownError(CooldownActiveError):
    """Keepa said NOT_ENOUGH_TOKEN; no Keepa call until the projected balance is positive."""

    def __init__(self, message: str, *, until: str, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.until = until


class InsufficientTokensError(TempFailError):
    """The token policy refuses a Keepa request now (or it would have to wait and may not)."""

    def __init__(self, message: str, *, current_balance: float, required_tokens: int, endpoint: str,
                 deficit: float, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.current_balance = current_balance
        self.required_tokens = required_tokens
        self.endpoint = endpoint
        self.deficit = deficit


class LockLostError(RtsalesError):
    """The worker lock was taken by someone else while we held it."""


class ApiError(RtsalesError):
    """A remote API answered with an error we do not retry; `status` is its HTTP status if any."""

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None,
                 exit_code: ExitCode | None = None):
        super().__init__(message, hint=hint, exit_code=exit_code)
        self.status = status


class SpApiError(ApiError):
    """SP-API answered with an error we do not retry; `code` is Amazon's ErrorList code."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 hint: str | None = None, exit_code: ExitCode | None = None):
        super().__init__(message, status=status, hint=hint, exit_code=exit_code)
        self.code = code


class SpApiQuotaError(SpApiError):
    """HTTP 429 from any SP-API call: stop every SP-API call now."""


class DocumentExpiredError(SpApiError):
    """The pre-signed document URL expired before we fetched it; ask for a fresh one."""


class LoginError(SpApiError):
    """Login with Amazon gave no access token (down, or an answer we cannot use): no SP-API
    call can be made, so the run stops instead of failing every window in turn."""


class AuthError(LoginError):
    """Login with Amazon rejected our credentials; only the user can fix this."""

    exit_code = ExitCode.CONFIG


class AccessDeniedError(AuthError):
    """SP-API answered 403 again after a fresh access token: the app lacks the role for these
    reports, or the vendor has not authorised it. Only the user can fix this."""


class ReportParseError(RtsalesError):
    """A report document is not what Amazon's schema promises."""


class XaiError(ApiError):
    """xAI answered with an error we do not retry, or could not be reached.

    `may_have_cost` says whether xAI may have billed the request; when it is
    false the caller gives the taken daily call back.
    """

    def __init__(self, message: str, *, status: int | None = None, may_have_cost: bool = False,
                 hint: str | None = None, exit_code: ExitCode | None = None):
        super().__init__(message, status=status, hint=hint, exit_code=exit_code)
        self.may_have_cost = may_have_cost


class XaiAuthError(XaiError):
    """xAI rejected XAI_API_KEY (bad key, no permission, blocked team)."""

    exit_code = ExitCode.CONFIG


class XaiCreditsExhaustedError(XaiError):
    """The xAI team's credits or spending limit are used up: not retried, starts a cooldown."""

    exit_code = ExitCode.TEMPFAIL


class XaiQuotaExhaustedError(TempFailError):
    """Our own XAI_DAILY_LIMIT is reached and no fallback answer is configured."""


class KeepaError(ApiError):
    """Keepa answered with an error we do not retry (bad key, bad request, not JSON)."""
