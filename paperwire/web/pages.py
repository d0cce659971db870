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
from functools import cache, lru_cache
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, RedirectResponse, Response

from paperwire import __version__, activity, feed, periods, thumbnails, topicmap
from paperwire.jobs.runner import Job, JobState
from paperwire.papers import Author, code_links, display_text, is_day_only
from paperwire.search import Filters
from paperwire.search.text import name_words
from paperwire.search.service import MAX_RESULT_WINDOW, SearchBusy
from paperwire.web import cards, charts, csrf, pagecache, params, sessions
from paperwire.web.math import to_html as math_html
from paperwire.bibtex import to_bibtex

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
AUTHORS_SHOWN = 4  # on the daily page; the paper page lists every author
PREVIEW_CHARS = 320  # of an abstract on the daily page
STATUS_RUN_COUNT = 30
# The status page shows this process's jobs (when each last looked), not only the store, so
# a kept copy is made again at least this often; per view it cost 3-4 times a static file's
# p95 at 20 clients (bench/web.py, docs/web.md).
STATUS_MAX_AGE_SECONDS = 5.0
SEARCH_PAGE_SIZE = 20
SIMILAR_COUNT = 6  # on a paper's page
CODE_LINKS_KEPT = 8192  # abstracts whose first repository link is remembered (_named_code)
MARKERS_KEPT = 1024  # compiled <mark> patterns remembered, one per distinct set of matched words (_marker)
THUMBNAIL_MAX_AGE_SECONDS = 365 * 24 * 3600  # a kept thumbnail never changes
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


def searched_authors(authors: tuple[Author, ...], wanted: tuple[str, ...], shown: int = AUTHORS_SHOWN) -> Markup:
    """The first `shown` authors, plus any further one that an `author:` of the query
    matched, with those names in <mark>: a search by author shows why a paper is there.
    A name matches when it has every word of the query's author (accents ignored)."""
    wanted_words = [set(name_words(w)) for w in wanted]
    if not wanted_words:  # most searches name no author: only the first `shown` are read
        authors = authors[: shown + 1]  # (one more tells whether "et al." follows)

    def matches(author: Author) -> bool:
        if not wanted_words:
            return False
        own = set(name_words(display_text(author.name)))
        return any(words and words <= own for words in wanted_words)

    parts, last = [], -1
    for i, author in enumerate(authors):
        if i < shown or matches(author):
            if i != last + 1:
                parts.append(Markup("…"))  # authors left out in between
            name = display_text(author.name)
            parts.append(Markup("<mark>%s</mark>") % name if matches(author) else escape(name))
            last = i
    more = Markup(" et al.") if last < len(authors) - 1 else Markup("")
    return Markup(", ").join(parts) + more


def long_day(day: date | None) -> str:
    return f"{day:%A}, {day.day} {day:%B %Y}" if day else ""


def short_day(day: date | None) -> str:
    return f"{day:%a} {day.day} {day:%b %Y}" if day else ""


