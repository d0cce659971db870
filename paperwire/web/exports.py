"""Citation exports over HTTP: BibTeX (.bib) and CSL-JSON (.csl.json) downloads.

A list page's export sits at the page's address plus the extension and holds the
papers that page shows, in its order (`?page=` picks the page, as on the page):
`/paper/<id>.csl.json` (a paper's `.bib` is pages.paper_bibtex), `/day/<day>.bib`,
`/day/<day>.csl.json`, `/search.bib?<query>` and `/search.csl.json?<query>`.
bibtex.py and csl.py write the entries.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from paperwire.papers import Paper
from paperwire.web import params
from paperwire.bibtex import to_bibliography
from paperwire.csl import to_csl
from paperwire.web.pages import day_feed, run_search

# application/x-bibtex is what Zotero and citation managers send and expect (BibTeX
# has no registered type); the CSL-JSON type is registered with IANA.
BIBTEX_TYPE = "application/x-bibtex; charset=utf-8"
CSL_JSON_TYPE = "application/vnd.citationstyles.csl+json"


def paper_csl(request: Request) -> Response:
    """`/paper/<arxiv_id>.csl.json`: an array of one item."""
    found = request.app.state.store.get_paper(params.arxiv_id(request.path_params["arxiv_id"]))
    return _csl([found], found.arxiv_id.replace("/", "_"))


def day_bibtex(request: Request) -> Response:
    """`/day/<YYYY-MM-DD>.bib?page=`."""
    papers, name = _day(request)
    return _bibtex(papers, name)


def day_csl(request: Request) -> Response:
    """`/day/<YYYY-MM-DD>.csl.json?page=`."""
    papers, name = _day(request)
    return _csl(papers, name)


def search_bibtex(request: Request) -> Response:
    """`/search.bib?q=&mode=&sort=&cat=&from=&until=&has_code=&page=`."""
    return _bibtex(_search(request), "search")


def search_csl(request: Request) -> Response:
    """`/search.csl.json?q=...`, the same parameters as /search."""
    return _csl(_search(request), "search")


def _day(request: Request) -> tuple[list[Paper], str]:
    feed = day_feed(request, params.day(request.path_params["day"]))
    page = f"-page{feed.page}" if feed.page > 1 else ""
    return [item.paper for item in feed.items], f"{feed.day.isoformat()}{page}"


def _search(request: Request) -> list[Paper]:
    form = params.search_form(request)
    if form.is_empty:
        raise HTTPException(400, "an export of a search needs something to search for; add q= or a filter such as cat=")
    return [hit.paper for hit in run_search(request, form).page.hits]


def _bibtex(papers: list[Paper], name: str) -> Response:
    return Response(to_bibliography(papers), media_type=BIBTEX_TYPE, headers=_download(f"paperwire-{name}.bib"))


def _csl(papers: list[Paper], name: str) -> Response:
    body = json.dumps([to_csl(p) for p in papers], ensure_ascii=False, indent=1)
    return Response(body.encode("utf-8"), media_type=CSL_JSON_TYPE, headers=_download(f"paperwire-{name}.csl.json"))


def _download(filename: str) -> dict[str, str]:
    # Names are built from days, arXiv ids and words of ours: ASCII, no quotes to escape.
    return {"Content-Disposition": f'attachment; filename="{filename}"'}
