"""Moving one window through its report's life: create, poll, download, apply, fail.

Each step is a guarded ledger transition. A 429 (SpApiQuotaError), no access
token from Login with Amazon (LoginError, AuthError for rejected credentials: no
window can succeed) and running out of paced tokens (OutOfTokens) propagate to the
engine untouched; any other error on a window is recorded on that window's hours and
does not stop others. Every SP-API call is made under the marketplace's lease: the
client asks it before each attempt, `_ask` once the call is over, and a lost lease
(LockLostError) propagates with nothing more sent or written for that marketplace.
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import TYPE_CHECKING, TypeVar

from sqlite_utils import Database

from rtsales.amazon.document import ReportStream, read_document
from rtsales.amazon.parse import describe_error_document
from rtsales.clock import Clock, iso, parse_instant
from rtsales.errors import (DocumentExpiredError, LockLostError, LoginError, ReportParseError, SpApiError,
                            SpApiQuotaError)
from rtsales.kinds import KINDS
from rtsales.redaction import redact
from rtsales.store import transaction
from rtsales.sync.ingest import apply_window, discard_stash, stash_document, stashed_document
from rtsales.sync.ledger import (LANE, LEDGER, HourStatus, Window, attach_report, backoff, claim, expire_aged,
                                 give_back)

if TYPE_CHECKING:
    from rtsales.amazon.client import SpApiClient

log = logging.getLogger(__name__)
S = HourStatus
ENDS_THE_RUN = (SpApiQuotaError, LoginError)  # not one window's problem: stop every SP-API call
STUCK_AFTER = timedelta(hours=2)
T = TypeVar("T")


@dataclass
class Tally:
    """What happened to one marketplace in this run."""

    reports_created: int = 0
    hours_applied: int = 0
    rows_written: int = 0
    hours_failed: int = 0
    hours_changed: int = 0
    hours_inconclusive: int = 0  # a CANCELLED re-fetch kept the rows these hours had
    hours_unavailable: int = 0
    errors: list[str] = field(default_factory=list)


class WindowWorker:
    def __init__(self, db: Database, client: SpApiClient, clock: Clock, learned_caps: dict[str, int],
                 settle: timedelta, *, lease: Callable[[str], None]):
        self.db, self.client, self.clock = db, client, clock
        self.lease = lease  # holds (extends) a marketplace's lease, or raises LockLostError: the client's guard too
        self.learned_caps = learned_caps  # Window.lane -> the window size Amazon accepted
        self.settle = settle  # an answer fetched this long after an hour's end is final

    # -- create ---------------------------------------------------------------------------

    def create(self, window: Window, tally: Tally, refetch: bool = False) -> str | None:
        """Claim the window and create its report; release the claim if Amazon said no.

        A re-fetch (`refetch`) may claim APPLIED hours: they keep their rows meanwhile."""
        now = self.clock.now()
        with transaction(self.db) as conn:
            claim(conn, window, now, refetch)
        try:
            report_id = self._ask(window.marketplace_id, lambda: self.client.create_report(
                window.marketplace_id, window.start, window.end, report_type=KINDS[window.kind].report_type))
        except ENDS_THE_RUN:
            self._release(window)
            raise
        except SpApiError as exc:
            self._create_failed(window, exc, tally)
            return None
        except (Exception, KeyboardInterrupt):
            self._release(window)
            raise
        with transaction(self.db) as conn:
            attach_report(conn, window, report_id, now)
        tally.reports_created += 1
        return report_id

    def _ask(self, marketplace_id: str, call: Callable[[], T]) -> T:
        """An SP-API call whose outcome is handed back only while the lease still holds: a call that
        outlived it (a stall, a host asleep) records nothing, answer or refusal. A 429 or a failed
        login ends the run instead, whoever holds the lease."""
        try:
            answer = call()
        except ENDS_THE_RUN:
            raise
        except (SpApiError, ReportParseError):
            self.lease(marketplace_id)
            raise
        self.lease(marketplace_id)
        return answer

    def _release(self, window: Window) -> None:
        """Hand an unanswered claim back (MISSING). Not once the lease is gone: the hours may be the new
        owner's claim by now, and it hands ours back itself, as after a kill."""
        try:
            self.lease(window.marketplace_id)
        except LockLostError:
            return
        with transaction(self.db) as conn:
            give_back(conn, window.marketplace_id, window.keys(), S.REQUESTED, S.MISSING, self.clock.now(),
                      kind=window.kind)

    def _create_failed(self, window: Window, exc: SpApiError, tally: Tally) -> None:
        refusal = classify_refusal(exc.message) if exc.status == 400 else Refusal.OTHER
        if refusal is Refusal.TOO_LONG and window.hours > 1:  # a hypothesis, re-probed a day later
            self.learned_caps[window.lane] = max(1, window.hours // 2)
            self.fail(window, S.REQUESTED, exc.message, tally, split=True, immediate=True, count_attempt=True)
        elif refusal is Refusal.TOO_OLD:
            self.too_old(window, S.REQUESTED, exc.message, tally)
        else:  # a generic 400, a clock ahead of Amazon's, any other refusal: no cap is learned from it
            self.fail(window, S.REQUESTED, exc.message, tally, count_attempt=True)

    def too_old(self, window: Window, status: HourStatus, error: str, tally: Tally) -> None:
        """Amazon refused the window for its age. Every hour older than its start is older still:
        those become UNAVAILABLE (terminal) at once, without a request. The window itself is halved
        until the hours it refuses stand alone, and they become UNAVAILABLE too."""
        now, error = self.clock.now(), redact(error)
        with transaction(self.db) as conn:
            tally.hours_unavailable += expire_aged(conn, window.marketplace_id, window.start, now,
                                                   f"older than a window Amazon refused: {error}", kind=window.kind)
        if window.hours > 1:
            self.fail(window, status, error, tally, split=True, immediate=True, count_attempt=True)
            return
        with transaction(self.db) as conn:  # an hour we hold keeps its rows: they are all Amazon will give
            if give_back(conn, window.marketplace_id, window.keys(), status, S.UNAVAILABLE, now, kind=window.kind,
                         last_error=error[:500], next_retry_utc=None, audit_run_id=None):
                conn.execute(f"UPDATE {LEDGER} SET data_state = 'final' WHERE {LANE} AND hour_utc = ?",
                             [window.kind, window.marketplace_id, window.keys()[0]])
        log.warning("%s %s %s: Amazon no longer serves this hour: %s", window.kind, window.marketplace_id,
                    iso(window.start), error)
        tally.hours_unavailable += 1

    # -- poll / download / apply ----------------------------------------------------------------

    def resume(self, window: Window, report_id: str, status: HourStatus, tally: Tally) -> None:
        """Advance an in-flight window by its stored report_id."""
        try:
            if status is S.DOWNLOADED:
                self._apply_stashed(window, report_id, tally)
            else:
                self._poll(window, report_id, tally)
        except (DocumentExpiredError, ReportParseError, SpApiError) as exc:
            if isinstance(exc, ENDS_THE_RUN):
                raise
            self._on_error(window, report_id, status, exc, tally)

    def _poll(self, window: Window, report_id: str, tally: Tally) -> None:
        mp = window.marketplace_id
        info = self._ask(mp, lambda: self.client.get_report(report_id, marketplace_id=mp))
        if info.status == "DONE" and info.document_id:
            self._download_and_apply(window, report_id, info.document_id, tally)
        elif info.status == "CANCELLED":  # Amazon cancels windows with no data at all
            self._apply(window, report_id, None, S.REQUESTED, tally)
        elif info.status == "FATAL":
            detail = self._error_document(mp, info.document_id)
            error = f"report {report_id} FATAL{': ' + detail if detail else ''}"
            if classify_refusal(detail) is Refusal.TOO_OLD:
                self.too_old(window, S.REQUESTED, error, tally)
            else:
                self.fail(window, S.REQUESTED, error, tally, split=True)
        elif self._stuck(window):
            self.fail(window, S.REQUESTED, f"report {report_id} still {info.status} after "
                      f"{STUCK_AFTER}", tally)

    def _download_and_apply(self, window: Window, report_id: str, document_id: str, tally: Tally) -> None:
        """Download, stash (DOWNLOADED), then stream the stashed gzip body into the table."""
        mp = window.marketplace_id
        document = self._ask(mp, lambda: self.client.get_report_document(document_id, marketplace_id=mp))
        raw = self._ask(mp, lambda: self.client.download_raw(document, marketplace_id=mp))
        body = raw if document.compression == "GZIP" else _gzip(raw)
        stash_document(self.db, window, report_id, body, self.clock.now())
        try:
            self._apply_gzip(window, report_id, body, tally)
        except ReportParseError as exc:  # the hours are DOWNLOADED now: fail them from there
            self._on_error(window, report_id, S.DOWNLOADED, exc, tally)

    def _apply_stashed(self, window: Window, report_id: str, tally: Tally) -> None:
        raw = stashed_document(self.db, report_id)
        if raw is None:
            raise ReportParseError(f"report {report_id}: downloaded document is missing from the store")
        self._apply_gzip(window, report_id, raw, tally)

    def _apply_gzip(self, window: Window, report_id: str, body: bytes, tally: Tally) -> None:
        stream = read_document(KINDS[window.kind], body, window.marketplace_id, window.start, window.end,
                               limit=self.client.max_document_bytes)
        self._apply(window, report_id, stream, S.DOWNLOADED, tally)

    def _apply(self, window: Window, report_id: str, document: ReportStream | None, expected: HourStatus,
               tally: Tally) -> None:
        result = apply_window(self.db, window, report_id, document, expected, self.clock.now(), self.settle)
        tally.hours_applied += result.hours
        tally.hours_inconclusive += result.hours_inconclusive
        tally.rows_written += result.rows_written
        tally.hours_changed += result.hours_changed

    def _error_document(self, mp: str, document_id: str | None) -> str:
        if not document_id:
            return ""
        try:
            document = self._ask(mp, lambda: self.client.get_report_document(document_id, marketplace_id=mp))
            return describe_error_document(self._ask(mp, lambda: self.client.download(document, marketplace_id=mp)))
        except (SpApiError, ReportParseError) as exc:
            if isinstance(exc, ENDS_THE_RUN):
                raise
            return f"(error document unavailable: {exc.message})"

    def _stuck(self, window: Window) -> bool:
        row = self.db.conn.execute(f"SELECT MIN(updated_at) FROM {LEDGER} WHERE {LANE} AND hour_utc = ?",
                                   [window.kind, window.marketplace_id, window.keys()[0]]).fetchone()
        return row[0] is not None and parse_instant(row[0]) + STUCK_AFTER <= self.clock.now()

    def _on_error(self, window: Window, report_id: str, status: HourStatus, exc: Exception,
                  tally: Tally) -> None:
        if isinstance(exc, DocumentExpiredError):
            log.info("report %s: document URL expired; fetching a fresh one next time", report_id)
            return
        if isinstance(exc, SpApiError) and exc.status == 404:
            log.info("report %s is gone; its hours will be requested again", report_id)
            with transaction(self.db) as conn:
                give_back(conn, window.marketplace_id, window.keys(), status, S.MISSING, self.clock.now(),
                          kind=window.kind)
            return
        message = exc.message if isinstance(exc, SpApiError | ReportParseError) else str(exc)
        self.fail(window, status, f"report {report_id}: {message}", tally)

    # -- failure ---------------------------------------------------------------------------------

    def fail(self, window: Window, status: HourStatus, error: str, tally: Tally, *, split: bool = False,
             immediate: bool = False, count_attempt: bool = False) -> None:
        """FAILED with the error and a retry time; a split halves the window these hours may join."""
        now = self.clock.now()
        error = redact(error)  # Amazon's error text is stored and shown: never with a credential in it
        attempts = self.db.conn.execute(
            f"SELECT MAX(attempts) FROM {LEDGER} WHERE {LANE} AND hour_utc = ?",
            [window.kind, window.marketplace_id, window.keys()[0]]).fetchone()[0] or 0
        attempts += int(count_attempt)
        retry = now if immediate else now + backoff(max(1, attempts))
        fields: dict[str, object] = {"last_error": error[:500], "next_retry_utc": iso(retry)}
        if split and window.hours > 1:
            fields["window_cap"] = max(1, window.hours // 2)
        if count_attempt:
            fields["attempts"] = 1  # transition() adds it
        with transaction(self.db) as conn:
            if status is S.DOWNLOADED:  # a stored document that cannot be applied is of no further use
                discard_stash(conn, window)
            held = give_back(conn, window.marketplace_id, window.keys(), status, S.FAILED, now, kind=window.kind,
                             **fields)
        log.warning("%s %s %s..%s FAILED: %s%s", window.kind, window.marketplace_id, iso(window.start),
                    iso(window.end), error,
                    f" ({len(held)} hour(s) keep the rows they had)" if held else "")
        tally.hours_failed += window.hours - len(held)
        tally.errors.append(error[:200])


class Refusal(Enum):
    TOO_LONG = "too_long"  # the window spans more hours than Amazon allows
    TOO_OLD = "too_old"  # the window starts earlier than Amazon serves
    FUTURE = "future"  # the window ends after Amazon's "now": our clock runs ahead
    OTHER = "other"


_REFUSALS = (  # first match wins; Amazon's wording is undocumented, so match its gist
    (Refusal.FUTURE, re.compile(r"in the future|not yet available|later than the current", re.I)),
    (Refusal.TOO_OLD, re.compile(r"out of range|too old|older than|before the time of the request|"
                                 r"too far in the past|retention", re.I)),
    (Refusal.TOO_LONG, re.compile(r"date range.*(exceed|too long|too large|maximum)|"
                                  r"(exceed|too long|too large).*(date range|hours|days)", re.I)),
)


def classify_refusal(message: str) -> Refusal:
    """What an error message says is wrong with a window, if anything in it is about the dates."""
    for refusal, pattern in _REFUSALS:
        if pattern.search(message or ""):
            return refusal
    return Refusal.OTHER


def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=1)