def iso_week(day: date) -> str:
    """The ISO week of `day` as YYYY-Www, as /week/<week>/map spells it."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


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
    wanted = tuple(sorted({w for w in words if w}, key=lambda w: (-len(w), w)))
    if not wanted:
        return escape(text)
    if all(_WORD_RUN.fullmatch(w) for w in wanted) and not _ENTITY_WORDS.intersection(w.lower() for w in wanted):
        # Escaping only adds entities of non-word characters around these words, so no wanted
        # word can match inside one, and one pass over the escaped text marks the same words:
        # 15 % of a search page's CPU went to the piecewise form below (py-spy, 75k papers).
        return Markup(_marker(wanted).sub(r"<mark>\g<0></mark>", str(escape(text))))
    pieces, start = [], 0
    for match in _marker(wanted).finditer(text):
        pieces += [escape(text[start:match.start()]), Markup("<mark>%s</mark>") % match.group(0)]
        start = match.end()
    pieces.append(escape(text[start:]))
    return Markup("").join(pieces)


# The word runs of the entities markupsafe writes (&amp; &lt; &gt; &#34; &#39;), case-blind.
_ENTITY_WORDS = frozenset({"amp", "lt", "gt", "34", "39"})
_WORD_RUN = re.compile(r"\w+")  # what matched_words gives; anything else takes the piecewise form


@lru_cache(maxsize=MARKERS_KEPT)
def _marker(wanted: tuple[str, ...]) -> re.Pattern:
    # Compiling this per card was a tenth of a search page's CPU (py-spy): the search page
    # marks every card with the words matched anywhere on it, one pattern per page, kept.
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, wanted)) + r")(?!\w)", re.IGNORECASE)


def code_url(paper) -> str | None:
    """The paper's code link: the one a source gave, else the first repository its
    abstract or comments name (papers.code_links); None if neither."""
    return safe_url(paper.code_url) or _named_code(paper.abstract, paper.comments)


@lru_cache(maxsize=CODE_LINKS_KEPT)
def _named_code(abstract: str, comments: str | None) -> str | None:
    # Kept by text: scanning an abstract for repositories was 7 % of a search page's CPU (py-spy).
    return next(iter(code_links(abstract, comments)), None)


def thumbnail_src(request: Request, arxiv_id: str) -> str | None:
    """The address of the paper's thumbnail if one is kept, else None (the card shows none)."""
    if thumbnails.has_thumbnail(request.app.state.settings.cache_path, arxiv_id):
        return f"/thumbnail/{arxiv_id}.webp"
    return None


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
        # Templates ship with the package and change only with it: checking each one's
        # file time on every render was a tenth of a search page's CPU (py-spy, bench/web.py).
        auto_reload=False,
    )
    env.filters.update(
        display=display_text, preview=preview, short_authors=short_authors, safe_url=safe_url,
        long_day=long_day, short_day=short_day, utc_time=utc_time, highlight=highlight, math=math_html,
        iso_week=iso_week, code_url=code_url,
        searched_authors=searched_authors,
    )
    env.globals.update(static_url=static_url, version=__version__, duration=duration, authors_shown=AUTHORS_SHOWN,
                       page_href=params.page_href, thumbnail_src=thumbnail_src,
                       form_token=lambda request: form_token(request),  # defined below
                       card_text=lambda paper: cards.card_text(env, paper))
    return env


ENV = _environment()


def render(request: Request, template: str, *, status: int = 200, shown: Iterable[str] = (),
           **context) -> HTMLResponse:
    """The page `template` with `context`; `shown`, the arXiv ids of the papers it lists,
    lets their upvote and comment counts be read in one query each rather than one a card."""
    context = {**sessions.page_context(request, shown=shown), "page_title": "paperwire", **context}
    html = ENV.get_template(template).render(request=request, **context)
    response = HTMLResponse(html, status_code=status)
    new_session_id = request.state._state.get("new_session_id")
    if new_session_id is not None:  # a form on the page (form_token) gave the visitor a session
        csrf.set_session_cookie(response, request, new_session_id)
    return response


def form_token(request: Request) -> str:
    """The CSRF token for a form that anyone may post (the digest subscribe box): the
    session's, or for a visitor without one a new anonymous session's, whose cookie
    render() then sets (csrf.anonymous_session_id; OWASP: forms before login carry one too).
    A page being kept for everyone gets a placeholder that pagecache fills in per visitor."""
    if pagecache.is_keeping(request):
        request.state.has_form_token = True
        return pagecache.FORM_TOKEN_PLACEHOLDER
    session_id = request.state._state.get("new_session_id")
    if session_id is None:
        session_id, is_new = csrf.anonymous_session_id(request)
        if is_new:
            request.state.new_session_id = session_id
    return csrf.csrf_token(request.app.state.secret_key, session_id)


def error(request: Request, status: int, message: str) -> HTMLResponse:
    """The HTML error page; the app's error handler calls it for every page that fails."""
    return render(request, "error.html", status=status, status_code=status, message=message,
                  page_title=f"{status} · paperwire")


# --- endpoints ----------------------------------------------------------------

@pagecache.kept
def latest(request: Request) -> Response:
    """`/`: the latest day with papers, or how to bring papers in when there are none."""
    day = request.app.state.store.latest_day()
    return _welcome(request) if day is None else _day_page(request, day)


@pagecache.kept
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
    category = params.category_filter(request)
    found = day_feed(request, day, category=category)
    return render(request, "day.html", feed=found, latest_day=latest_day, shown=feed_ids(found),
                  category_path=f"/day/{day.isoformat()}",
                  page_title=f"Papers of {short_day(day)}{f' in {category}' if category else ''} · paperwire")


def feed_ids(found) -> list[str]:
    """The arXiv ids of a day's or a period's page of cards."""
    return [item.paper.arxiv_id for item in found.items]


