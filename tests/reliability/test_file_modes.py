"""Files rtsales creates are private (0600) whatever the umask, and there is nothing else.

Real processes with umask 022, the common default under which a plain open() would give
0644: the database, its -wal and -shm while it is open, the demo's database. rtsales
writes no log, cache or lock file: logs go to stderr, caches and locks live in the
database. (`status` warning about a .env readable by others is proven in tests/
test_status_cli.py::test_warns_about_a_readable_env_file.)
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from rtsales.clock import FrozenClock
from rtsales.simulator import (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN, BackgroundServer,
                               Simulator)
from tests.conftest import T0
from tests.reliability.conftest import MP, NOW, files_under

UMASK = 0o022


def _rtsales(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "rtsales", *args], cwd=cwd, env=env, umask=UMASK,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, (args, done.stderr)
    return done


def _modes(root: Path) -> dict[str, str]:
    return {name: oct(stat.S_IMODE((root / name).stat().st_mode)) for name in files_under(root)}


def test_commands_create_only_a_private_database(tmp_path: Path) -> None:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    with BackgroundServer(Simulator(seed=2, clock=FrozenClock(T0))) as server:
        env = {**keep, "LWA_CLIENT_ID": DEFAULT_CLIENT_ID, "LWA_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
               "LWA_REFRESH_TOKEN": DEFAULT_REFRESH_TOKEN, "MARKETPLACE_IDS": MP, "RTSALES_NOW": NOW,
               "SPAPI_ENDPOINT": server.base_url, "LWA_TOKEN_URL": server.lwa_token_url, "LOOKBACK_DAYS": "1"}
        _rtsales(tmp_path, env, "-v", "sync")  # creates ./rtsales.db, the default
        for args in (["status"], ["sales"], ["xai", "quota"], ["--db", "demo.db", "demo", "--days", "1"]):
            _rtsales(tmp_path, env, "-v", *args)
    assert _modes(tmp_path) == {"rtsales.db": "0o600", "demo.db": "0o600"}  # -wal/-shm gone once closed


def test_wal_and_shm_are_private_while_open(tmp_path: Path) -> None:
    program = ("import json, os, stat\n"
               "from rtsales.store import open_db\n"
               "db = open_db('open.db')\n"
               "db.conn.execute(\"INSERT INTO rtsales_state VALUES ('k', 'v', 't')\")\n"
               "print(json.dumps({n: oct(stat.S_IMODE(os.stat(n).st_mode)) for n in sorted(os.listdir('.'))}))\n")
    done = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, umask=UMASK, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"open.db": "0o600", "open.db-shm": "0o600", "open.db-wal": "0o600"}
