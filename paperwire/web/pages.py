"""The HTML pages: the daily page, a paper's page with its BibTeX, the status page, errors.

Endpoints are plain functions, so Starlette runs them in its thread pool and the
synchronous store calls never block the event loop. They read the store through
the domain modules (feed, harvest) and leave every word of markup to the Jinja
templates, which escape everything: titles and abstracts come from upstream
sources and are untrusted.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from paperwire import __version__, feed
from paperwire.jobs.runner import Job, JobState
from paperwire.papers import Author, display_text, is_day_only
from paperwire.search import Filters
from paperwire.search.service import SearchBusy
from paperwire.web import params, sessions
from paperwire.web.bibtex import to_bibtex

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
AUTHORS_SHOWN = 4  # on the daily page; the paper page lists every author
PREVIEW_CHARS = 320  # of an abstract on the daily page
STATUS_RUN_COUNT = 30
SEARCH_PAGE_SIZE = 20
SIMILAR_COUNT = 6  # on a paper's page
# What the empty search page offers to try: (query, what it shows).
SEARCH_EXAMPLES = (
    ("diffusion models for protein design", "words and meaning, fused"),
    ('"retrieval augmented generation" -survey', "a phrase, without surveys"),
    ("author:hinton cat:cs.LG", "an author in a category"),
    ("speech recognition year:2025.. has:code", "recent papers with code"),
)
URL_SCHEMES = ("http", "https")  # links from sources with any other scheme are not shown

# The commands the empty store page suggests (they are paperwire's `ingest` commands;
# tests/web/test_daily.py checks that they exist).
INGEST_EXAMPLES = (
    ("paperwire ingest arxiv --category cs.CL --from {week_ago}",
     "the last week of a category from the arXiv API"),
    ("paperwire ingest hf --date {today}", "a day's Hugging Face daily papers list"),
    ("paperwire ingest file papers.jsonl.gz", "a JSONL export, plain records or the arXiv snapshot"),
)


# --- template environment -----------------------------------------------------

def safe_url(url: str | None) -> str | None:
    """`url` if it is an http(s) address, else None: a source could send `javascript:`."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    return url.strip() if parts.scheme.lower() in URL_SCHEMES and parts.netloc else None


def preview(text: str | None, chars: int = PREVIEW_CHARS) -> str:
    """The display text cut at a word boundary near `chars`, with an ellipsis if cut."""
    plain = display_text(text)
    if len(plain) <= chars:
        return plain
    return plain[:chars].rsplit(" ", 1)[0].rstrip(" ,;:.") + "…"


def short_authors(authors: tuple[Author, ...], shown: int = AUTHORS_SHOWN) -> str:
    names = [display_text(a.name) for a in authors]
    return ", ".join(names) if len(names) <= shown else ", ".join(names[:shown]) + " et al."


def long_day(day: date | None) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}" if day else ""


def short_day(day: date | None) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}" if day else ""


def utc_time(value: datetime | None) -> str:
    """A time as the source gave it: a bare date when it gave only a day (is_day_only),
    rather than an invented "00:00 UTC"."""
    if not value:
        return ""
    if is_day_only(value):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    seconds = max(int((end - start).total_seconds()), 0)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def highlight(text: str, words: Iterable[str]) -> Markup:
    """`text` as HTML with each of `words` (matched whole, case-blind) wrapped in <mark>.

    Every piece of the text is escaped and only the <mark> tags are ours. The text
    is split at the matches before escaping, not searched once escaped: a word
    such as "lt" or "amp" would otherwise match inside an entity like &lt;."""
    wanted = sorted({w for w in words if w}, key=len, reverse=True)
    if not wanted:
        return escape(text)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, wanted)) + r")(?!\w)", re.IGNORECASE)
    pieces, start = [], 0
    for match in pattern.finditer(text):
        pieces += [escape(text[start:match.start()]), Markup("<mark>%s</mark>") % match.group(0)]
        start = match.end()
    pieces.append(escape(text[start:]))
    return Markup("").join(pieces)


@cache
def static_url(name: str) -> str:
    """The address of a static file, versioned by its content so it can be cached for long."""
    digest = hashlib.blake2b((STATIC / name).read_bytes(), digest_size=6).hexdigest()
    return f"/static/{name}?v={digest}"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every template, whatever its name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        display=display_text, preview=preview, short_authors=short_authors, safe_url=safe_url,
        long_day=long_day, short_day=short_day, utc_time=utc_time, highlight=highlight,
    )
    env.globals.update(static_url=static_url, version=__version__, duration=duration, authors_shown=AUTHORS_SHOWN)
    return env


ENV = _environment()


def render(request: Request, template: str, *, status: int = 200, **context) -> HTMLResponse:
    context = {**sessions.page_context(request), "page_title": "paperwire", **context}
    html = ENV.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status)


def error(request: Request, status: int, message: str) -> HTMLResponse:
    """The HTML error page; the app's error handler calls it for every page that fails."""
    return render(request, "error.html", status=status, status_code=status, message=message,
                  page_title=f"{status} · paperwire")


# --- endpoints ----------------------------------------------------------------

def latest(request: Request) -> Response:
    """`/`: the latest day with papers, or how to bring papers in when there are none."""
    day = request.app.state.store.latest_day()
    return _welcome(request) if day is None else _day_page(request, day)


def day_page(request: Request) -> Response:
    """`/day/YYYY-MM-DD`."""
    return _day_page(request, params.day(request.path_params["day"]))


