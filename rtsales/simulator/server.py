"""The loopback HTTP server: `http.server.ThreadingHTTPServer` in front of the core model.

`SimulatorServer(model, host, port)` binds at once (port 0 picks a free port), so
`.base_url` is known before serving. Every request is handled as addressed to
`.base_url`, whatever its Host header says, so the document URLs the model hands out
point back here. `serve()` blocks until Ctrl-C; `BackgroundServer` runs it in a thread
for tests and shuts it down cleanly.
A slow response (p_slow) really sleeps `Faults.slow_seconds` here, outside the lock.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from rtsales.simulator.model import Simulator

log = logging.getLogger("rtsales.simulator")

LWA_PATH = "/auth/o2/token"


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes; no 40 ms stalls

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        # The bound address, not the Host header: clients that sign for Amazon's host send that
        # host, and the document URL built from this one must still reach this server.
        reply = self.server.model.handle(self.command, f"{self.server.base_url}{self.path}",
                                         dict(self.headers.items()), body)
        if reply.delay_seconds > 0:
            self.server.sleep(reply.delay_seconds)
        try:
            # send_response would add a second Date from the real clock; the model's comes from simulated time
            self.log_request(reply.status)
            self.send_response_only(reply.status)
            self.send_header("Server", self.version_string())
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("client went away before the answer to %s %s", self.command, self.path)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib signature)
        log.debug("%s %s", self.address_string(), format % args)


class SimulatorServer(ThreadingHTTPServer):
    """Serves one `Simulator` over HTTP; threads per request, the model's lock serialises state."""

    daemon_threads = True

    def __init__(self, model: Simulator, host: str = "127.0.0.1", port: int = 0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.model = model
        self.sleep = sleep
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    @property
    def host(self) -> str:
        return str(self.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def lwa_token_url(self) -> str:
        return self.base_url + LWA_PATH


def serve(model: Simulator, host: str = "127.0.0.1", port: int = 8765,
          on_ready: Callable[[SimulatorServer], None] | None = None) -> None:
    """Bind, call `on_ready(server)`, then serve until KeyboardInterrupt."""
    with SimulatorServer(model, host, port) as server:
        if on_ready is not None:
            on_ready(server)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log.debug("simulator stopped by Ctrl-C")


class BackgroundServer:
    """`with BackgroundServer(sim) as server:` serves on a free loopback port in a thread."""

    def __init__(self, model: Simulator, host: str = "127.0.0.1", port: int = 0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.server = SimulatorServer(model, host, port, sleep)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="rtsales-simulator", daemon=True)

    def __enter__(self) -> SimulatorServer:
        self._thread.start()
        return self.server

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()
