"""The JSON API v1 (`/api/v1/...`), its OpenAPI document and its docs page.

v1 answers as the unversioned /api/ routes did (app.py keeps those as aliases)
and adds `page_size` (1 to openapi.MAX_PAGE_SIZE) to the lists. Papers, similar
papers and status are api.py's handlers as they are; the day and the search
are here because they page. openapi.py describes every route; `/api/docs`
renders that same document as a server-side page that needs no script.
"""

from __future__ import annotations

from functools import cache
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from paperwire import feed
from paperwire.papers import to_dict
from paperwire.search.service import results_to_dict
from paperwire.web import api, community, openapi, openapi_library, params
from paperwire.web.pages import render, run_search

MAX_AUTHOR_CHARS = 200

# The v1 handlers that api.py already has, unchanged.
paper, similar, status = api.paper, api.similar, api.status


def day(request: Request) -> JSONResponse:
    """`/api/v1/days/<YYYY-MM-DD|latest>?page=&page_size=`."""
    wanted = api.latest_or_day(request)
    size = params.page_size(request, default=openapi.DAY_PAGE_SIZE, maximum=openapi.MAX_PAGE_SIZE)
    page = feed.day_feed(request.app.state.store, wanted, page=params.page(request), page_size=size)
    if page.page > page.page_count:
        raise HTTPException(404, f"{wanted} has {page.page_count} page(s) of papers, not {page.page}")
    return JSONResponse({**api.day_to_dict(page), "page_size": size})


def search(request: Request) -> JSONResponse:
    """`/api/v1/search?q=&mode=&sort=&cat=&from=&until=&has_code=&page=&page_size=`."""
    form = params.search_form(request)
    size = params.page_size(request, default=openapi.SEARCH_PAGE_SIZE, maximum=openapi.MAX_PAGE_SIZE)
    results = run_search(request, form, page_size=size)
    return JSONResponse({**results_to_dict(results), "q": form.text, "page": form.page, "page_size": size})


def trending(request: Request) -> JSONResponse:
    """`/api/v1/trending?window=day|week|month`: what /trending shows, as data."""
    window, items = community.trending_now(request)
    return JSONResponse({"ok": True, "window": window.name, "items": [
        {"paper": to_dict(paper), "score": item.score, "why": item.why, "upvote_count": item.upvote_count,
         "hf_upvote_count": item.hf_upvote_count} for item, paper in items]})


def author(request: Request) -> JSONResponse:
    """`/api/v1/authors/<name>?page=&page_size=`: what /author/<name> shows, as data; the
    next page's address is in `next` and in a `Link: <...>; rel="next"` header (RFC 8288)."""
    name = request.path_params["name"]
    if not name.strip() or len(name) > MAX_AUTHOR_CHARS:
        raise HTTPException(404, f"an author needs a name of 1 to {MAX_AUTHOR_CHARS} characters")
    size = params.page_size(request, default=openapi.AUTHOR_PAGE_SIZE, maximum=openapi.MAX_PAGE_SIZE)
    found = community.author_papers(request, page_size=size)
    next_url = None
    if found.page < found.page_count:
        next_url = params.page_href(f"/api/v1/authors/{quote(name, safe='')}", page=found.page + 1,
                                     page_size=str(size))
    return JSONResponse(
        {"ok": True, "name": name, "page": found.page, "page_size": size, "page_count": found.page_count,
         "paper_count": found.paper_count, "next": next_url, "papers": [to_dict(p) for p in found.papers]},
        headers={"Link": f'<{next_url}>; rel="next"'} if next_url else None)


@cache
def _document() -> dict:
    return openapi_library.document()


def openapi_json(request: Request) -> JSONResponse:
    """`/api/v1/openapi.json`: the OpenAPI 3.1 document."""
    return JSONResponse(_document())


def docs(request: Request) -> HTMLResponse:
    """`/api/docs`: every v1 endpoint with its parameters and answers, from the OpenAPI document."""
    document = _document()
    return render(request, "api_docs.html", document=document, schemas=document["components"]["schemas"],
                  type_of=type_of, limits_of=limits_of, page_title="API · paperwire")


def type_of(schema: dict) -> str:
    """A schema in words for the docs page: "string (date-time) or null", "array of Paper"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "oneOf" in schema:
        return " or ".join(type_of(s) for s in schema["oneOf"])
    if "const" in schema:
        return f"always {str(schema['const']).lower()}"
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    words = []
    for kind in kinds:
        if kind == "array":
            words.append(f"array of {type_of(schema.get('items', {}))}")
        elif kind == "string" and "format" in schema:
            words.append(f"string ({schema['format']})")
        else:
            words.append(kind)
    return " or ".join(words)


def limits_of(schema: dict) -> str:
    """A parameter's bounds and default in words, "" when it has none."""
    parts = []
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"{schema.get('minimum', '…')} to {schema.get('maximum', '…')}")
    if "maxLength" in schema:
        parts.append(f"at most {schema['maxLength']} characters")
    if "default" in schema:
        parts.append(f"default {schema['default']}")
    return "; ".join(parts)
