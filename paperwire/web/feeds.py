"""Feeds over HTTP: Atom, RSS and JSON Feed for the pages that list papers.

Every list page has its feeds at the page's address plus `/feed.atom`,
`/feed.rss` or `/feed.json` (docs/api.md has the table): the latest day at
`/feed.*`, a day at `/day/<day>/feed.*`, trending at `/trending/feed.*?window=`, a search at `/search/feed.*?<the
search's query string>`, a category at `/category/<category>/feed.*` and an
author at `/author/<name>/feed.*`. A feed holds exactly the papers of the page it
follows, in the page's order, read through the same calls as the page
(pages.day_feed, pages.run_search); syndication.py writes the document.

Answers are conditional (RFC 9110, section 13): the ETag is a digest of the
document and Last-Modified the newest paper's update time, and a reader that
sends back what it has gets 304 while nothing changed.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from paperwire import syndication
from paperwire.config import SETTINGS
from paperwire.search import Filters
from paperwire.web import community, params
from paperwire.web.pages import day_feed, run_search, short_day

# format in the URL -> (writer, Content-Type). JSON Feed's type is from its spec, section 1.
FORMATS = {
    "atom": (syndication.atom, "application/atom+xml; charset=utf-8"),
    "rss": (syndication.rss, "application/rss+xml; charset=utf-8"),
    "json": (syndication.json_feed, "application/feed+json; charset=utf-8"),
}
# Readers may keep a feed this long without asking; the harvest adds papers a few
# times a day at most (PAPERWIRE_HARVEST_INTERVAL_MINUTES), and 304s are cheap.
FEED_MAX_AGE_SECONDS = 15 * 60
MAX_AUTHOR_CHARS = 200
DEFAULT_BASE_URL = next(s.default for s in SETTINGS if s.name == "base_url")
SITE = "paperwire"


def base_url(request: Request) -> str:
    """PAPERWIRE_BASE_URL once it is set, or else the address this request came to (without
    a trailing slash). Mail needs a default address, having no request; a feed has one,
    which is right more often than a default of 127.0.0.1."""
    configured = request.app.state.settings.base_url
    return configured if configured != DEFAULT_BASE_URL else str(request.base_url).rstrip("/")


# --- endpoints ------------------------------------------------------------------------

def latest(request: Request) -> Response:
    """`/feed.<format>`: the newest day's papers (an empty feed while the store is empty)."""
    day = request.app.state.store.latest_day()
    papers = [item.paper for item in day_feed(request, day).items] if day else []
    return _answer(request, title=f"{SITE}: the latest papers",
                   description="The papers of the newest day, as the daily page lists them.", page_path="/",
                   papers=papers)


def day(request: Request) -> Response:
    """`/day/<YYYY-MM-DD>/feed.<format>`, with the page's `?page=`."""
    feed = day_feed(request, params.day(request.path_params["day"]))
    page = f"?page={feed.page}" if feed.page > 1 else ""
    return _answer(request, title=f"{SITE}: papers of {short_day(feed.day)}",
                   description="The day's community list first, then the day's other papers, newest first.",
                   page_path=f"/day/{feed.day.isoformat()}{page}", papers=[item.paper for item in feed.items])


def search(request: Request) -> Response:
    """`/search/feed.<format>?q=&mode=&sort=&cat=&from=&until=&has_code=&page=`: the search's page."""
    form = params.search_form(request)
    if form.is_empty:
        raise HTTPException(400, "a search feed needs something to search for; add q= or a filter such as cat=")
    return _search_answer(request, form, title=f"{SITE}: search {_describe(form)}")


def category(request: Request) -> Response:
    """`/category/<category>/feed.<format>`: the category's newest papers (its search, newest first)."""
    name = params.category(request.path_params["category"])
    form = params.SearchForm(sort="newest", filters=Filters(categories=(name,)))
    return _search_answer(request, form, title=f"{SITE}: newest in {name}")


