"""`rtsales xai quota` and `rtsales xai ask` end to end, and two real processes racing for the last call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pytest_httpx import HTTPXMock
from typer.testing import CliRunner

from rtsales.cli import app
from rtsales.store import open_db
from rtsales.xai.usage import take_call, usage_for
from tests.conftest import at
from tests.test_xai import CREDITS, KEY, URL, completion

runner = CliRunner()
NOW = "2026-03-10T12:07:00Z"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db = tmp_path / "x.db"
    for name, value in {"XAI_API_KEY": KEY, "XAI_DAILY_LIMIT": "2", "RTSALES_NOW": NOW, "RTSALES_DB": str(db)}.items():
        monkeypatch.setenv(name, value)
    return db


def use_up(db: Path, n: int) -> None:
    store = open_db(db)
    for _ in range(n):
        assert take_call(store, "2026-03-10", 100, at(NOW))
    store.conn.close()


def test_quota_json_needs_no_key(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XAI_API_KEY")
    open_db(env).conn.close()  # xai quota only reads: it never creates the database
    result = runner.invoke(app, ["xai", "quota", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["calls_today"], report["daily_limit"], report["resets_at_utc"]) == (0, 2, "2026-03-11T00:00:00Z")
    assert report["seconds_to_reset"] == 11 * 3600 + 53 * 60 and report["cooldown"] is None


def test_ask_then_cache_then_quota(env: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, json=completion())
    first = runner.invoke(app, ["xai", "ask", "Is this a textbook?", "--title", "Calculus", "--price", "59.9", "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["source"] == "xai"
    second = runner.invoke(app, ["xai", "ask", "is this a textbook?", "--title", "calculus", "--price", "59.90"])
    assert second.exit_code == 0, second.output
    assert second.stdout == "yes, a textbook\n"  # the answer alone on stdout
    assert "from cache" in second.stderr
    report = json.loads(runner.invoke(app, ["xai", "quota", "--json"]).stdout)
    assert (report["calls_today"], report["cache_hits_today"], report["cache_misses_today"]) == (1, 1, 1)
    assert report["tokens_today"] == {"prompt": 40, "completion": 3, "reasoning": 27}
    assert report["cache_entries"] == 1
    assert len(httpx_mock.get_requests()) == 1


def test_quota_human_output_shows_cooldown(env: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=429, json=CREDITS)
    failed = runner.invoke(app, ["xai", "ask", "Textbook?"])
    assert failed.exit_code == 75 and "credits are used up" in failed.stderr
    result = runner.invoke(app, ["xai", "quota"])
    assert result.exit_code == 0, result.output
    assert "0 / 2" in result.stdout and "until 12:37 UTC" in result.stdout


def test_over_the_cap_exit_75_or_fallback(env: Path, httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> None:
    use_up(env, 2)
    result = runner.invoke(app, ["xai", "ask", "Textbook?"])
    assert result.exit_code == 75
    assert "daily limit of 2 xAI calls reached" in result.stderr and result.stderr.count("\n") == 1
    monkeypatch.setenv("XAI_FALLBACK_ANSWER", "no")
    fallback = runner.invoke(app, ["xai", "ask", "Textbook?", "--json"])
    assert fallback.exit_code == 0, fallback.output
    data = json.loads(fallback.stdout)
    assert (data["answer"], data["source"], data["from_cache"]) == ("no", "fallback", False)
    assert not httpx_mock.get_requests()


def test_missing_key_exit_78(env: Path, monkeypatch: pytest.MonkeyPatch, httpx_mock: HTTPXMock) -> None:
    monkeypatch.delenv("XAI_API_KEY")
    result = runner.invoke(app, ["xai", "ask", "Textbook?"])
    assert result.exit_code == 78 and "XAI_API_KEY" in result.stderr
    assert not httpx_mock.get_requests()


def test_bad_key_exit_78_and_key_never_shown(env: Path, httpx_mock: HTTPXMock) -> None:
    httpx_mock.add_response(url=URL, status_code=401, json={"error": f"bad key {KEY}"})
    result = runner.invoke(app, ["-v", "xai", "ask", "Textbook?", "--json"])
    assert result.exit_code == 78
    assert KEY not in result.output and KEY not in result.stderr


class _FakeXai(BaseHTTPRequestHandler):
    posts: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).posts.append(json.loads(body)["messages"][1]["content"])
        payload = json.dumps(completion("yes")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def fake_xai() -> Iterator[str]:
    _FakeXai.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeXai)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_two_processes_race_for_the_last_call_one_wins(env: Path, fake_xai: str, tmp_path: Path) -> None:
    use_up(env, 1)  # one call of two left
    child_env = {**os.environ, "XAI_API_URL": fake_xai, "XAI_FALLBACK_ANSWER": "fallback-no"}
    procs = [subprocess.Popen([sys.executable, "-m", "rtsales", "xai", "ask", f"Question {n}", "--json"],
                              env=child_env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for n in (1, 2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    sources = sorted(json.loads(out)["source"] for out, _ in outputs)
    assert sources == ["fallback", "xai"]
    assert len(_FakeXai.posts) == 1  # exactly one request reached xAI
    assert usage_for(open_db(env), "2026-03-10").calls == 2