def day_feed(request: Request, day: date, *, category: str | None = None) -> feed.DayFeed:
    """The page of `day` that the request's `?page=` asks for, only `category`'s papers if
    given; raises HTTPException(404) for a page past the day's last (the JSON API reads
    days through this too)."""
    page = feed.day_feed(request.app.state.store, day, page=params.page(request), category=category)
    if page.page > page.page_count:
        raise HTTPException(404, f"{day} has {page.page_count} page(s) of papers, not {page.page}")
    return page


@pagecache.kept
def day_map(request: Request) -> Response:
    """`/day/YYYY-MM-DD/map`: the topic map of the papers first published that day."""
    day = params.day(request.path_params["day"])
    return _map_page(request, periods.day_of(day), heading=f"Topics of {long_day(day)}", day=day)


@pagecache.kept
def week_map(request: Request) -> Response:
    """`/week/YYYY-Www/map`: the topic map of a week's papers, Monday to Sunday."""
    week = periods.week_of(params.week(request.path_params["week"]))
    heading = f"Topics of the week {week.name} ({short_day(week.first)} to {short_day(week.last)})"
    return _map_page(request, week, heading=heading, day=None)


@pagecache.kept
def month_map(request: Request) -> Response:
    """`/month/YYYY-MM/map`: the topic map of a month's papers (issue #14)."""
    try:
        period = periods.month(request.path_params["month"])
    except ValueError as error:
        raise HTTPException(404, str(error)) from None
    return _map_page(request, period, heading=f"Topics of {period.first:%B %Y}", day=None, month=period.name)


def _map_page(request: Request, period: periods.Period, *, heading: str, day: date | None,
              month: str | None = None) -> Response:
    """The map itself is topicmap.py's: the maps job makes recent ones ahead, and the store
    shares them between processes; pagecache keeps the page until the store changes."""
    made = topicmap.for_period(request.app.state.store, period, now=datetime.now(timezone.utc))
    days = period.days
    weeks = sorted({iso_week(d) for d in days}) if month else []
    return render(request, "map.html", made=made, heading=heading, day=day, week=iso_week(days[0]), days=days,
                  month=month, weeks=weeks, svg=charts.topic_map(made, title=heading),
                  titles={p.arxiv_id: p.title for p in made.points}, page_title=f"{heading} · paperwire")


def _welcome(request: Request) -> Response:
    today = datetime.now(timezone.utc).date()
    week_ago = date.fromordinal(today.toordinal() - 7)
    commands = [
        (command.format(today=today.isoformat(), week_ago=week_ago.isoformat()), what)
        for command, what in INGEST_EXAMPLES
    ]
    return render(request, "welcome.html", commands=commands, settings=request.app.state.settings,
                  harvest=harvest_state(request))


@pagecache.kept
def paper(request: Request) -> Response:
    """`/paper/<arxiv_id>`; a versioned id or other spelling redirects to the plain id."""
    raw = request.path_params["arxiv_id"]
    arxiv_id = params.arxiv_id(raw)
    if raw != arxiv_id:
        return RedirectResponse(f"/paper/{arxiv_id}", status_code=301)
    store = request.app.state.store
    found = store.get_paper(arxiv_id)  # NotFound becomes the 404 page
    return render(request, "paper.html", paper=found, entries=store.daily_entries_for(arxiv_id), shown=[arxiv_id],
                  bibtex=to_bibtex(found), **_similar(request, arxiv_id),
                  submission=store.submissions_for([arxiv_id]).get(arxiv_id),
                  page_title=f"{display_text(found.title)} · paperwire")


def _similar(request: Request, arxiv_id: str) -> dict:
    """Similar papers for the paper page and what to say about them (why they are by
    title words, or why there are none yet): the page never waits for the index."""
    hits, note = request.app.state.search.similar_with_note(request.app.state.store, arxiv_id, k=SIMILAR_COUNT)
    return {"similar": hits, "similar_note": note}


