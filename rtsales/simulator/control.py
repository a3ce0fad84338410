"""The `/_sim/` control endpoints an outside test uses to drive a running simulator.

    GET  /_sim/clock                      {"now": iso}
    POST /_sim/clock   {"now": iso}       set simulated time (or {"advance_seconds": n})
    GET  /_sim/faults                     the fault probabilities in force
    POST /_sim/faults  {"p429": 0, ...}   replace them (missing keys are off)
    GET  /_sim/log                        {"entries": [...], "counts": {op: {status: n}}}
    GET  /_sim/truth?marketplace_id=&hour=[&at=]   final (and observed at `at`) truth

Faults never apply here. Errors use the SP-API error shape.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rtsales.amazon.marketplaces import lookup
from rtsales.clock import Clock, iso, parse_hour, parse_instant
from rtsales.simulator.faults import Faults
from rtsales.simulator.replies import Reply, Request, invalid_input, json_reply, spapi_error
from rtsales.simulator.truth import Sales

if TYPE_CHECKING:
    from rtsales.simulator.model import Simulator


class ShiftedClock:
    """Runs at the pace of `base` but from a chosen instant (set through /_sim/clock)."""

    frozen = False

    def __init__(self, base: Clock, instant: datetime) -> None:
        self.base: Clock = base.base if isinstance(base, ShiftedClock) else base
        self.offset = instant - self.base.now()

    def now(self) -> datetime:
        return self.base.now() + self.offset

    def sleep(self, seconds: float) -> None:
        self.base.sleep(seconds)


def handle(sim: Simulator, request: Request) -> Reply:
    endpoint = (request.method, request.path.rstrip("/"))
    try:
        if endpoint == ("GET", "/_sim/clock"):
            return json_reply(200, {"now": iso(sim.now())})
        if endpoint == ("POST", "/_sim/clock"):
            return _set_clock(sim, _object(request))
        if endpoint == ("GET", "/_sim/faults"):
            return json_reply(200, sim.faults.as_dict())
        if endpoint == ("POST", "/_sim/faults"):
            sim.set_faults(Faults.from_mapping(_object(request)))
            return json_reply(200, sim.faults.as_dict())
        if endpoint == ("GET", "/_sim/log"):
            return json_reply(200, sim.log.to_json())
        if endpoint == ("GET", "/_sim/truth"):
            return _truth(sim, request.query)
    except (ValueError, TypeError) as exc:
        return invalid_input(str(exc))
    return spapi_error(404, "NotFound", f"No control endpoint {request.method} {request.path}.")


def _object(request: Request) -> dict[str, Any]:
    data = request.json()
    if not isinstance(data, dict):
        raise ValueError("the body must be a JSON object")
    return data


def _set_clock(sim: Simulator, data: dict[str, Any]) -> Reply:
    if "now" in data:
        sim.set_now(parse_instant(str(data["now"])))
    elif "advance_seconds" in data:
        sim.set_now(sim.now() + timedelta(seconds=float(data["advance_seconds"])))
    else:
        raise ValueError('give {"now": "<ISO-8601 instant>"} or {"advance_seconds": <n>}')
    return json_reply(200, {"now": iso(sim.now())})


def _truth(sim: Simulator, query: dict[str, str]) -> Reply:
    marketplace_id = query.get("marketplace_id", "")
    if lookup(marketplace_id) is None:
        raise ValueError(f"unknown marketplace_id {marketplace_id!r}")
    hour = parse_hour(query.get("hour", ""))
    data: dict[str, Any] = {"marketplaceId": marketplace_id, "hour": iso(hour),
                            "final": _rows(sim.truth.final_truth(marketplace_id, hour))}
    if "at" in query:
        at = parse_instant(query["at"])
        data["at"] = iso(at)
        data["observed"] = _rows(sim.truth.observed(marketplace_id, hour, at))
    return json_reply(200, data)


def _rows(sales: dict[str, Sales]) -> list[dict[str, Any]]:
    return [{"asin": asin, "orderedUnits": s.units, "orderedRevenue": s.revenue_cents / 100,
             "revenueCents": s.revenue_cents} for asin, s in sorted(sales.items())]
