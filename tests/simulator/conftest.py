"""Fixtures for the simulator's own tests: a fixed-anchor dataset, a manual clock, in-process apps and
logged-on httpx clients (real HTTP semantics through httpx.ASGITransport).

Wall-clock checks are opt-in: tests marked `sim_perf` run only with `SIM_PERF=1` in the environment
(`SIM_PERF=1 pytest -m sim_perf tests/simulator`); the default suite asserts no timing. bench/sim_perf.py
prints the figures.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tests.conftest import ManualClock, simulator_app

from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.state import SimulatorState

# A Tuesday, so the 30-day window holds four Saturdays (synthetic fulls) and Sundays (active fulls).
SIM_ANCHOR = datetime(2025, 10, 21, 9, 0, tzinfo=UTC)
ORIGIN = "http://em.sim.test:9398"
USER = "DEMO\\demo"
PASSWORD = "demo-password"
NS = "{http://www.veeam.com/ent/v1.0}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sim_perf: wall-clock bounds of the simulator (opt-in: SIM_PERF=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SIM_PERF") == "1":
        return
    skip = pytest.mark.skip(reason="wall-clock check; run with SIM_PERF=1 (see bench/sim_perf.py for figures)")
    for item in items:
        if item.get_closest_marker("sim_perf") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sim_dataset() -> Dataset:
    return build_dataset(anchor=SIM_ANCHOR)


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock(start=5000.0)


MakeApp = Callable[..., Starlette]


@pytest.fixture
def make_app(sim_dataset: Dataset, manual_clock: ManualClock) -> MakeApp:
    def make(**config: Any) -> Starlette:
        config.setdefault("clock", manual_clock)
        return simulator_app(sim_dataset, **config)

    return make


@pytest.fixture
def sim(make_app: MakeApp) -> Starlette:
    return make_app()


@pytest.fixture
def state(sim: Starlette) -> SimulatorState:
    result: SimulatorState = sim.state.sim
    return result


def client_for(app: Starlette, origin: str = ORIGIN) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=origin)


async def logon(client: httpx.AsyncClient) -> str:
    """Log on, then drop the cookie so requests carry only the header the test chooses to send."""
    r = await client.post("/api/sessionMngr/?v=latest", auth=(USER, PASSWORD))
    assert r.status_code == 201, r.text
    client.cookies.clear()
    token = r.headers["X-RestSvcSessionId"]
    client.headers["X-RestSvcSessionId"] = token
    return token


@pytest.fixture
async def anon(sim: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(sim) as c:
        yield c


@pytest.fixture
async def api(sim: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged on with the token header (no cookie)."""
    async with client_for(sim) as c:
        await logon(c)
        yield c


@pytest.fixture
def logon_fn() -> Callable[[httpx.AsyncClient], Any]:
    return logon


@pytest.fixture
def client_factory() -> Callable[..., httpx.AsyncClient]:
    return client_for
