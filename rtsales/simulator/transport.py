"""The in-process httpx transport: hands each request to the core model, no sockets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from rtsales.simulator.model import Simulator


class SimulatorTransport(httpx.BaseTransport):
    """`httpx.Client(transport=SimulatorTransport(sim))`. A slow response (p_slow) raises
    `httpx.ReadTimeout` at once instead of sleeping; the model has still handled it."""

    def __init__(self, model: Simulator) -> None:
        self.model = model

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        reply = self.model.handle(request.method, str(request.url), dict(request.headers), request.read())
        if reply.delay_seconds > 0:
            raise httpx.ReadTimeout("simulated slow response (p_slow)", request=request)
        return httpx.Response(reply.status, headers=dict(reply.headers), content=reply.body, request=request)
