"""TokenBudget: decides, before every Keepa request, whether it may go now, must wait, or is refused.

The balance is projected from the stored status (no call to /token). A
NOT_ENOUGH_TOKEN answer becomes a persisted cooldown under the api name
`keepa`, honoured by every process. Waits are computed from refillIn and
refillRate; while waiting the `keepa` lease is refreshed and the caller's
progress callback is told. A wait that may not happen (--no-wait, a frozen
clock, longer than KEEPA_MAX_WAIT_MINUTES) raises instead, exit 75.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlite_utils import Database

from rtsales import lock
from rtsales.clock import Clock, format_duration, iso, show_instant
from rtsales.config import Settings
from rtsales.errors import InsufficientTokensError, KeepaCooldownError, LockBusyError, RtsalesError
from rtsales.keepa import status as token_status
from rtsales.keepa.policy import Decision, Policy, decide
from rtsales.keepa.status import TokenStatus, next_refill, projected_balance, reached_at
from rtsales.quota import active_cooldown, set_cooldown_until

log = logging.getLogger(__name__)

API = "keepa"  # cooldown and lease name
WAIT_STEP_SECONDS = 30.0  # lease heartbeat and progress granularity while waiting
MAX_ROUNDS = 50  # waits always move time forward; this only guards against a surprise

WaitProgress = Callable[[str, float, float], None]  # (what, seconds waited, seconds in all)


@contextmanager
def keepa_lease(db: Database, settings: Settings, clock: Clock, command: str) -> Iterator[Callable[[], None]]:
    """Hold the `keepa` worker lease; yield a heartbeat that extends it. LockBusyError if taken."""
    owner = lock.owner_name(command)
    ttl = timedelta(minutes=settings.lock_ttl_minutes)
    result = lock.acquire(db, API, owner, clock.now(), ttl)
    if not result.acquired:
        raise LockBusyError(f"another rtsales is using Keepa ({result.holder}, lease until "
                            f"{show_instant(result.expires_at, clock.now())})",
                            hint="one Keepa worker runs at a time; cron will try again")
    try:
        yield lambda: lock.refresh(db, API, owner, clock.now(), ttl)
    finally:
        lock.release(db, API, owner)


class TokenBudget:
    """One per run. `warnings` collects strict-policy warnings for the report."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, *, wait: bool = True,
                 caller_buffer: int = 0, on_wait: WaitProgress | None = None,
                 heartbeat: Callable[[], None] | None = None):
        self.policy = Policy.from_settings(settings)
        self._db, self._clock = db, clock
        self._may_wait = wait
        self._buffer = caller_buffer
        self._max_wait = timedelta(minutes=settings.keepa_max_wait_minutes)
        self._on_wait = on_wait
        self._heartbeat = heartbeat
        self.warnings: list[str] = []
        self.waited_seconds = 0.0

    def status(self) -> TokenStatus | None:
        return token_status.load(self._db)

    def record(self, status: TokenStatus) -> None:
        token_status.save(self._db, status)

    def record_not_enough(self, status: TokenStatus) -> datetime:
        """Keepa said NOT_ENOUGH_TOKEN: store its status and a cooldown until the balance is positive."""
        self.record(status)
        now = self._clock.now()
        until = reached_at(status, now, 1)
        if until is None:  # no refill at all: the plan is paused; look again in an hour
            until = now + timedelta(hours=1)
        elif until <= now:  # Keepa disagrees with its own balance: give it one refill
            until = next_refill(status, now)
        set_cooldown_until(self._db, API, until, now, reason="NOT_ENOUGH_TOKEN")
        # info, not warning: the wait line or the cooldown error that follows already says it (-v shows this)
        log.info("Keepa NOT_ENOUGH_TOKEN (balance %s); cooling down until %s", status.tokens_left,
                 show_instant(until, now))
        return until

    def clear_to_send(self, endpoint: str, cost: int) -> Decision:
        """Return once the policy approves a request of `cost`; wait or raise as the policy says."""
        for _ in range(MAX_ROUNDS):
            now = self._clock.now()
            cooldown = active_cooldown(self._db, API, now)
            if cooldown is not None:
                self._wait_for_cooldown(cooldown.until)
                continue
            status = self.status()
            if status is None:
                raise RuntimeError("TokenBudget needs a known token status before deciding")
            decision = decide(self.policy, projected_balance(status, now), cost, self._buffer)
            if decision.approved:
                self._note(decision)
                return decision
            self._wait_for_tokens(status, decision, endpoint, now)
        raise RuntimeError("TokenBudget: no decision after repeated waits")

    def _note(self, decision: Decision) -> None:
        if decision.warning:
            log.warning("Keepa: %s", decision.warning)
            self.warnings.append(decision.warning)

    def _wait_for_cooldown(self, until: datetime) -> None:
        self._sleep_until(until, "Keepa cooldown", lambda why: cooldown_error(until, why, self._clock.now()))

    def _wait_for_tokens(self, status: TokenStatus, decision: Decision, endpoint: str, now: datetime) -> None:
        at = reached_at(status, now, decision.needed)
        if not decision.waits or at is None:
            later = f"; enough tokens at {show_instant(at, now)} (in {format_duration((at - now).total_seconds())})" \
                if at else \
                "; the refill rate can never reach that balance"
            raise _refusal(decision, endpoint, f"{decision.reason}{later}")
        self._sleep_until(at, f"Keepa tokens ({decision.needed:g} needed)",
                          lambda why: _refusal(decision, endpoint, f"{decision.reason}; {why}"))

    def _sleep_until(self, until: datetime, what: str, refuse: Callable[[str], RtsalesError]) -> None:
        total = max(0.0, (until - self._clock.now()).total_seconds())
        if not self._may_wait:
            raise refuse(f"--no-wait: not waiting {format_duration(total)}")
        if self._clock.frozen:
            raise refuse(f"the wait would be {format_duration(total)} and time is frozen (RTSALES_NOW)")
        if total > self._max_wait.total_seconds():
            raise refuse(f"the wait would be {format_duration(total)}, over KEEPA_MAX_WAIT_MINUTES")
        done = 0.0
        while True:
            if self._on_wait:
                self._on_wait(what, done, total)
            if done >= total:
                break
            step = min(WAIT_STEP_SECONDS, total - done)
            self._clock.sleep(step)
            done += step
            if self._heartbeat:
                self._heartbeat()
        self.waited_seconds += total

def cooldown_error(until: datetime, why: str, now: datetime) -> KeepaCooldownError:
    return KeepaCooldownError(f"Keepa is cooling down after NOT_ENOUGH_TOKEN until {show_instant(until, now)}; {why}",
                              until=iso(until), hint="no Keepa call is made before then; cron will try again")


def _refusal(decision: Decision, endpoint: str, why: str) -> InsufficientTokensError:
    return InsufficientTokensError(
        f"Keepa /{endpoint} (cost {decision.cost}) not sent: {why}",
        current_balance=decision.balance, required_tokens=decision.cost, endpoint=endpoint,
        deficit=decision.deficit,
        hint="cron will try again; see `rtsales keepa balance`, or change KEEPA_POLICY and its thresholds")
