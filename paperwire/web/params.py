"""What a URL asks for: the day, page and arXiv id in paths and query strings.

Pages and the JSON API read their parameters through these functions, so both
refuse the same values with the same messages; a refusal is an HTTPException,
which the app's one error handler renders for the layer that asked.
"""

from __future__ import annotations

import re
from datetime import date

from starlette.exceptions import HTTPException
from starlette.requests import Request

from paperwire.papers import InvalidArxivId, parse_arxiv_id

MAX_PAGE = 10_000  # far past any real day (1,000 papers at 50 a page is 20 pages)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PAGE = re.compile(r"[0-9]{1,5}")


def day(text: str, *, status: int = 404) -> date:
    """The day `text` names as YYYY-MM-DD; raises HTTPException(`status`) for anything else."""
    if _DAY.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise HTTPException(status, f"{text!r} is not a day; use YYYY-MM-DD, e.g. 2025-03-01")


def page(request: Request) -> int:
    """The `page` query parameter, from 1 (the default); raises HTTPException(400) otherwise."""
    text = request.query_params.get("page", "1")
    if not _PAGE.fullmatch(text) or not 1 <= int(text) <= MAX_PAGE:
        raise HTTPException(400, f"page {text!r} is not a page number; use 1, 2, 3, ...")
    return int(text)


def arxiv_id(text: str) -> str:
    """The arXiv id (without version) that `text` names; raises HTTPException(404) otherwise."""
    try:
        return parse_arxiv_id(text)[0]
    except InvalidArxivId as error:
        raise HTTPException(404, str(error)) from None
