"""Ingest benchmark: a report document of 10k, 100k and 1M rows into vendor_realtime_sales.

    .venv/bin/python bench/ingest.py [--sizes 10k,100k,1m] [--runs 5] [--code PATH]

For each size, each run starts two fresh processes, in alternating order:

* rtsales: what the sync engine does once a document is downloaded (gzip bytes in
  memory): stash it, then parse and apply it (`read_sales_document` + `apply_window`,
  one transaction, audit digests included) into a new database whose ledger holds the
  window as REQUESTED with its report. Timed from the stash to the commit.
* raw: the ceiling. The same rows, already built as tuples outside the timing, go in
  with one `sqlite3` `executemany` in one transaction (same table, same pragmas).

Peak memory is the rtsales child's peak resident set (VmHWM, see common.peak_rss_kb)
at its end, interpreter and imports included; `base` is the same figure just before
the timed part. Documents are
generated once (deterministic) under bench/.data/. `--code PATH` runs the children
against another checkout (e.g. a `git worktree` of an older commit) for before/after.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import child, data_dir, machine, median, peak_rss_kb, table  # noqa: E402

SIZES = {"10k": (20, 500), "100k": (20, 5_000), "1m": (20, 50_000)}  # hours x ASINs
MP = "ATVPDKIKX0DER"
START_TEXT = "2026-03-01T00:00:00Z"
INSERT = "INSERT INTO vendor_realtime_sales VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def document_path(label: str) -> Path:
    """The cached gzip document for a size, generated on first use."""
    path = data_dir() / f"document-{label}.json.gz"
    if not path.exists():
        hours, asins = SIZES[label]
        path.write_bytes(gzip.compress(json.dumps(_document(hours, asins)).encode(), mtime=0))
    return path


def _document(hours: int, asins: int) -> dict[str, Any]:
    """Amazon's layout (as the simulator writes it): every ASIN in every hour, some zero or negative."""
    from rtsales.clock import HOUR, iso, parse_instant
    start, rng, rows = parse_instant(START_TEXT), random.Random(42), []
    for h in range(hours):
        begin, end = iso(start + h * HOUR), iso(start + (h + 1) * HOUR)
        for a in range(asins):
            units = rng.randint(-2, 9)
            rows.append({"startTime": begin, "endTime": end, "asin": f"B0{a:08d}", "orderedUnits": units,
                         "orderedRevenue": round(units * rng.uniform(3, 200), 2)})
    return {"reportSpecification": {"reportType": "GET_VENDOR_REAL_TIME_SALES_REPORT", "dataStartTime": iso(start),
                                    "dataEndTime": iso(start + hours * HOUR), "marketplaceIds": [MP],
                                    "reportOptions": {"currencyCode": "USD"}},
            "reportData": rows}


# -- the children ---------------------------------------------------------------------------------

def _fresh_db(folder: Path, label: str) -> tuple[Any, Any, Any]:
    """A new store whose ledger holds the document's window REQUESTED with report R1."""
    from rtsales.clock import parse_instant
    from rtsales.sync.ledger import Window, attach_report, claim
    from rtsales.store import open_db, transaction
    start = parse_instant(START_TEXT)
    window, now = Window(MP, start, SIZES[label][0], "sales"), start + timedelta(days=2)
    db = open_db(folder / "ingest.db")
    with transaction(db) as conn:
        conn.executemany("INSERT INTO vendor_rt_sales_hour_ledger (marketplace_id, hour_utc, status, updated_at) "
                         "VALUES (?, ?, 'MISSING', ?)", [(MP, key, START_TEXT) for key in window.keys()])
        claim(conn, window, now)
        attach_report(conn, window, "R1", now)
    return db, window, now


