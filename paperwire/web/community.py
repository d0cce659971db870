"""The community pages: upvoting a paper (and taking it back), submitting one to today's
list, /trending over a day, week or month, and an author's papers.

An upvote is a plain form that posts and redirects back (303) to the page it came
from, so it works without JavaScript; a script may post the same form with
`Accept: application/json` and get the new count instead. The rule (one per user
per paper, exact under concurrency) is the store's primary key (store/community.py).
What may be submitted is submissions.py's; this module passes it the arXiv fetcher.
The trending formula and its reasons are trending.py's; the store gathers the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperwire import feed, submissions, trending
from paperwire.papers import Paper
from paperwire.sources import arxiv_api, fetchers
from paperwire.web import pagecache, pages, params
from paperwire.web.sessions import (
    checked_form, client_address, clock, local_path, now, refuse_if_limited, require_user,
)


async def upvote(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/upvote`."""
    form = await checked_form(request)
    return await run_in_threadpool(_vote, request, form, is_upvote=True)


async def unvote(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/unvote`: takes the user's upvote back."""
    form = await checked_form(request)
    return await run_in_threadpool(_vote, request, form, is_upvote=False)


def _vote(request: Request, form: FormData, *, is_upvote: bool) -> Response:
    user = require_user(request)
    refuse_if_limited(request.app.state.rate_limits.upvote(str(user.id), clock()))
    store = request.app.state.store
    arxiv_id = store.get_paper(params.arxiv_id(request.path_params["arxiv_id"])).arxiv_id  # NotFound: 404
    if is_upvote:
        store.upvote(user.id, arxiv_id, now=now())
    else:
        store.unvote(user.id, arxiv_id)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": True, "upvote_count": store.upvote_count(arxiv_id), "is_upvoted": is_upvote})
    back = local_path(str(form.get("next", ""))) if form.get("next") else f"/paper/{arxiv_id}"
    return RedirectResponse(back, status_code=303)


# --- submissions ---------------------------------------------------------------------------

def submit_page(request: Request) -> Response:
    """`GET /submit`: today's community list, who submitted each paper, and the form."""
    return _submit_page(request)


def _submit_page(request: Request, *, status: int = 200, result: submissions.SubmitResult | None = None,
                 text: str = "") -> Response:
    store, today = request.app.state.store, now().date()
    listed = store.submissions(today)
    papers = store.get_papers(s.arxiv_id for s in listed) if listed else {}
    return pages.render(
        request, "submit.html", status=status, result=result, text=text, today=today,
        items=[(papers[s.arxiv_id], s) for s in listed if s.arxiv_id in papers],
        window_days=request.app.state.settings.submit_window_days, page_title="Submit a paper · paperwire",
    )


async def submit(request: Request) -> Response:
    """`POST /submit`: an arXiv id or URL onto today's list; the page again with why if not."""
    form = await checked_form(request)
    return await run_in_threadpool(_submit, request, str(form.get("paper", "")))


def _submit(request: Request, text: str) -> Response:
    user = require_user(request)
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))
    settings = request.app.state.settings
    result = submissions.submit(
        request.app.state.store, text, user_id=user.id, now=now(), window_days=settings.submit_window_days,
        fetch=lambda arxiv_id: fetchers.arxiv(settings, arxiv_api.Query(ids=(arxiv_id,)), max_results=1),
    )
    if result.is_submitted:
        return RedirectResponse("/submit", status_code=303)
    return _submit_page(request, status=400, result=result, text=text)


# --- trending and authors -------------------------------------------------------------

TRENDING_SHOWN = 50
AUTHOR_PAGE_SIZE = feed.PAGE_SIZE  # 50, as a day's page


@pagecache.kept
def trending_page(request: Request) -> Response:
    """`/trending?window=day|week|month` (default week): papers by local upvotes, Hugging
    Face's listings and stars, faded by age, each saying why it is there."""
    window, items = trending_now(request)
    return pages.render(
        request, "trending.html", window=window, windows=list(trending.WINDOWS), items=items,
        shown=[paper.arxiv_id for _, paper in items],
        feed_url=f"/trending/feed.{{}}?window={window.name}", page_title=f"Trending this {window.name} · paperwire",
    )


def trending_now(request: Request) -> tuple[trending.Window, list[tuple[trending.TrendingItem, object]]]:
    """The request's `?window=` (default week) and its trending papers, best first, as
    /trending, its feeds (web/feeds.py) and the API (/api/v1/trending) all show them."""
    name = request.query_params.get("window", "week")
    window = trending.WINDOWS.get(name)
    if window is None:
        raise HTTPException(400, f"window {name[:20]!r} is not a trending window; use {', '.join(trending.WINDOWS)}")
    store, at = request.app.state.store, now()
    items = trending.trending(store.trending_rows(since=at - window.span), now=at, window=window)[:TRENDING_SHOWN]
    papers = store.get_papers(item.arxiv_id for item in items) if items else {}
    return window, [(item, papers[item.arxiv_id]) for item in items if item.arxiv_id in papers]


@dataclass(frozen=True)
class AuthorPapers:
    """One page of an author's papers, newest first, and how many there are in all."""

    name: str
    papers: list[Paper]
    page: int
    page_size: int
    page_count: int
    paper_count: int


def author_papers(request: Request, *, page_size: int = AUTHOR_PAGE_SIZE) -> AuthorPapers:
    """Page `?page=` of the path's author's papers, as /author/<name> and /api/v1/authors/<name>
    list them; raises HTTPException(404) for a page past the last (400 for a bad number)."""
    name, page = request.path_params["name"], params.page(request)
    store = request.app.state.store
    found = store.papers_by_author(name, among=request.app.state.search.author_candidates(store, name))
    page_count = feed.page_count(len(found), page_size=page_size)
    if page > page_count:
        raise HTTPException(404, f"{name[:80]!r} has {page_count} page(s) of papers here, not {page}")
    return AuthorPapers(name=name, papers=found[(page - 1) * page_size:page * page_size], page=page,
                        page_size=page_size, page_count=page_count, paper_count=len(found))


@pagecache.kept
def author_page(request: Request) -> Response:
    """`/author/{name}?page=`: the author's papers in this store, newest first, paged."""
    found = author_papers(request)
    return pages.render(request, "author.html", name=found.name, author=found,
                        shown=[p.arxiv_id for p in found.papers], path="/author/" + quote(found.name, safe=""),
                        page_title=f"{found.name} · paperwire")
