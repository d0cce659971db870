"""What a URL asks for: the day, page and arXiv id in paths and query strings.

Pages and the JSON API read their parameters through these functions, so both
refuse the same values with the same messages; a refusal is an HTTPException,
which the app's one error handler renders for the layer that asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request

from paperwire.papers import InvalidArxivId, parse_arxiv_id
from paperwire.search import Filters
from paperwire.search.query import MAX_YEAR, MIN_YEAR
from paperwire.search.service import MODES, SORTS

MAX_PAGE = 10_000  # far past any real day (1,000 papers at 50 a page is 20 pages)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_PAGE = re.compile(r"[0-9]{1,5}")
_COUNT = re.compile(r"[0-9]{1,9}")
_YEAR = re.compile(r"[0-9]{4}")
_CATEGORY = re.compile(r"[A-Za-z\-]+(?:\.[A-Za-z\-]+)?")
_TRUE = ("1", "on", "true", "yes")


def day(text: str, *, status: int = 404) -> date:
    """The day `text` names as YYYY-MM-DD; raises HTTPException(`status`) for anything else."""
    if _DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise HTTPException(status, f"{text!r} is not a day; use YYYY-MM-DD, e.g. 2025-03-01")


def week(text: str) -> date:
    """The Monday of the ISO week `text` names as YYYY-Www; raises HTTPException(404) otherwise."""
    match = _WEEK.fullmatch(text)
    if match:
        try:
            return date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            pass
    raise HTTPException(404, f"{text!r} is not a week; use YYYY-Www (ISO 8601), e.g. 2025-W09")


def page(request: Request) -> int:
    """The `page` query parameter, from 1 (the default); raises HTTPException(400) otherwise."""
    text = request.query_params.get("page", "1")
    if not _PAGE.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE:
        raise HTTPException(400, f"page {text!r} is not a page number; use 1, 2, 3, ...")
    return int(text)


def page_size(request: Request, *, default: int, maximum: int) -> int:
    """The `page_size` query parameter, 1 to `maximum` (`default` when absent); raises
    HTTPException(400) otherwise, naming the limit."""
    text = request.query_params.get("page_size", "")
    if not text:
        return default
    if not _COUNT.fullmatch(text) or int(text) < 1:
        raise HTTPException(400, f"page_size {text!r} is not a number of papers; use 1 to {maximum}")
    if int(text) > maximum:
        raise HTTPException(400, f"page_size {text} is over the limit of {maximum} papers a page; "
                                 "ask for more pages instead")
    return int(text)


def arxiv_id(text: str) -> str:
    """The arXiv id (without version) that `text` names; raises HTTPException(404) otherwise."""
    try:
        return parse_arxiv_id(text)[0]
    except InvalidArxivId as error:
        raise HTTPException(404, str(error)) from None


def choice(request: Request, name: str, choices: tuple[str, ...]) -> str:
    """The query parameter `name`, one of `choices` (the first when absent or empty);
    raises HTTPException(400) for any other value."""
    text = request.query_params.get(name) or choices[0]
    if text not in choices:
        raise HTTPException(400, f"{name} {text!r} is not known; use one of {', '.join(choices)}")
    return text


def year(request: Request, name: str) -> int | None:
    """The query parameter `name` as a year, None when absent or empty; raises HTTPException(400) otherwise."""
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    if not _YEAR.fullmatch(text) or not MIN_YEAR <= int(text) <= MAX_YEAR:
        raise HTTPException(400, f"{name} {text!r} is not a year; use four digits, e.g. 2024")
    return int(text)


def search_filters(request: Request) -> Filters:
    """The search form's filters: `cat` (arXiv categories, space- or comma-separated),
    `from` and `until` (years), `has_code`; raises HTTPException(400) for a bad value."""
    categories = tuple(request.query_params.get("cat", "").replace(",", " ").split())
    for category in categories:
        if not _CATEGORY.fullmatch(category):
            raise HTTPException(400, f"cat {category!r} is not an arXiv category; use e.g. cs.CL")
    return Filters(
        categories=categories, year_from=year(request, "from"), year_to=year(request, "until"),
        has_code=request.query_params.get("has_code", "").lower() in _TRUE,
    )


@dataclass(frozen=True)
class SearchForm:
    """What `/search` and `/api/search` were asked: the text, mode, sort, filters and page."""

    text: str = ""
    mode: str = MODES[0]
    sort: str = SORTS[0]
    filters: Filters = field(default_factory=Filters)
    page: int = 1

    @property
    def is_empty(self) -> bool:
        return not self.text.strip() and self.filters == Filters()

    def url(self, path: str = "/search", **changes) -> str:
        """The address of this form at `path` (/search, or its feed and exports) with
        `changes` to its fields, defaults left out."""
        form = replace(self, **changes)
        values = {
            "q": form.text, "mode": form.mode, "sort": form.sort, "cat": " ".join(form.filters.categories),
            "from": form.filters.year_from, "until": form.filters.year_to,
            "has_code": "1" if form.filters.has_code else None, "page": form.page,
        }
        defaults = {"mode": MODES[0], "sort": SORTS[0], "page": 1}
        kept = {k: v for k, v in values.items() if v not in (None, "") and defaults.get(k) != v}
        return f"{path}?{urlencode(kept)}" if kept else path


def category(text: str) -> str:
    """`text` if it reads as an arXiv category (cs.CL, hep-th); raises HTTPException(404) otherwise."""
    if not _CATEGORY.fullmatch(text):
        raise HTTPException(404, f"{text!r} is not an arXiv category; use e.g. cs.CL or hep-th")
    return text


def search_form(request: Request) -> SearchForm:
    """The search parameters of the request; raises HTTPException(400) for a bad value."""
    return SearchForm(
        text=request.query_params.get("q", ""), mode=choice(request, "mode", MODES),
        sort=choice(request, "sort", SORTS), filters=search_filters(request), page=page(request),
    )


def category_filter(request: Request) -> str | None:
    """The `cat` filter of a day, week or month page: one arXiv category, None when absent
    or empty (the form's "all categories"); raises HTTPException(400) otherwise."""
    text = request.query_params.get("cat", "").strip()
    if not text:
        return None
    if len(text) > 40 or not _CATEGORY.fullmatch(text):
        raise HTTPException(400, f"cat {text[:40]!r} is not an arXiv category; use one, e.g. cs.CL")
    return text


def period_sort(request: Request, sorts: tuple[str, ...]) -> str:
    """The `sort` of a week or month page, one of `sorts` (the first by default); raises
    HTTPException(400) naming them otherwise."""
    text = request.query_params.get("sort", "") or sorts[0]
    if text not in sorts:
        raise HTTPException(400, f"sort {text[:40]!r} is not a sort of this page; use {' or '.join(sorts)}")
    return text


def page_href(path: str, *, page: int = 1, **query: str | None) -> str:
    """`path` with the non-empty `query` values and `page` (left out when 1), as pagers,
    filters and sort switches link: the filter and sort stay in the URL from page to page."""
    pairs = [(name, value) for name, value in query.items() if value]
    if page > 1:
        pairs.append(("page", str(page)))
    return path + ("?" + urlencode(pairs) if pairs else "")
