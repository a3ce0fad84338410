"""One sync cycle: cooldown check -> leases -> seed (and due audits) -> resume -> create -> poll -> release.

Leases are per marketplace; the work is per lane, one report kind of one marketplace
(`kinds`, REPORT_TYPES by default). Each kind's limits (its schema's newest hour, oldest
hour and window size) shape its lanes' plans; nothing else here depends on the kind.

Any 429 anywhere stops every SP-API call at once: the cooldown is persisted,
unfinished hours stay claimable (or REQUESTED with their report) and the run ends.
Every step on a marketplace, and every SP-API call for it, first extends its lease
(`_hold`); a lease another process took over drops that marketplace for the rest of
the run (lock_lost) with nothing more sent or written for it, and the others go on.
An error, Ctrl-C or SIGTERM after the first lease releases every lease.
With a frozen clock (RTSALES_NOW) nothing waits: the run does what this instant
allows and leaves the rest to the next cron run. What the run spends createReport on
is the scheduler's answer (`rtsales.sync.scheduler`); the engine has no rules of its
own. A run with nothing to do (nothing in flight, nothing the scheduler wants: e.g.
between two live refreshes) builds no SP-API client and never imports httpx or
tenacity, so it stays cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database

from rtsales import lock
from rtsales.clock import HOUR, Clock, format_duration, iso, parse_hour, show_instant
from rtsales.config import Settings
from rtsales.errors import AuthError, LockLostError, SpApiQuotaError
from rtsales.quota import (SPAPI_PLANS, OutOfTokens, Pacer, active_cooldown, record_success, remember_access_error,
                           start_cooldown)
from rtsales.redaction import redact
from rtsales.store import transaction
from rtsales.sync import audits, caps, runs, scheduler, skew
from rtsales.sync.ledger import (HourStatus, LedgerConflict, expire_aged, far_retries, give_back, in_flight,
                                 is_claimable, lane_key, ledger_counts, newest_held_hour, prune_unfetched, seed,
                                 window_of)
from rtsales.sync.reach import Reach
from rtsales.sync.results import MarketplaceOutcome, SyncResult
from rtsales.sync.windows import WindowWorker

if TYPE_CHECKING:
    import httpx

    from rtsales.amazon.client import SpApiClient

log = logging.getLogger(__name__)
SPAPI = "spapi"
POLL_INTERVAL = timedelta(seconds=30)


class SyncRun:
    def __init__(self, db: Database, settings: Settings, clock: Clock,
                 transport: httpx.BaseTransport | None = None, *, command: str = "sync",
                 marketplaces: tuple[str, ...] | None = None, cron_audits: bool = True,
                 prepare: Callable[[SyncRun], None] | None = None,
                 on_progress: Callable[[], None] | None = None, focus: set[str] | None = None,
                 kinds: tuple[str, ...] | None = None):
        self.db, self.settings, self.clock = db, settings, clock
        self.transport, self.command, self.owner = transport, command, lock.owner_name(command)
        self.marketplaces = marketplaces or settings.marketplace_ids
        self.kinds = kinds or settings.report_types
        self.cron_audits = cron_audits
        self.prepare, self.on_progress = prepare, on_progress  # operator commands: re-open hours, show progress
        self.focus = focus  # fill-day: spend this run's quota on these hours only
        self.ttl = timedelta(minutes=settings.lock_ttl_minutes)
        self.result = SyncResult(started_at=iso(clock.now()))
        self.deadline = clock.now() + timedelta(seconds=settings.run_budget_seconds)
        self.reach = Reach(settings, self.deadline, fill=focus is not None)
        self.leased: dict[str, MarketplaceOutcome] = {}
        self._loaded_caps: dict[str, int] = {}
        self._spapi: SpApiClient | None = None
        self._worker: WindowWorker | None = None

    # -- the cycle ----------------------------------------------------------------------------

    def run(self) -> SyncResult:
        """One run, recorded in the run history from its start to its end (or its error)."""
        with runs.recorded(self.db, self.clock, self.command, self.owner, self.result.summary):
            self.settings.require_spapi()
            return self._run()

    def _run(self) -> SyncResult:
        if self._cooling_down():
            return self.result
        try:  # from the first lease on: KeyboardInterrupt is Ctrl-C, and SIGTERM (errors.Terminated) too
            self._cycle()
        except SpApiQuotaError as exc:
            self._on_quota(exc)
        except AuthError as exc:  # credentials or role refused: remembered for status until a run succeeds
            self._wind_down()
            self._remember_access_error(exc)
            raise
        except (Exception, KeyboardInterrupt):
            self._wind_down()
            raise
        self._wind_down()
        if not self.result.quota_hit and self.result.calls:
            record_success(self.db, SPAPI)
            self._remember_access_error(None)
        return self._finish()

    def _cycle(self) -> None:
        self._lease_all()
        if not self.leased:
            self.result.skipped = "lock_busy"
            return
        if not self._prepare():  # the common cron run: nothing to do, so no client and no request
            return
        learned = self._learned_caps()
        self._spapi = self._client()
        self._worker = WindowWorker(self.db, self._spapi, self.clock, learned,
                                    timedelta(hours=self.settings.settle_hours), lease=self._hold)
        self._work(self._worker)

    def _lanes(self) -> list[tuple[str, str]]:
        """(kind, marketplace) of every leased marketplace, kind by kind."""
        return [(kind, mp) for mp in self.leased for kind in self.kinds]

    def _prepare(self) -> bool:
        """Seed the ledger; True if there is SP-API work."""
        self._seed_all()
        if self.prepare:  # operator commands re-open hours here, under the leases
            self.prepare(self)
        return self._has_work()

    def _seed_all(self) -> None:
        """Seed the wanted hours, retire the ones Amazon no longer serves, forget unfetched ones out of reach."""
        now = self.clock.now()
        for kind, mp in self._lanes():
            with transaction(self.db) as conn:
                seed(conn, mp, now, self.reach.oldest(now, kind), self.reach.lag(kind), kind=kind)
                expire_aged(conn, mp, self.reach.fetchable(now, kind), now, self.reach.age_reason(kind), kind=kind)
                prune_unfetched(conn, mp, self.reach.oldest(now, kind), kind=kind)
                if far := far_retries(conn, mp, now, kind=kind):
                    log.warning("%s %s: %d FAILED hour(s) retry more than the backoff cap from now (%s): claimable "
                                "now; clock set back?", kind, mp, far, iso(now))
        if self.cron_audits:
            self._start_due_audits()

    def _has_work(self) -> bool:
        """Any lane with an hour in flight, or anything the scheduler wants now."""
        interval = self.live_interval()
        return any(in_flight(self.db.conn, mp, kind=kind) or self._plan(kind, mp, interval)
                   for kind, mp in self._lanes())

    def _plan(self, kind: str, mp: str, live_interval: timedelta) -> list[scheduler.Job]:
        now = self.clock.now()
        horizon = scheduler.Horizon(kind, now, self.reach.oldest(now, kind), self.reach.newest(now, kind),
                                    timedelta(hours=self.settings.settle_hours), self.reach.max_hours(kind))
        return scheduler.plan(self.db.conn, mp, horizon, focus=self.focus,
                              live=scheduler.live_due(self.db, lane_key(kind, mp), now, live_interval))

    def live_interval(self) -> timedelta:
        """LIVE_REFRESH_MINUTES, or slower for every lane alike when the budget is short."""
        settings = self.settings
        return scheduler.live_interval(settings.live_refresh_minutes, settings.lanes,
                                       scheduler.create_rate(self.db), settings.quota_budget_percent)

    def _audit_kinds(self) -> list[str]:
        if not self.cron_audits:
            return []
        enabled = {"daily": self.settings.daily_audit_enabled, "weekly": self.settings.weekly_audit_enabled}
        return [kind for kind, on in enabled.items() if on]

    def _work(self, worker: WindowWorker) -> None:
        self._phase("resume", lambda: self._resume_all(worker))
        self._phase("create", lambda: self._create_all(worker))
        self._poll_until_deadline(worker)

    def _phase(self, name: str, body: Any) -> None:
        try:
            body()
        except OutOfTokens as exc:
            log.info("%s phase paused: %s", name, exc)
            self.result.out_of_tokens.append(exc.operation)

    # -- phases ---------------------------------------------------------------------------------

    def _resume_all(self, worker: WindowWorker) -> None:
        for kind, mp in self._lanes():
            if mp not in self.leased:  # lost earlier in this pass
                continue
            for report_id, status, keys in in_flight(self.db.conn, mp, kind=kind):
                if report_id is None:  # claimed by a run that died before createReport answered
                    step = partial(self._unclaim, kind, mp, keys)
                else:
                    step = partial(worker.resume, window_of(mp, keys, kind=kind), report_id, HourStatus(status),
                                   self.leased[mp].tally)
                if not self._step(mp, step):
                    break

    def _unclaim(self, kind: str, mp: str, keys: list[str]) -> None:
        with transaction(self.db) as conn:
            give_back(conn, mp, keys, HourStatus.REQUESTED, HourStatus.MISSING, self.clock.now(), kind=kind)

    def _create_all(self, worker: WindowWorker) -> None:
        """Spend createReport in the scheduler's priority order, round-robin within each level. The
        pacer stops it (OutOfTokens) when the budget is spent: what is left waits for a later run."""
        interval = self.live_interval()
        lanes = {lane_key(kind, mp): (kind, mp) for kind, mp in self._lanes()}
        plans = {lane: self._plan(*lanes[lane], interval) for lane in scheduler.fair_order(self.db, lanes)}
        for purpose in scheduler.PRIORITY:
            self._round_robin(worker, {lane: [job for job in jobs if job.purpose == purpose]
                                       for lane, jobs in plans.items()})

    def _round_robin(self, worker: WindowWorker, queues: dict[str, list[scheduler.Job]]) -> None:
        """Create these jobs' reports, one lane after another."""
        while any(queues.values()):  # round-robin so one lane cannot starve the others
            for lane in list(queues):
                if not queues[lane] or queues[lane][0].window.marketplace_id not in self.leased:  # done, or lost
                    queues.pop(lane)
                    continue
                job = queues[lane].pop(0)
                mp = job.window.marketplace_id
                if not is_claimable(self.db.conn, job.window, self.clock.now(), job.refetch):  # retired meanwhile
                    continue
                cap = worker.learned_caps.get(lane, job.window.hours)
                if job.window.hours > cap:  # learned during this run: never send a size Amazon refused
                    queues[lane][:0] = job.pieces(cap)
                    continue
                if not self._step(mp, partial(self._create, worker, job)):
                    queues.pop(lane)

    def _create(self, worker: WindowWorker, job: scheduler.Job) -> None:
        window = job.window
        if worker.create(window, self.leased[window.marketplace_id].tally, job.refetch) and job.live:
            scheduler.record_live(self.db, window.lane, self.clock.now())

    def _start_due_audits(self) -> None:
        now = self.clock.now()
        for report_kind, mp in self._lanes():
            for kind in self._audit_kinds():
                if audits.is_due(self.db, mp, kind, now, report_kind=report_kind) and self._refresh(mp):
                    started = self.start_audit(mp, kind, report_kind, now)
                    self.result.audits.append({"kind": kind, "report_kind": report_kind, "marketplace_id": mp,
                                               "hours": started.hours})

    def start_audit(self, mp: str, kind: str, report_kind: str, now: datetime) -> audits.AuditStart:
        """Mark a `kind` (daily, weekly) audit's hours of one lane for re-fetching."""
        keys = audits.audit_hours(kind, self.reach.newest(now, report_kind), self.settings.audit_daily_hours,
                                  self.reach.oldest(now, report_kind))
        return audits.start_audit(self.db, mp, kind, keys, now, report_kind=report_kind)

    def _poll_until_deadline(self, worker: WindowWorker) -> None:
        if self.clock.frozen:
            return
        deadline = self.deadline
        while self.clock.now() + POLL_INTERVAL < deadline and self._anything_in_flight():
            reports = sum(len(in_flight(self.db.conn, mp, kind=kind)) for kind, mp in self._lanes())
            log.debug("waiting %s for %d report(s) Amazon is still preparing",
                      format_duration(POLL_INTERVAL.total_seconds()), reports)
            self.clock.sleep(POLL_INTERVAL.total_seconds())
            self._phase("resume", lambda: self._resume_all(worker))
            if self.on_progress:
                self.on_progress()

    # -- leases, quota, bookkeeping -------------------------------------------------------------

    def _cooling_down(self) -> bool:
        cooldown = active_cooldown(self.db, SPAPI, self.clock.now(), self._longest_cooldown())
        if cooldown:
            self.result.skipped = "cooldown"
            self.result.cooldown_until = iso(cooldown.until)
        return cooldown is not None

    def _lease_all(self) -> None:
        for mp in self.marketplaces:
            got = lock.acquire(self.db, mp, self.owner, self.clock.now(), self.ttl)
            outcome = MarketplaceOutcome(mp, stolen_from=got.stolen_from)
            if got.acquired:
                self.leased[mp] = outcome
            else:
                outcome.state, outcome.holder = "lock_busy", f"{got.holder} until {got.expires_at}"
            self.result.marketplaces.append(outcome)

    def _hold(self, mp: str) -> None:
        """The lease check before every step on mp and every SP-API call for it (the client's guard):
        extend our lease, or raise LockLostError once another process has it. mp is then dropped
        for the rest of the run: nothing more is sent or written for it."""
        if mp not in self.leased:
            raise LockLostError(f"lost the worker lock for {mp} earlier in this run")
        try:
            lock.refresh(self.db, mp, self.owner, self.clock.now(), self.ttl)
        except LockLostError:
            log.warning("lost the lock for %s; leaving it to its new owner", mp)
            self.leased.pop(mp).state = "lock_lost"
            raise

    def _refresh(self, mp: str) -> bool:
        """_hold as a question: True while mp is ours."""
        try:
            self._hold(mp)
        except LockLostError:
            return False
        return True

    def _step(self, mp: str, body: Callable[[], object]) -> bool:
        """One step of work on mp (a window, a claim handed back) under its lease; False once it is
        lost. A LedgerConflict on a marketplace we no longer hold is the new owner's doing."""
        if not self._refresh(mp):
            return False
        try:
            body()
        except LockLostError:  # _hold raised it and dropped mp
            return False
        except LedgerConflict:
            if self._refresh(mp):
                raise  # our own lease: a real conflict
            return False
        return True

    def _wind_down(self) -> None:
        # Deliberately not in a `finally`: a killed process runs no cleanup either, and
        # the ledger must not depend on it (tests simulate kills with a BaseException).
        if self._spapi is not None:
            self.result.calls = dict(self._spapi.calls)
            if self._spapi.clock_skew_seconds is not None:  # the latest answer's offset: one write per run
                skew.save(self.db, self._spapi.clock_skew_seconds, self.clock.now())
            self._spapi.close()
        if self._worker is not None:
            caps.save(self.db, self._worker.learned_caps, self._loaded_caps, self.clock.now())
        self._release_all()

    def _release_all(self) -> None:
        for mp in list(self.leased):
            lock.release(self.db, mp, self.owner)

    def _longest_cooldown(self) -> timedelta:
        return timedelta(minutes=self.settings.quota_cooldown_max_minutes)

    def _on_quota(self, exc: SpApiQuotaError) -> None:
        base = timedelta(minutes=self.settings.quota_cooldown_minutes)
        cooldown = start_cooldown(self.db, SPAPI, self.clock.now(), base, self._longest_cooldown())
        self.result.quota_hit = exc.message
        self.result.cooldown_until = iso(cooldown.until)
        log.warning("SP-API 429: all SP-API calls stop until %s", show_instant(cooldown.until, self.clock.now()))

    def _client(self) -> SpApiClient:
        from rtsales.amazon.client import SpApiClient  # httpx and tenacity: only for a run with work

        share = 1.0 if self.focus is not None else self.settings.quota_budget_percent / 100  # fill-day: whole plan
        pacer = Pacer(self.db, self.clock, self.deadline, SPAPI_PLANS, on_wait=self._refresh_all, share=share,
                      longest_cooldown=self._longest_cooldown())
        return SpApiClient(self.settings, self.clock, self.transport, pacer=pacer, guard=self._hold)

    def _refresh_all(self) -> None:
        for mp in list(self.leased):
            self._refresh(mp)

    def _anything_in_flight(self) -> bool:
        return any(in_flight(self.db.conn, mp, kind=kind) for kind, mp in self._lanes())

    def _learned_caps(self) -> dict[str, int]:
        self._loaded_caps = caps.load(self.db, self.clock.now())
        return dict(self._loaded_caps)

    def _remember_access_error(self, exc: AuthError | None) -> None:
        text = None if exc is None else redact(f"{exc.message} ({exc.hint})" if exc.hint else exc.message)
        remember_access_error(self.db, text, self.clock.now())

    def _finish(self) -> SyncResult:
        now = self.clock.now()
        for outcome in self.result.marketplaces:
            for kind in self.kinds:
                counts = ledger_counts(self.db.conn, outcome.marketplace_id, kind=kind)
                newest = newest_held_hour(self.db.conn, outcome.marketplace_id, kind=kind)
                age = None if newest is None else int((now - parse_hour(newest) - HOUR).total_seconds() // 60)
                outcome.kinds[kind] = {"ledger": counts, "newest_age_minutes": age}
                for state, n in counts.items():
                    outcome.ledger[state] = outcome.ledger.get(state, 0) + n
            outcome.newest_age_minutes = outcome.kinds[self.kinds[0]]["newest_age_minutes"]
        return self.result


