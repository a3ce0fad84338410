"""A real HTTP server on 127.0.0.1 that answers one byte at a time, to prove request deadlines.

Each connection is served by its own thread. Paths listed in `instant` get their JSON
answer at once (the login a client needs before the call under test); every other
request is "dripped": either the status line and headers arrive one byte per
`interval`, or the headers arrive at once and then the body one byte per `interval`.
The drip never ends until `stop()`, which also closes every connection.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n"


class DripServer:
    def __init__(self, drip: str, instant: dict[str, Any] | None = None, interval: float = 0.1):
        assert drip in ("headers", "body")
        self.drip, self.instant, self.interval = drip, instant or {}, interval
        self.dripped: list[str] = []  # the request line of every dripped request, retries included
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)  # accept() polls, so that stop() is seen
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def stop(self) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            line = _request_line(conn)
            path = line.split(" ")[1] if line.count(" ") >= 2 else ""
            if path in self.instant:
                body = json.dumps(self.instant[path]).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                return
            self.dripped.append(line)
            for byte in self._bytes(conn):
                if self._stop.wait(self.interval):
                    return
                try:
                    conn.sendall(byte)
                except OSError:  # the client gave up and closed: what the tests want
                    return

    def _bytes(self, conn: socket.socket) -> Iterator[bytes]:
        if self.drip == "headers":
            # A header that never ends: the status line and headers are never complete.
            yield from (bytes([b]) for b in HEAD + b"X-Pad: ")
        else:
            conn.sendall(HEAD + b"\r\n")
        yield from itertools.repeat(b"a")


def _request_line(conn: socket.socket) -> str:
    """Read the request's head (a small body stays unread in the buffer) and return its first line."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = conn.recv(4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")
