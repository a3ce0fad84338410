"""Fixtures for the simulator tests: a frozen clock, a simulator, an httpx client through
its transport, the API helper, and Amazon's schemas (skipped when absent)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from rtsales.clock import FrozenClock
from rtsales.simulator import Simulator

from .helpers import SPAPI_DIR, T0, Api, schema_errors


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def sim(clock: FrozenClock) -> Simulator:
    return Simulator(seed=7, clock=clock)


@pytest.fixture
def client(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(transport=sim.transport(), base_url="http://127.0.0.1:8765") as http:
        yield http


@pytest.fixture
def api(client: httpx.Client, clock: FrozenClock, sim: Simulator) -> Api:
    return Api(client, clock, sim)


def _load(name: str) -> dict[str, Any]:
    if not SPAPI_DIR.is_dir():
        pytest.skip(f"Amazon's schemas are not at {SPAPI_DIR}")
    schema: dict[str, Any] = json.loads((SPAPI_DIR / name).read_text())
    return schema


@pytest.fixture(scope="session")
def reports_model() -> dict[str, Any]:
    return _load("reports_2021-06-30.json")


@pytest.fixture(scope="session")
def sales_schema() -> dict[str, Any]:
    return _load("vendorRealTimeSalesReport.json")


@pytest.fixture
def check(reports_model: dict[str, Any]) -> Callable[[str, Any], None]:
    """check("Report", data) asserts `data` fits that definition of the Reports API model."""
    def check(definition: str, data: Any) -> None:
        assert schema_errors(data, reports_model["definitions"][definition], reports_model) == []
    return check