def pick_day(request: Request) -> Response:
    """`/day?day=YYYY-MM-DD`, what the date picker form sends: redirects to the day's page."""
    day = params.day(request.query_params.get("day", ""), status=400)
    return RedirectResponse(f"/day/{day.isoformat()}", status_code=302)


def _day_page(request: Request, day: date) -> Response:
    store = request.app.state.store
    latest_day = store.latest_day()
    if latest_day is None:
        return _welcome(request)
    return render(request, "day.html", feed=day_feed(request, day), latest_day=latest_day,
                  page_title=f"Papers of {short_day(day)} · paperwire")


def day_feed(request: Request, day: date) -> feed.DayFeed:
    """The page of `day` that the request's `?page=` asks for; raises HTTPException(404)
    for a page past the day's last (the JSON API reads days through this too)."""
    page = feed.day_feed(request.app.state.store, day, page=params.page(request))
    if page.page > page.page_count:
        raise HTTPException(404, f"{day} has {page.page_count} page(s) of papers, not {page.page}")
    return page


def _welcome(request: Request) -> Response:
    today = datetime.now(timezone.utc).date()
    week_ago = date.fromordinal(today.toordinal() - 7)
    commands = [
        (command.format(today=today.isoformat(), week_ago=week_ago.isoformat()), what)
        for command, what in INGEST_EXAMPLES
    ]
    return render(request, "welcome.html", commands=commands, settings=request.app.state.settings,
                  harvest=harvest_state(request))


def paper(request: Request) -> Response:
    """`/paper/<arxiv_id>`; a versioned id or other spelling redirects to the plain id."""
    raw = request.path_params["arxiv_id"]
    arxiv_id = params.arxiv_id(raw)
    if raw != arxiv_id:
        return RedirectResponse(f"/paper/{arxiv_id}", status_code=301)
    store = request.app.state.store
    found = store.get_paper(arxiv_id)  # NotFound becomes the 404 page
    return render(request, "paper.html", paper=found, entries=store.daily_entries_for(arxiv_id),
                  bibtex=to_bibtex(found), similar=_similar(request, arxiv_id),
                  submission=store.submissions_for([arxiv_id]).get(arxiv_id),
                  page_title=f"{display_text(found.title)} · paperwire")


def _similar(request: Request, arxiv_id: str) -> list:
    """Similar papers for the paper page, or none while the search index is busy: the
    page itself must not wait for it."""
    try:
        return request.app.state.search.similar(request.app.state.store, arxiv_id, k=SIMILAR_COUNT)
    except SearchBusy:
        return []


def search(request: Request) -> Response:
    """`/search?q=&mode=&sort=&cat=&from=&until=&has_code=&page=`: a page of search results,
    the search help when nothing was asked."""
    form = params.search_form(request)
    if form.is_empty:
        return render(request, "search.html", form=form, results=None, examples=SEARCH_EXAMPLES,
                      page_count=0, page_title="Search · paperwire")
    results = run_search(request, form)
    page_count = -(-results.page.total_count // SEARCH_PAGE_SIZE)
    return render(request, "search.html", form=form, results=results, examples=SEARCH_EXAMPLES,
                  page_count=page_count, no_filters=Filters(),
                  page_title=f"{form.text.strip() or 'Search'} · paperwire")


def run_search(request: Request, form: params.SearchForm):
    """The SearchResults of `form`'s page (the JSON API searches through this too); raises
    HTTPException(404) for a page past the last one."""
    results = request.app.state.search.search(
        request.app.state.store, form.text, mode=form.mode, sort=form.sort, filters=form.filters,
        limit=SEARCH_PAGE_SIZE, offset=(form.page - 1) * SEARCH_PAGE_SIZE, now=datetime.now(timezone.utc),
    )
    if form.page > 1 and not results.page.hits:
        raise HTTPException(404, f"this search has {results.page.total_count} results, fewer than page {form.page}")
    return results


def paper_bibtex(request: Request) -> Response:
    """`/paper/<arxiv_id>.bib`: the BibTeX entry as text."""
    found = request.app.state.store.get_paper(params.arxiv_id(request.path_params["arxiv_id"]))
    filename = found.arxiv_id.replace("/", "_") + ".bib"
    return PlainTextResponse(to_bibtex(found),
                             headers={"Content-Disposition": f'inline; filename="{filename}"'})


def background_jobs(request: Request) -> list[tuple[Job, JobState]]:
    """This process's background jobs and how each is doing; [] until the app has started them."""
    runner = request.app.state.jobs
    return [(job, runner.states[job.name]) for job in runner.jobs] if runner is not None else []


def harvest_state(request: Request) -> JobState | None:
    """How this process's background harvest is doing; None when it does not harvest."""
    return next((state for job, state in background_jobs(request) if job.name == "harvest"), None)


def status(request: Request) -> Response:
    """`/status`: the background harvest, this process's jobs, recent job runs (failures first
    in view), the store."""
    store = request.app.state.store
    runs = store.recent_job_runs(limit=STATUS_RUN_COUNT)
    latest_by_job = {}
    for run in runs:  # newest first, so the first seen per job is its latest
        latest_by_job.setdefault(run.job, run)
    return render(
        request, "status.html", runs=runs, stats=store.stats(),
        failing=[r for r in latest_by_job.values() if r.status == "failed"],
        settings=request.app.state.settings, harvest=harvest_state(request), jobs=background_jobs(request),
        page_title="Status · paperwire",
    )
