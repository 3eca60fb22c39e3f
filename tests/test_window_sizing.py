# Window pages sized by what they carry (services.page_sizing, asked by services.querying): a page of jobs holds
# every member, so the size that suits tasks would pass VEEAM_EM_MAX_RESPONSE_BYTES; page 1 tells what a job weighs
# and the window is read at a size whose pages stay under the cap, instead of failing and halving. On the simulator
# over ASGI, at a cap scaled to the estate (a 100,000-VM estate against the default 16 MiB would take minutes to
# build).

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from veeam_em_mcp.client import EnterpriseManagerClient
from veeam_em_mcp.models.arguments import ListJobsArgs
from veeam_em_mcp.services.context import EmContext
from veeam_em_mcp.services.jobs import list_jobs
from veeam_em_mcp.services.page_sizing import MIN_PAGE_SIZE, fitting_size, range_size
from veeam_em_mcp.simulator.app import create_app
from veeam_em_mcp.simulator.config import SimulatorConfig
from veeam_em_mcp.simulator.dataset import build_dataset

from .conftest import ANCHOR, make_settings

pytestmark = pytest.mark.anyio
PAGE = 40  # jobs per page asked for (VEEAM_EM_PAGE_SIZE): the estate's ~90 jobs are three pages


class Weighed(httpx.AsyncBaseTransport):
    """The simulator over ASGI, noting the page size asked for and the bytes of every ``type=Job`` query page."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.pages: list[tuple[int, int]] = []  # (pageSize, body bytes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.params.get("type") == "Job":
            body = await response.aread()
            self.pages.append((int(request.url.params["pageSize"]), len(body)))
            return httpx.Response(response.status_code, headers=response.headers, content=body, request=request)
        return response


async def answer(estate: Any, cap: int, calls: int = 1) -> tuple[list[dict[str, Any]], Weighed]:
    """``calls`` whole list_jobs answers through one context, and the Job pages they read."""
    transport = Weighed(create_app(SimulatorConfig(), estate))
    settings = make_settings(env={"VEEAM_EM_PAGE_SIZE": str(PAGE), "VEEAM_EM_MAX_RESPONSE_BYTES": str(cap)})
    async with EnterpriseManagerClient(settings, transport=transport) as client:
        em = EmContext(settings, client)
        dumps = [await every_job(em) for _ in range(calls)]
    return dumps, transport


async def every_job(em: EmContext) -> dict[str, Any]:
    """A list_jobs answer whole (its cursor followed), without what a re-read may change (its EM requests)."""
    args = ListJobsArgs(page_size=200)
    first = page = await list_jobs(em, ANCHOR, args)
    rows = [row.model_dump() for row in page.jobs]
    while page.next_cursor:
        page = await list_jobs(em, ANCHOR, args, page.next_cursor)
        rows += [row.model_dump() for row in page.jobs]
    dump = first.model_dump(exclude={"em_requests", "jobs", "next_cursor"})
    dump["note"] = re.sub(r"[\d.]+ min ago", "N min ago", dump.get("note") or "")  # EM's freshness, by the clock
    return {**dump, "jobs": rows}


async def test_job_pages_are_sized_by_what_page_1_weighs() -> None:
    estate = build_dataset(anchor=ANCHOR, vm_count=2000, days=1)
    (unbounded,), roomy = await answer(estate, 1 << 30)
    page_1 = roomy.pages[0][1]  # PAGE jobs with their members
    # A cap page 1 fits under, but a range at the old size (PAGE and its slack) would not: the old code failed
    # there and halved.
    cap = int(page_1 * 1.2)
    assert page_1 * range_size(PAGE) / PAGE > cap
    (first, again), weighed = await answer(estate, cap, calls=2)
    assert first == unbounded and again == unbounded  # the same jobs, rows and notes
    assert max(size for _, size in weighed.pages) <= cap  # no page over the cap: none refused, none halved
    sizes = [size for size, _ in weighed.pages if size > 1]  # page 1 and the ranges (probes ask for one item)
    fitted = fitting_size(PAGE, page_1 / PAGE, cap)
    assert MIN_PAGE_SIZE <= fitted < PAGE
    # Page 1 at the size asked for, then the window again at the size that fits (its pages and its ranges); the
    # second call sizes its first page by what the first call's weighed: no page at the old size at all.
    assert sizes[:2] == [PAGE, fitted] and sizes.count(PAGE) == 1
    assert all(size <= range_size(fitted) for size in sizes[1:])
