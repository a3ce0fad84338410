"""apply_window with streamed documents: one transaction, duplicates refused, changed hours counted."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from datetime import datetime, timedelta

from rtsales.amazon import jsonstream
from rtsales.amazon.parse import read_sales_document
from rtsales.clock import HOUR, iso
from rtsales.errors import ReportParseError
from rtsales.store import open_db, transaction
from rtsales.sync.ingest import apply_window, stash_document
from rtsales.sync.ledger import HourStatus, Window, attach_report, claim, reopen, seed
from tests.conftest import at
from tests.test_parse import DOC

MP = "ATVPDKIKX0DER"
START = at("2026-03-10T00:00:00Z")
NOW = at("2026-03-11T12:07:00Z")
WINDOW = Window(MP, START, 3, "sales")
S = HourStatus
SETTLE = timedelta(hours=3)


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_db(tmp_path / "i.db")
    with transaction(database) as conn:
        seed(conn, MP, NOW, START, at("2026-03-11T12:07:00Z") - NOW, kind="sales")
    return database


def _rows(asins: int = 40, hours: int = WINDOW.hours) -> list[dict[str, Any]]:
    return [{"startTime": iso(START + h * HOUR), "endTime": iso(START + (h + 1) * HOUR), "asin": f"B0{a:08d}",
             "orderedUnits": a % 5, "orderedRevenue": round((a % 5) * 9.99, 2)}
            for h in range(hours) for a in range(asins)]


def _gz(rows: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"reportSpecification": DOC["reportSpecification"], "reportData": rows}).encode())


def _downloaded(db: Database, report_id: str, body: bytes, window: Window = WINDOW) -> None:
    """The window as the engine leaves it after a download: DOWNLOADED, body stashed."""
    with transaction(db) as conn:
        reopen(conn, MP, window.keys(), NOW, kind="sales")
        claim(conn, window, NOW)
        attach_report(conn, window, report_id, NOW)
    stash_document(db, window, report_id, body, NOW)


def _apply(db: Database, rows: list[dict[str, Any]], report_id: str = "R1", window: Window = WINDOW) -> Any:
    body = _gz(rows)
    _downloaded(db, report_id, body, window)
    stream = read_sales_document(body, MP, window.start, window.end)
    return apply_window(db, window, report_id, stream, S.DOWNLOADED, NOW, SETTLE)


def _stored(db: Database) -> list[tuple[Any, ...]]:
    return db.conn.execute("SELECT hour_utc, asin, ordered_units, ordered_revenue, report_id FROM vendor_realtime_sales "
                           "ORDER BY hour_utc, asin").fetchall()


def _statuses(db: Database) -> set[str]:
    marks = ",".join("?" * WINDOW.hours)
    return {s for (s,) in db.conn.execute(f"SELECT status FROM vendor_rt_sales_hour_ledger WHERE marketplace_id = ? "
                                          f"AND hour_utc IN ({marks})", [MP, *WINDOW.keys()])}


def test_streamed_window_is_written_and_applied(db: Database) -> None:
    result = _apply(db, _rows())
    assert (result.hours, result.rows_written, result.hours_changed) == (3, 120, 3)
    assert len(_stored(db)) == 120 and _statuses(db) == {"APPLIED"}
    assert db.conn.execute("SELECT COUNT(*) FROM vendor_rt_sales_documents").fetchone()[0] == 0


@pytest.mark.parametrize("problem", ["duplicate", "bad_last_row", "truncated"])
def test_a_bad_stream_rolls_back_every_row(db: Database, monkeypatch: pytest.MonkeyPatch, problem: str) -> None:
    _apply(db, _rows(), "R1")
    before = _stored(db)
    monkeypatch.setattr(jsonstream, "CHUNK", 512)  # many rows are inserted before the problem is met
    rows = [{**row, "orderedUnits": row["orderedUnits"] + 1} for row in _rows()]
    if problem == "duplicate":
        rows.append(dict(rows[-7]))
    elif problem == "bad_last_row":
        rows[-1]["orderedRevenue"] = "free"
    body = _gz(rows)[:-20] if problem == "truncated" else _gz(rows)
    _downloaded(db, "R2", body)
    stream = read_sales_document(body, MP, WINDOW.start, WINDOW.end)
    with pytest.raises(ReportParseError, match={"duplicate": "duplicate row", "bad_last_row": "orderedRevenue",
                                                "truncated": "truncated"}[problem]):
        apply_window(db, WINDOW, "R2", stream, S.DOWNLOADED, NOW, SETTLE)
    assert _stored(db) == before  # still the rows of R1
    assert _statuses(db) == {"DOWNLOADED"}


def test_changed_hours_are_counted_whatever_the_row_order(db: Database) -> None:
    _apply(db, _rows(), "R1")
    same = _rows()
    random.Random(3).shuffle(same)
    assert _apply(db, same, "R2").hours_changed == 0
    revised = _rows()
    revised[5]["orderedRevenue"] = round(revised[5]["orderedRevenue"] + 1.5, 2)  # hour 0: revenue revised
    del revised[45]  # hour 1: an ASIN vanished (units 0)
    revised[100]["orderedUnits"] += 2  # hour 2: units and revenue revised
    revised[100]["orderedRevenue"] = round(revised[100]["orderedRevenue"] + 20.0, 2)
    result = _apply(db, revised, "R3")
    assert result.hours_changed == 3
    assert (result.units_delta, result.revenue_delta) == (2, 21.5)
    swapped = [dict(row) for row in revised]
    swapped[0]["asin"], swapped[1]["asin"] = swapped[1]["asin"], swapped[0]["asin"]  # same sums, other rows
    assert _apply(db, swapped, "R4").hours_changed == 1


def _cancelled(db: Database, report_id: str, at_time: datetime = NOW) -> Any:
    """A CANCELLED answer to a fetch of WINDOW requested at `at_time` (REQUESTED -> APPLIED, no document)."""
    with transaction(db) as conn:
        reopen(conn, MP, WINDOW.keys(), at_time, kind="sales")
        claim(conn, WINDOW, at_time)
        attach_report(conn, WINDOW, report_id, at_time)
    return apply_window(db, WINDOW, report_id, None, S.REQUESTED, at_time, SETTLE)


def _grades(db: Database) -> list[tuple[str, str, int]]:
    return db.conn.execute("SELECT status, data_state, inconclusive FROM vendor_rt_sales_hour_ledger "
                           "WHERE marketplace_id = ? AND hour_utc >= ? AND hour_utc < ? ORDER BY hour_utc",
                           [MP, iso(WINDOW.start), iso(WINDOW.end)]).fetchall()


def test_cancelled_refetch_keeps_every_stored_row_and_marks_it_inconclusive(db: Database) -> None:
    _apply(db, _rows(), "R1")
    stored = _stored(db)
    result = _cancelled(db, "R2")
    assert _stored(db) == stored and len(stored) == 120  # nothing deleted, nothing replaced
    assert (result.rows_written, result.hours_changed, result.hours_inconclusive) == (0, 0, 3)
    assert _grades(db) == [("APPLIED", "final", 1)] * 3
    _apply(db, _rows(), "R3")  # a real answer later clears the mark
    assert _grades(db) == [("APPLIED", "final", 0)] * 3


def test_first_empty_answer_is_provisional_until_a_settled_fetch_confirms_it(db: Database) -> None:
    _cancelled(db, "R1", WINDOW.end)  # asked right after the hours ended: provisional
    assert _grades(db) == [("APPLIED", "provisional", 0)] * 3
    _cancelled(db, "R2", NOW)  # asked again after they settled: the empty answer is confirmed
    assert _grades(db) == [("APPLIED", "final", 0)] * 3 and _stored(db) == []


def test_an_empty_first_answer_after_settling_is_still_only_provisional(db: Database) -> None:
    _cancelled(db, "R1", NOW)  # a gap fill of old hours: one CANCELLED may be a throttling cancel
    assert _grades(db) == [("APPLIED", "provisional", 0)] * 3


def test_values_swapped_between_rows_change_the_hour_whatever_the_hash_seed(db: Database) -> None:
    # Summed tuple hashes miss about one such swap in eight; 24 hours, 24 swaps, all must be seen.
    day = Window(MP, START, 24, "sales")
    _apply(db, _rows(hours=24), "R1", day)
    swapped = _rows(hours=24)
    for hour in range(24):
        first, second = swapped[hour * 40 + hour % 5], swapped[hour * 40 + 5 + (hour + 1) % 5]
        first["asin"], second["asin"] = second["asin"], first["asin"]
    assert _apply(db, swapped, "R2", day).hours_changed == 24
