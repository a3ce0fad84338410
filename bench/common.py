"""Shared bits of the benchmarks: where their data lives, the machine, medians, child processes.

Benchmarks are scripts, not tests: run them with the project's interpreter,
e.g. `.venv/bin/python bench/ingest.py`. Each prints Markdown that goes into
docs/PERFORMANCE.md as it is, with the command that produced it.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"  # git-ignored: generated documents and databases
PYTHON = sys.executable


def data_dir() -> Path:
    DATA.mkdir(parents=True, exist_ok=True)
    return DATA


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.0f} GB"
    except OSError:
        pass
    return "? GB"


def machine() -> str:
    """One line naming the machine and the software the numbers were taken with."""
    return (f"{_cpu_model()}, {os.cpu_count()} cores, {_memory_gb()} RAM; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}")


def peak_rss_kb() -> int:
    """This process's peak resident set (VmHWM) in kB.

    Not ru_maxrss: Linux carries the parent's peak over fork and exec into the
    child's ru_maxrss, so a child would report its parent's memory."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def child(script: Path, args: Sequence[str], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Run `script args` in a fresh interpreter; its last stdout line is a JSON object."""
    done = subprocess.run([PYTHON, str(script), *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise SystemExit(f"{script.name} {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def timed_process(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of a whole process, from fork to exit."""
    start = time.perf_counter()
    done = subprocess.run(list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def clean_env() -> dict[str, str]:
    """The environment for a timed rtsales process: no developer settings leak in."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep}