def author(request: Request) -> Response:
    """`/author/<name>/feed.<format>`: the author's newest papers (the search author:"<name>", newest first)."""
    name = " ".join(request.path_params["name"].replace('"', " ").split())
    if not name or len(name) > MAX_AUTHOR_CHARS:
        raise HTTPException(404, f"an author feed needs a name of 1 to {MAX_AUTHOR_CHARS} characters, "
                                 "e.g. /author/Ada Lovelace/feed.atom")
    form = params.SearchForm(text=f'author:"{name}"', sort="newest")
    return _search_answer(request, form, title=f"{SITE}: papers by {name}")


def trending(request: Request) -> Response:
    """`/trending/feed.<format>?window=day|week|month`: the trending page's papers, best first."""
    window, items = community.trending_now(request)
    return _answer(request, title=f"{SITE}: trending this {window.name}",
                   description="Papers by upvotes here and on Hugging Face and by stars, faded by age.",
                   page_path=f"/trending?window={window.name}", papers=[paper for _, paper in items])


def _search_answer(request: Request, form: params.SearchForm, *, title: str) -> Response:
    hits = run_search(request, form).page.hits
    return _answer(request, title=title, description="Papers that match this search, in the search page's order.",
                   page_path=form.url(), papers=[hit.paper for hit in hits])


def _describe(form: params.SearchForm) -> str:
    words = [f'"{form.text.strip()}"'] if form.text.strip() else []
    words += [f"in {c}" for c in form.filters.categories]
    if form.filters.year_from or form.filters.year_to:
        words.append(f"{form.filters.year_from or '…'}–{form.filters.year_to or '…'}")
    if form.filters.has_code:
        words.append("with code")
    return " ".join(words)


def _answer(request: Request, *, title: str, description: str, page_path: str, papers: list) -> Response:
    write, media_type = _format(request)
    base = base_url(request)
    feed = syndication.Feed(title=title, description=description, page_url=base + page_path, base_url=base,
                            papers=tuple(papers))
    # The path as sent: Starlette gives it decoded, and an author's name may have spaces.
    self_url = base + quote(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    return conditional(request, write(feed, self_url=self_url), media_type=media_type,
                       last_modified=feed.updated_at)


def _format(request: Request):
    name = request.path_params["format"]
    if name not in FORMATS:
        raise HTTPException(404, f"there is no feed format {name!r}; use feed.atom, feed.rss or feed.json")
    return FORMATS[name]


# --- conditional GET ------------------------------------------------------------------

def conditional(request: Request, body: bytes, *, media_type: str, last_modified: datetime) -> Response:
    """`body` with ETag, Last-Modified and Cache-Control, or 304 Not Modified with the same
    headers when the request's If-None-Match (or, without one, If-Modified-Since) says
    the client has it already."""
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(last_modified.astimezone(timezone.utc), usegmt=True),
        "Cache-Control": f"public, max-age={FEED_MAX_AGE_SECONDS}",
    }
    if is_fresh(request.headers, etag=etag, last_modified=last_modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def is_fresh(headers, *, etag: str, last_modified: datetime) -> bool:
    """Whether the client's copy is current. If-None-Match wins when both are sent
    (RFC 9110, 13.1.3), compared weakly (13.1.2: a W/ prefix does not matter);
    an If-Modified-Since that is not an HTTP date is ignored (13.1.3)."""
    if "if-none-match" in headers:
        sent = [tag.strip().removeprefix("W/") for tag in headers["if-none-match"].split(",")]
        return "*" in sent or etag in sent
    since = headers.get("if-modified-since")
    if not since:
        return False
    try:
        since_at = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    if since_at.tzinfo is None:  # an obsolete date form without a zone; HTTP dates are GMT
        since_at = since_at.replace(tzinfo=timezone.utc)
    return last_modified.replace(microsecond=0) <= since_at