def child_rtsales(label: str, folder: Path) -> dict[str, Any]:
    from rtsales.sync.ingest import apply_window, stash_document
    from rtsales.sync.ledger import HourStatus
    raw = document_path(label).read_bytes()
    db, window, now = _fresh_db(folder, label)
    base = peak_rss_kb()
    started = time.perf_counter()
    try:
        from rtsales.amazon.parse import read_sales_document
    except ImportError:  # an older checkout (--code): parse the whole document first, as it did
        from rtsales.amazon.client import gunzip
        from rtsales.amazon.parse import parse_sales_document
        document: Any = parse_sales_document(gunzip(raw, 1 << 30), MP, window.start, window.end)
        stash_document(db, window, "R1", raw, now)
    else:
        stash_document(db, window, "R1", raw, now)
        document = read_sales_document(raw, MP, window.start, window.end)
    result = apply_window(db, window, "R1", document, HourStatus.DOWNLOADED, now)
    seconds = time.perf_counter() - started
    import rtsales
    return {"rows": result.rows_written, "seconds": seconds, "base_kb": base,
            "peak_kb": peak_rss_kb(), "code": rtsales.__file__}


def child_raw(label: str, folder: Path) -> dict[str, Any]:
    from rtsales.store import open_db
    data = json.loads(gzip.decompress(document_path(label).read_bytes()))
    rows = [(MP, r["asin"], r["startTime"], r["orderedUnits"], float(r["orderedRevenue"]), "USD", "R1",
             "2026-03-03T00:00:00Z") for r in data["reportData"]]
    del data
    path = folder / "raw.db"
    open_db(path).conn.close()  # the same schema and journal mode
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = NORMAL")  # as open_db sets it
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(INSERT, rows)
    conn.execute("COMMIT")
    return {"rows": len(rows), "seconds": time.perf_counter() - started}


# -- the parent -----------------------------------------------------------------------------------

def measure(label: str, runs: int, env: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    child(Path(__file__), ["--child", "document", "--size", label])  # generated outside this small parent
    results: dict[str, list[dict[str, Any]]] = {"rtsales": [], "raw": []}
    for run in range(runs):
        for mode in (("rtsales", "raw") if run % 2 == 0 else ("raw", "rtsales")):
            results[mode].append(child(Path(__file__), ["--child", mode, "--size", label], env))
    return results


def report(measured: dict[str, dict[str, list[dict[str, Any]]]], runs: int) -> str:
    rows = []
    for label, results in measured.items():
        ours, raw = (median([r["seconds"] for r in results[m]]) for m in ("rtsales", "raw"))
        n = results["rtsales"][0]["rows"]
        peak = median([r["peak_kb"] for r in results["rtsales"]]) / 1024
        base = median([r["base_kb"] for r in results["rtsales"]]) / 1024
        rows.append([label, f"{n:,}", f"{ours:.3f}", f"{n / ours:,.0f}", f"{raw:.3f}", f"{n / raw:,.0f}",
                     f"{raw / ours:.2f}", f"{peak:.0f} (base {base:.0f})"])
    headers = ["document", "rows", "rtsales s", "rtsales rows/s", "raw s", "raw rows/s", "rtsales / raw speed",
               "rtsales peak RSS MB"]
    return f"Medians of {runs} runs. {machine()}\n\n" + table(headers, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10k,100k,1m")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--code", type=Path, help="run the children against this checkout instead")
    parser.add_argument("--child", choices=("rtsales", "raw", "document"), help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "document":
        print(json.dumps({"path": str(document_path(args.size))}))
        return
    if args.child:
        with tempfile.TemporaryDirectory(dir=data_dir()) as folder:
            work = child_rtsales if args.child == "rtsales" else child_raw
            print(json.dumps(work(args.size, Path(folder))))
        return
    env = {"PYTHONPATH": str(args.code.resolve())} if args.code else {}
    measured = {label: measure(label, args.runs, env) for label in args.sizes.split(",")}
    print(f"Code under test: {Path(measured[next(iter(measured))]['rtsales'][0]['code']).parent}")
    print(report(measured, args.runs))


if __name__ == "__main__":
    main()
