"""The HTML pages: the daily page, a paper's page with its BibTeX, the status page, errors.

Endpoints are plain functions, so Starlette runs them in its thread pool and the
synchronous store calls never block the event loop. They read the store through
the domain modules (feed, harvest) and leave every word of markup to the Jinja
templates, which escape everything: titles and abstracts come from upstream
sources and are untrusted.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from paperwire import __version__, feed
from paperwire.papers import Author, display_text
from paperwire.web import params
from paperwire.web.bibtex import to_bibtex

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
AUTHORS_SHOWN = 4  # on the daily page; the paper page lists every author
PREVIEW_CHARS = 320  # of an abstract on the daily page
STATUS_RUN_COUNT = 30
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
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def duration(start: datetime, end: datetime | None) -> str:
    if end is None:
        return ""
    seconds = max(int((end - start).total_seconds()), 0)
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


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
        long_day=long_day, short_day=short_day, utc_time=utc_time,
    )
    env.globals.update(static_url=static_url, version=__version__, duration=duration)
    return env


ENV = _environment()


def render(request: Request, template: str, *, status: int = 200, **context) -> HTMLResponse:
    context.setdefault("page_title", "paperwire")
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
                  harvester=request.app.state.harvester)


def paper(request: Request) -> Response:
    """`/paper/<arxiv_id>`; a versioned id or other spelling redirects to the plain id."""
    raw = request.path_params["arxiv_id"]
    arxiv_id = params.arxiv_id(raw)
    if raw != arxiv_id:
        return RedirectResponse(f"/paper/{arxiv_id}", status_code=301)
    store = request.app.state.store
    found = store.get_paper(arxiv_id)  # NotFound becomes the 404 page
    return render(request, "paper.html", paper=found, entries=store.daily_entries_for(arxiv_id),
                  bibtex=to_bibtex(found), page_title=f"{display_text(found.title)} · paperwire")


def paper_bibtex(request: Request) -> Response:
    """`/paper/<arxiv_id>.bib`: the BibTeX entry as text."""
    found = request.app.state.store.get_paper(params.arxiv_id(request.path_params["arxiv_id"]))
    filename = found.arxiv_id.replace("/", "_") + ".bib"
    return PlainTextResponse(to_bibtex(found),
                             headers={"Content-Disposition": f'inline; filename="{filename}"'})


def status(request: Request) -> Response:
    """`/status`: the background harvest, its recent job runs (failures first in view), the store."""
    store = request.app.state.store
    runs = store.recent_job_runs(limit=STATUS_RUN_COUNT)
    latest_by_job = {}
    for run in runs:  # newest first, so the first seen per job is its latest
        latest_by_job.setdefault(run.job, run)
    return render(
        request, "status.html", runs=runs, stats=store.stats(),
        failing=[r for r in latest_by_job.values() if r.status == "failed"],
        settings=request.app.state.settings, harvester=request.app.state.harvester,
        page_title="Status · paperwire",
    )
