"""Secrets never leave the process: every command, with -v (debug logging) and a failing
path, against fake APIs that echo every credential they receive back into their errors.

No fake secret, and no access token Login with Amazon handed out, may appear in
stdout, stderr, --json output, the SQLite file (and its -wal) or any file under the
working directory: not plain, not URL-encoded (as in a form body or query string) and
not JSON-escaped. The fake secrets hold characters those encodings change. With RTSALES_DEBUG=1 a real process prints a traceback of an
unknown error: it shows no local variables and no secret either.

Also proven elsewhere: secrets stay out of repr(Settings) (tests/test_config.py::
test_secrets_never_in_repr); xAI's own bad-key text is not repeated (tests/
test_xai_cli.py::test_bad_key_exit_78_and_key_never_shown); the Keepa key stays out
of output and database on a successful run (tests/test_keepa_cli.py::
test_products_report_and_the_key_stays_out_of_output_and_database); status warns
about a .env readable by others (tests/test_status_cli.py::
test_warns_about_a_readable_env_file).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, quote_plus

import httpx
import pytest
from pytest_httpx import HTTPXMock

from rtsales.clock import iso
from rtsales.redaction import Secret, clip
from rtsales.store import open_db
from tests.conftest import T0
from tests.reliability.conftest import MP, NOW, invoke

MARK = "FAKESECRET"  # in every fake secret: any trace of one, even cut short, is a leak
# `|`, `+`, `/`, `"` and a space: each changes under URL-encoding or JSON-escaping.
SECRETS = {
    "LWA_CLIENT_SECRET": f"{MARK}-lwa 9f+8e/7d\"",
    "LWA_REFRESH_TOKEN": f"Atzr|{MARK}-refresh 1a+2b/3c\"",
    "KEEPA_API_KEY": f"{MARK}-keepa 4d+5e/6f|",
    "XAI_API_KEY": f"xai-{MARK}+7a/8b\"9c",
}
ACCESS_TOKEN = f"Atza|{MARK}-access 0d+0e/0f\""
DAY = "2026-03-09"


def _echo(value: str) -> str:
    """A credential as an API might quote it back: plain, URL-encoded both ways, JSON-escaped."""
    return f"{value} (sent as {quote(value, safe='')} or {quote_plus(value)}, in JSON {json.dumps(value)[1:-1]})"


class EchoingApis:
    """Login with Amazon, SP-API, Keepa and xAI in one pytest-httpx callback. Each fails the
    way `fail` says and quotes the credential it received in its error text, in every form."""

    def __init__(self) -> None:
        self.fail: dict[str, str] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        if path.endswith("/auth/o2/token"):
            return self._lwa(request, self.fail.get("lwa", "ok"))
        if host.startswith("sellingpartnerapi"):
            token = request.headers.get("x-amz-access-token", "")
            status = int(self.fail.get("spapi", "403"))
            code = "Unauthorized" if status == 403 else "InternalFailure"
            return httpx.Response(status, json={"errors": [{"code": code, "message": f"token {_echo(token)} refused"}]})
        if host == "api.keepa.com":
            key = request.url.params.get("key", "")
            return httpx.Response(int(self.fail.get("keepa", "401")), json={
                "tokensLeft": 500, "refillIn": 30000, "refillRate": 20, "tokenFlowReduction": 0.0,
                "tokensConsumed": 0, "error": {"type": "invalidKey", "message": f"key {_echo(key)} is not valid"}})
        if host == "api.x.ai":
            auth = request.headers.get("authorization", "")
            return httpx.Response(int(self.fail.get("xai", "401")), json={"error": f"{_echo(auth)} is not allowed here"})
        raise AssertionError(f"unexpected request to {request.url}")

    @staticmethod
    def _lwa(request: httpx.Request, mode: str) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if mode == "ok":
            return httpx.Response(200, json={"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 3600})
        quoted = (f"form {request.content.decode()} / refresh token {_echo(form['refresh_token'])}"
                  f" / client secret {_echo(form['client_secret'])}")
        error = "invalid_client" if mode == "reject" else quoted  # an error code Amazon never documented
        return httpx.Response(400, json={"error": error, "error_description": quoted})


def _env(tmp_path: Path) -> dict[str, str]:
    return {**SECRETS, "LWA_CLIENT_ID": "amzn1.application-oa2-client.fake", "MARKETPLACE_IDS": MP,
            "RTSALES_DB": str(tmp_path / "secret.db"), "RTSALES_NOW": NOW, "LOOKBACK_DAYS": "2"}


RUNS = [  # (failing path of each API, command line): every command rtsales --help lists
    ({}, ["status", "--json"]),
    ({}, ["status", "--marketplace", "A1PA6795UKMFR9"]),
    ({"lwa": "reject"}, ["sync", "--json"]),
    ({"lwa": "unknown"}, ["sync"]),  # an error code Amazon never documented, quoting the secrets
    ({"spapi": "403"}, ["sync", "--json"]),
    ({"spapi": "500"}, ["sync"]),
    ({"lwa": "unknown"}, ["audit", "daily", "--json"]),
    ({"spapi": "403"}, ["audit", "weekly"]),
    ({"spapi": "500"}, ["fill-day", DAY, "--json"]),
    ({"lwa": "reject"}, ["fill-day", DAY]),
    ({}, ["sales", "--json"]),
    ({}, ["sales", "--marketplace", "A1PA6795UKMFR9"]),
    ({}, ["--db", "secret.db", "demo", "--days", "1"]),  # not a demo database: refused
    ({}, ["simulator", "serve", "--host", "0.0.0.0"]),  # refused: not loopback
    ({"keepa": "401"}, ["keepa", "balance", "--json"]),
    ({"keepa": "400"}, ["keepa", "products", "B000000001", "--json"]),
    ({"keepa": "500"}, ["keepa", "products", "B000000002"]),
    ({"xai": "401"}, ["xai", "ask", "Is this a textbook?", "--title", "Calculus", "--json"]),
    ({"xai": "422"}, ["xai", "ask", "Is this a toy?"]),
    ({}, ["xai", "quota", "--json"]),
]


def _leaks(text: str | bytes) -> bool:
    return MARK.encode() in (text.encode() if isinstance(text, str) else text)


def test_no_command_shows_or_stores_a_secret(tmp_path: Path, httpx_mock: HTTPXMock) -> None:
    apis = EchoingApis()
    httpx_mock.add_callback(apis, is_reusable=True, is_optional=True)
    env = _env(tmp_path)
    open_db(tmp_path / "secret.db").conn.close()  # status and sales read a database, never create one
    outcomes, stored_refusals = [], []
    for number, (fail, args) in enumerate(RUNS):
        apis.fail = fail
        now = iso(T0 + number * timedelta(minutes=10))  # cron-like spacing: each run has SP-API quota
        result = invoke("-v", *args, env={**env, "RTSALES_NOW": now})
        outcomes.append((args[0] if args[0] != "--db" else args[2], result.exit_code))
        assert not _leaks(result.stdout), (args, result.stdout)
        assert not _leaks(result.stderr), (args, result.stderr)
        if "--json" in args and result.exit_code == 0:
            json.loads(result.stdout)  # the JSON is whole, not cut by a masked value
        for path in tmp_path.rglob("*"):  # the database, its -wal and -shm, anything else
            assert path.is_dir() or not _leaks(path.read_bytes()), (args, path)
        if fail == {"spapi": "403"}:  # a refusal with a fresh token is kept for status, quoting Amazon
            refused = json.loads(invoke("status", "--json", env=env).stdout)["marketplaces"][0]["access_error"]
            stored_refusals.append(refused["error"])
    # The failing paths really ran: credentials, and the echoed errors, went where they lead.
    assert outcomes == [("status", 0), ("status", 2), ("sync", 78), ("sync", 1), ("sync", 78), ("sync", 1),
                        ("audit", 1), ("audit", 78), ("fill-day", 0), ("fill-day", 78), ("sales", 0), ("sales", 2),
                        ("demo", 2), ("simulator", 2), ("keepa", 78), ("keepa", 1), ("keepa", 1), ("xai", 78),
                        ("xai", 1), ("xai", 0)]
    assert any(r.url.host.startswith("sellingpartnerapi") and r.headers.get("x-amz-access-token") == ACCESS_TOKEN
               for r in httpx_mock.get_requests())
    assert stored_refusals and all("token *** (sent as *** or ***, in JSON ***) refused" in text
                                   for text in stored_refusals), stored_refusals  # the echo, every form masked


def test_debug_traceback_shows_no_locals_and_no_secret(tmp_path: Path) -> None:
    """A real process with RTSALES_DEBUG=1 and an unknown error deep in the sync path, raised
    while a local variable holds the client secret and quoting it in its message."""
    program = (
        "import sys\n"
        "import rtsales.amazon.auth as auth\n"
        "def broken(self):\n"
        "    secret = self._form['client_secret']\n"
        "    raise RuntimeError(f'Login with Amazon exploded while sending {secret}')\n"
        "auth.LwaAuth._post = broken\n"
        "sys.argv = ['rtsales', '-v', 'sync']\n"
        "from rtsales.cli import main\n"
        "main()\n")
    env = {**_env(tmp_path), "RTSALES_DEBUG": "1", "PATH": "/usr/bin:/bin",
           "SPAPI_ENDPOINT": "http://127.0.0.1:9", "LWA_TOKEN_URL": "http://127.0.0.1:9/auth/o2/token"}
    done = subprocess.run([sys.executable, "-c", program], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr and "LwaAuth" not in done.stdout
    assert "RuntimeError: Login with Amazon exploded while sending ***" in done.stderr
    assert not _leaks(done.stderr) and not _leaks(done.stdout)
    for marker in ("locals", "self = ", "secret = '", "╭"):  # rich's locals panel, or any name = value dump
        assert marker not in done.stderr, marker
    without_debug = subprocess.run([sys.executable, "-c", program], env={**env, "RTSALES_DEBUG": ""}, cwd=tmp_path,
                                   capture_output=True, text=True, timeout=60, check=False)
    assert without_debug.returncode == 1 and without_debug.stderr.count("\n") == 1
    assert "unexpected error: RuntimeError: Login with Amazon exploded while sending ***" in without_debug.stderr


@pytest.mark.parametrize("limit", range(24, 45, 4))  # cuts that fall inside the secret
def test_a_shortened_message_keeps_no_half_secret(limit: int) -> None:
    """Error text from an API is cut to a length: masked first, so no cut leaves a piece
    of a secret that no longer matches (found when Login with Amazon echoed the secret)."""
    secret = Secret(SECRETS["LWA_CLIENT_SECRET"]).get()
    text = f"refused: client secret {secret} is wrong"
    assert text[:limit].endswith(secret[:limit - 23])  # what a plain cut would have shown
    assert clip(text, limit) == "refused: client secret *** is wrong"[:limit]
