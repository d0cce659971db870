"""The week and month pages: `/week/YYYY-Www` and `/month/YYYY-MM` (and `/week`, `/month`
for the latest), a period's papers by its daily lists or by trending, filtered by category.

Which papers and in which order is periods.py's; this module reads the URL, asks it,
and renders period.html with the day page's cards.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire import periods
from paperwire.web import pagecache, pages, params
from paperwire.web.sessions import now


def latest_week(request: Request) -> Response:
    """`/week`: the week of the latest day with papers (today's on an empty store)."""
    return RedirectResponse(f"/week/{periods.week_of(_latest_day(request)).name}", status_code=302)


def latest_month(request: Request) -> Response:
    """`/month`: the month of the latest day with papers (today's on an empty store)."""
    return RedirectResponse(f"/month/{periods.month_of(_latest_day(request)).name}", status_code=302)


@pagecache.kept
def week_page(request: Request) -> Response:
    """`/week/YYYY-Www?cat=&sort=list|trending&page=`."""
    return _period_page(request, periods.week, request.path_params["week"])


@pagecache.kept
def month_page(request: Request) -> Response:
    """`/month/YYYY-MM?cat=&sort=list|trending&page=`."""
    return _period_page(request, periods.month, request.path_params["month"])


def _latest_day(request: Request):
    return request.app.state.store.latest_day() or now().date()


def _period_page(request: Request, parse, text: str) -> Response:
    try:
        period = parse(text)
    except ValueError as error:
        raise HTTPException(404, str(error)) from None
    if period.name != text:  # 2026-W7 is 2026-W07: one address per page
        return RedirectResponse(f"/{period.kind}/{period.name}", status_code=301)
    category, sort, page = params.category_filter(request), params.period_sort(request, periods.SORTS), \
        params.page(request)
    found = periods.period_feed(request.app.state.store, period, now=now(), page=page, category=category, sort=sort)
    if found.page > found.page_count:
        raise HTTPException(404, f"{period.name} has {found.page_count} page(s) of papers, not {found.page}")
    heading = _heading(period)
    weeks = sorted({pages.iso_week(day) for day in period.days})
    return pages.render(request, "period.html", feed=found, shown=pages.feed_ids(found), heading=heading, sorts=periods.SORTS, weeks=weeks,
                        category_path=f"/{period.kind}/{period.name}", page_title=f"{heading} · paperwire")


def _heading(period: periods.Period) -> str:
    if period.kind == "month":
        return f"{period.first:%B %Y}"
    return f"Week {period.name} ({pages.short_day(period.first)} to {pages.short_day(period.last)})"
