"""Shared fixtures: the EM simulator (in-process and on loopback) and servers built against it.

Everything here is a real part: the simulator is the same starlette app the demo serves, the
client is the product's client, and MCP calls go through the official ``mcp.Client``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from mcp import Client
from starlette.applications import Starlette

from veeam_em_mcp.config import Settings
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import Dataset, build_dataset
from veeam_em_mcp.simulator.runner import RunningSimulator
from veeam_em_mcp.surface.server import build_server

ANCHOR = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SIM_ORIGIN = "http://em.test:9398"
USERNAME = "DEMO\\demo"
PASSWORD = "demo-password"
SQL01_POINT = "6c958531-3177-4055-b0ce-dc4ef1ce6433"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return build_dataset(anchor=ANCHOR)


class ManualClock:
    """A clock moved by the test instead of by waiting: the simulator's idle expiry, the client's logon back-off.

    The one clock of the tests (tests/simulator/conftest.py starts its own at 5000).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim_config(clock: ManualClock) -> SimulatorConfig:
    return SimulatorConfig(clock=clock)


def simulator_app(dataset: Dataset, config: SimulatorConfig | None = None, **options: Any) -> Starlette:
    """The simulator as an in-process app: ``config``, or one made of ``options`` (the one place tests make it)."""
    return create_app(config if config is not None else SimulatorConfig(**options), dataset)


@pytest.fixture
def sim_app(sim_config: SimulatorConfig, dataset: Dataset) -> Any:
    return simulator_app(dataset, sim_config)


def make_settings(base_url: str = SIM_ORIGIN, **overrides: Any) -> Settings:
    env = {
        "VEEAM_EM_URL": base_url,
        "VEEAM_EM_USERNAME": USERNAME,
        "VEEAM_EM_PASSWORD": PASSWORD,
    }
    env.update({k: str(v) for k, v in overrides.pop("env", {}).items()})
    settings = Settings.from_env(env)
    return Settings(**{**settings.__dict__, **overrides}) if overrides else settings


@pytest.fixture
def transport(sim_app: Any) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=sim_app)


McpFactory = Callable[..., Any]


@pytest.fixture
def mcp_session(sim_app: Any) -> McpFactory:
    """``async with mcp_session(format="json") as client:`` — MCP client ↔ server ↔ simulator in-process."""

    @asynccontextmanager
    async def open_session(**overrides: Any) -> AsyncIterator[Client]:
        settings = make_settings(**overrides)
        server = build_server(settings, transport=httpx.ASGITransport(app=sim_app), retry_base_delay=0.01)
        async with Client(server) as client:
            yield client

    return open_session


@pytest.fixture(scope="session")
def loopback_simulator() -> Iterator[RunningSimulator]:
    running = RunningSimulator(dataset=build_dataset(anchor=ANCHOR))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def em() -> Iterator[RunningSimulator]:
    """A loopback simulator of the module's own: for the modules that inject faults into it or count its logons
    (the fault matrix, deadlines, lockout), so no other module's requests or faults meet theirs."""
    running = RunningSimulator(dataset=build_dataset(anchor=ANCHOR)).start()
    try:
        yield running
    finally:
        running.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", help="also run the soak tests (marked soak): floods of a minute or so")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "soak: a flood too long for the default suite; runs only with --soak")


