"""How many items a window's pages ask for, so that a page stays under ``VEEAM_EM_MAX_RESPONSE_BYTES``.

Pages are sized by what they carry: a job entity holds its members (~2 KB per VM in XML), so a page of jobs
can pass ``VEEAM_EM_MAX_RESPONSE_BYTES`` where a page of tasks never does. Page 1 tells what an item weighs;
when the window's other pages at that size would pass half the cap, the window is read again at the size that
fits (one more request, not a failed one). A page too large all the same is asked for again in smaller pages.

Apart from the reader (``querying``) because it is arithmetic over sizes and bytes, no request: the reader asks
it before a read and after page 1, and its tests check it without a server.
"""

from __future__ import annotations

MIN_PAGE_SIZE = 10
_RANGE_SLACK = 0.1  # a range between two boundaries holds about one page; room for ties and late items
_BUDGET = 0.5  # of VEEAM_EM_MAX_RESPONSE_BYTES, a page is sized to carry: items weigh more than page 1's average


def range_size(size: int) -> int:
    """Items asked for per range between two page boundaries (a range holds about one page)."""
    return size + max(MIN_PAGE_SIZE, int(size * _RANGE_SLACK))


def fitting_size(size: int, per_item: float, cap: int) -> int:
    """The largest page size, at most ``size``, whose ranges carry at most ``_BUDGET`` of the cap when every
    item weighs ``per_item`` bytes (page 1's average); never below ``MIN_PAGE_SIZE``."""
    if per_item <= 0:
        return size
    fits = size
    while fits > MIN_PAGE_SIZE and range_size(fits) * per_item > cap * _BUDGET:
        fits = max(MIN_PAGE_SIZE, min(fits - 1, int(cap * _BUDGET / per_item / (1 + _RANGE_SLACK))))
    return fits
