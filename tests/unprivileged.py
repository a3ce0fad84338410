"""Running rtsales as a user that file permissions apply to.

Tests run as root in CI, and root writes through any chmod. A case that needs a
read-only file therefore runs in a subprocess as `nobody` (uid 65534) when the
tests run as root, and as the current user otherwise (where chmod is enough).
The subprocess needs a Python 3.x (same minor version) that user can execute; the
checkout and this environment's site-packages go on its PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import pytest

NOBODY = 65534
REPO = Path(__file__).resolve().parents[1]
AS_ROOT = os.geteuid() == 0


def _base_env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": path, "LANG": "C.UTF-8", "HOME": "/"}


@cache
def _python() -> str | None:
    """An interpreter the unprivileged user can run that imports rtsales and its dependencies."""
    if not AS_ROOT:
        return sys.executable
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, f"/usr/bin/python{version}", f"/usr/local/bin/python{version}",
                  shutil.which(f"python{version}")]
    probe = f"import sys, rtsales.cli; assert sys.version_info[:2] == ({version.replace('.', ', ')})"
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            done = subprocess.run([candidate, "-c", probe], env=_base_env(), cwd="/", user=NOBODY, group=NOBODY,
                                  extra_groups=[], capture_output=True, timeout=30, check=False)
        except OSError:
            continue
        if done.returncode == 0:
            return candidate
    return None


def run_python(args: list[str], cwd: Path, env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess[str]:
    """`python ARGS` as the unprivileged user (as root) or as ourselves (otherwise)."""
    python = _python()
    if python is None:
        pytest.skip(f"no Python {sys.version_info.major}.{sys.version_info.minor} that uid {NOBODY} can run")
    drop = {"user": NOBODY, "group": NOBODY, "extra_groups": []} if AS_ROOT else {}
    return subprocess.run([python, *args], env={**_base_env(), **(env or {})}, cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False, **drop)  # type: ignore[call-overload]


def give_away(*paths: Path) -> None:
    """Make paths belong to the user `run_python` runs as (a no-op when that is us)."""
    if AS_ROOT:
        for path in paths:
            os.chown(path, NOBODY, NOBODY)


@contextmanager
def shared_directory() -> Iterator[Path]:
    """A fresh directory under the system temp dir that the unprivileged user can traverse
    and read but not write (pytest's tmp_path sits below a root-only 0700 directory)."""
    path = Path(tempfile.mkdtemp(prefix="rtsales-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for directory in [path, *(p for p in path.rglob("*") if p.is_dir())]:
            directory.chmod(0o700)  # a test may have made one read-only
        shutil.rmtree(path, ignore_errors=True)