# The end-to-end lane (marker e2e, pyproject.toml): tests that start processes (the console script over stdio or
# HTTP, npm clients, pip/pipx/uv, Podman), floods, and the 5,000-VM scale tests. `pytest -m "not e2e"` leaves
# them out for a fast development loop; `pytest` (CI, the README) runs them too. Whole modules:
E2E_MODULES = frozenset(
    {
        "test_apps_browser.py",
        "test_apps_inspector.py",
        "test_bench_smoke.py",
        "test_bundle.py",
        "test_cli.py",
        "test_conformance.py",
        "test_container.py",
        "test_http_bench_smoke.py",
        "test_http_floods.py",
        "test_http_mcp_remote.py",
        "test_inspector.py",
        "test_packaging.py",
        "test_sim_perf.py",
        "test_stdio_e2e.py",
        "test_wheel.py",
    }
)
# ... and single tests of other modules (module, test function):
E2E_TESTS = frozenset(
    {
        ("test_apps.py", "test_progress_reaches_a_client_over_stdio"),
        ("test_client_config.py", "test_the_demo_entry_starts_with_a_bare_path"),
        ("test_client_config.py", "test_the_entry_with_its_values_filled_reaches_enterprise_manager"),
        ("test_client_config.py", "test_the_notes_say_where_each_file_lives"),  # the console script, 4 times
        ("test_client_config.py", "test_the_uvx_form_names_the_package_spec"),  # the console script
        ("test_coverage.py", "test_issue_17_questions_over_stdio"),
        ("test_doctor.py", "test_doctor_cli_names_the_proxy_the_requests_go_through"),
        ("test_doctor.py", "test_doctor_cli_three_diagnoses"),
        ("test_doctor.py", "test_doctor_cli_json"),  # the console script
        ("test_doctor.py", "test_doctor_cli_configuration_error"),  # the console script
        ("test_estate.py", "test_estate_questions_over_stdio"),
        # scale: a 3,000-VM estate, read whole (the 5-dialect protection report test stays, on the small estate)
        ("test_fields.py", "test_protection_report_is_the_generic_one_at_thousands_of_vms"),
        ("test_apps.py", "test_protection_report_over_thousands_of_vms_reports_progress_per_em_page"),
        # scale and real time: each tool read once whole on 3,000 VMs, then cancelled mid-read and watched 1.3 s
        ("test_apps.py", "test_a_cancelled_call_makes_no_further_em_request"),
        ("test_http_transport.py", "test_cli_http_end_to_end"),
        ("test_http_transport.py", "test_cli_refuses_a_bad_limit_with_one_line"),
        ("test_http_transport.py", "test_cli_refuses_unsafe_or_incomplete_http_setups"),
        ("test_http_transport.py", "test_no_query_string_reaches_the_log"),
        ("test_lockout.py", "test_two_hundred_calls_from_fifty_http_clients_make_one_failed_logon"),
        ("test_protocol.py", "test_log_messages_reach_a_stdio_client_of_the_console_script"),
        ("test_query_tools.py", "test_find_over_stdio_with_the_demo"),
        ("test_schema_portability.py", "test_a_taken_demo_port_is_one_line"),
        ("test_schema_portability.py", "test_serve_demo_port_pins_the_simulators_port"),
        ("test_secrets.py", "test_no_secret_on_the_stdio_servers_stderr"),
        ("test_sim_estate.py", "test_scale_5000_vms"),
        # a crawl of every link the simulator advertises, in two dialects (8–9 s each)
        ("test_sim_links.py", "test_every_advertised_link_is_served"),
    }
)


# ... and some cases of a parametrised test (module, test function) → whether a case's parameters put it there.
# The fault matrix (every fault kind × every tool, ~480 cases, ~90 ms each and a second for the timed faults) runs
# whole in the full suite; the fast lane meets every fault kind through one tool of each kind of read (one
# resource, a search page, a window read, the diagnosis): the other ten tools go through the same client path.
FAULT_MATRIX_FAST_TOOLS = frozenset({"get_vm_restore_point", "find_vm_restore_points", "protection_report",
                                     "check_connection"})


def _fault_for_another_tool(params: Mapping[str, Any]) -> bool:
    return bool(params["tool"] not in FAULT_MATRIX_FAST_TOOLS)


# The date fuzzer's two window tools read a week of runs and tasks per example (4–6 s each); the fast lane keeps
# the point search and the restore sessions, which take the same date arguments through the same validation.
DATE_FUZZ_FAST_TOOLS = frozenset({"find_vm_restore_points", "find_restore_sessions"})


def _date_fuzz_of_a_window_tool(params: Mapping[str, Any]) -> bool:
    return bool(params["name"] not in DATE_FUZZ_FAST_TOOLS)


E2E_CASES: Mapping[tuple[str, str], Callable[[Mapping[str, Any]], bool]] = {
    ("test_faults.py", "test_fault_matrix"): _fault_for_another_tool,
    ("test_fuzz.py", "test_fuzz_extreme_dates"): _date_fuzz_of_a_window_tool,
}


def is_e2e(item: pytest.Item) -> bool:
    module = item.path.name
    test = getattr(item, "originalname", item.name)
    if module in E2E_MODULES or (module, test) in E2E_TESTS:
        return True
    in_e2e = E2E_CASES.get((module, test))
    callspec = getattr(item, "callspec", None)
    return in_e2e is not None and callspec is not None and in_e2e(callspec.params)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if is_e2e(item):
            item.add_marker(pytest.mark.e2e)
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="a soak test: run with --soak (its figure is in bench/http_transport.py)")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
