"""The built-in SP-API simulator: Login with Amazon + Reports API 2021-06-30.

It serves the three real-time vendor reports (sales, traffic, inventory) from one
deterministic ground truth (`SalesTruth`, and `TrafficTruth` and `InventoryTruth` built
on it: glance views cover the units sold, an ASIN out of stock sells nothing), with usage
plans, the report lifecycle, pre-signed document URLs
and seeded faults, all in simulated time. Use it in-process,

    sim = Simulator(seed=0, clock=FrozenClock(...))
    client = httpx.Client(transport=sim.transport(), base_url="http://127.0.0.1:8765")

or over loopback with `rtsales simulator serve` / `BackgroundServer(sim)`.
"""

from rtsales.simulator.events import Demand, Event, plan_events
from rtsales.simulator.faults import Faults
from rtsales.simulator.lwa import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN
from rtsales.simulator.model import Simulator
from rtsales.simulator.quota import USAGE_PLANS, UsagePlan
from rtsales.simulator.replies import Reply
from rtsales.simulator.reports import REPORT_TYPE
from rtsales.simulator.requestlog import LogEntry, RequestLog
from rtsales.simulator.server import BackgroundServer, SimulatorServer, is_loopback, serve
from rtsales.simulator.transport import SimulatorTransport
from rtsales.simulator.truth import Sales, SalesTruth

__all__ = [
    "DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "DEFAULT_REFRESH_TOKEN", "REPORT_TYPE", "USAGE_PLANS",
    "BackgroundServer", "Demand", "Event", "Faults", "LogEntry", "Reply", "RequestLog", "Sales", "SalesTruth",
    "Simulator", "SimulatorServer", "SimulatorTransport", "UsagePlan", "is_loopback", "plan_events", "serve",
]