def search(request: Request) -> Response:
    """`/search?q=&mode=&sort=&cat=&from=&until=&has_code=&page=`: a page of search results,
    the search help when nothing was asked, and the index's progress while it is busy."""
    form = params.search_form(request)
    context = dict(form=form, examples=SEARCH_EXAMPLES, no_filters=Filters(),
                   index=request.app.state.search.state, busy=None)
    if form.is_empty:
        return render(request, "search.html", results=None, page_count=0, summary="",
                      page_title="Search · paperwire", **context)
    try:
        results = run_search(request, form)
    except SearchBusy as busy:  # a page says so and how far the index is; only the API answers 503
        return render(request, "search.html", results=None, page_count=0, summary="",
                      page_title="Search · paperwire", **{**context, "busy": str(busy)})
    page_count = min(-(-results.page.total_count // SEARCH_PAGE_SIZE), MAX_RESULT_WINDOW // SEARCH_PAGE_SIZE)
    return render(request, "search.html", results=results, page_count=page_count,
                  summary=match_summary(results.page), shown=[hit.paper.arxiv_id for hit in results.page.hits],
                  marked=sorted({w for hit in results.page.hits for w in hit.matched_words}),
                  page_title=f"{form.text.strip() or 'Search'} · paperwire", **context)


def match_summary(page) -> str:
    """What a search found, in words: "402 papers contain “test-time scaling”", with the
    papers added by meaning counted apart, since they need not contain the words."""
    query = page.query
    if query.phrases:
        wanted = " and ".join(f"“{p}”" for p in query.phrases)
    else:
        wanted = " or ".join(query.terms)
    without = " or ".join(f"“{e}”" if " " in e else e for e in query.excluded)
    count = page.keyword_count
    papers = f"{count:,} paper{'s' if count != 1 else ''}"
    if wanted:
        said = f"{papers} contain{'s' if count == 1 else ''} {wanted}" if count else f"No paper contains {wanted}"
        if without:
            said += f" without {without}"
    elif without:
        said = f"{papers} do{'es' if count == 1 else ''} not contain {without}"
    else:
        said = f"{papers} match{'es' if count == 1 else ''} the filters"
    if wanted and query.has_filters:
        said += " and match the filters" if count != 1 else " and matches the filters"
    if page.meaning_only_count:
        said += f"; {page.meaning_only_count:,} more {'are' if page.meaning_only_count != 1 else 'is'} similar in meaning"
    return said


def run_search(request: Request, form: params.SearchForm, *, page_size: int = SEARCH_PAGE_SIZE):
    """The SearchResults of `form`'s page of `page_size` hits (the JSON API searches through
    this too, with its own page size); raises HTTPException(400) for a page past the result
    window and HTTPException(404) for a page past the last one."""
    try:
        results = request.app.state.search.search(
            request.app.state.store, form.text, mode=form.mode, sort=form.sort, filters=form.filters,
            limit=page_size, offset=(form.page - 1) * page_size, now=datetime.now(timezone.utc),
        )
    except ValueError as error:  # a page past the result window; the form checked mode and sort
        raise HTTPException(400, str(error)) from None
    if form.page > 1 and not results.page.hits:
        raise HTTPException(404, f"this search has {results.page.total_count} results, fewer than page {form.page}")
    return results


def thumbnail(request: Request) -> Response:
    """`/thumbnail/<arxiv_id>.webp`: the paper's thumbnail as the thumbnails job kept it
    (re-encoded, never the original), cached for long: it is fetched once and never changes."""
    arxiv_id = params.arxiv_id(request.path_params["arxiv_id"])
    path = thumbnails.path_for(request.app.state.settings.cache_path, arxiv_id)
    if not path.is_file():
        raise HTTPException(404, f"there is no thumbnail of {arxiv_id} here")
    return FileResponse(path, media_type="image/webp",
                        headers={"Cache-Control": f"public, max-age={THUMBNAIL_MAX_AGE_SECONDS}, immutable"})


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


@pagecache.kept(max_age_seconds=STATUS_MAX_AGE_SECONDS)
def status(request: Request) -> Response:
    """`/status`: the background harvest, this process's jobs, recent job runs (failures first
    in view), the store."""
    store = request.app.state.store
    runs = store.recent_job_runs(limit=STATUS_RUN_COUNT)
    latest_by_job = {}
    for run in runs:  # newest first, so the first seen per job is its latest
        latest_by_job.setdefault(run.job, run)
    counts = activity.recent(store)
    return render(
        request, "status.html", runs=runs, stats=activity.store_stats(store), counts=counts,
        chart=charts.stacked_bars(counts.days, counts.series, title="Papers per day by primary category",
                                  id_prefix="per-day"),
        series_class=charts.series_class,
        failing=[r for r in latest_by_job.values() if r.status == "failed"],
        index=request.app.state.search.state, settings=request.app.state.settings,
        harvest=harvest_state(request), jobs=background_jobs(request),
        page_title="Status · paperwire",
    )
