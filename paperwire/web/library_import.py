"""Importing a library over HTTP: the upload, the report page, and fixing a miss.

`POST /library/import` takes a BibTeX, CSL-JSON or id-list file (multipart, at most
imports.MAX_FILE_BYTES; app.py lets this path's body be that large) and a
collection, runs library/import_runs.py, and redirects to the report at
`/library/import/{id}`: what matched (and how), what was not found (each with a
field to name the paper, and a search for its title), and what was malformed
(key and reason). The work is the domain module's; this one parses the request.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire.library import import_runs, imports
from paperwire.papers import InvalidArxivId
from paperwire.search.service import SearchBusy
from paperwire.sources import arxiv_api, fetchers
from paperwire.store.accounts import User
from paperwire.web import pages
from paperwire.web.library import checked_user, library_user
from paperwire.web.sessions import client_address, clock, now, refuse_if_limited

# The multipart envelope around the file: boundaries, headers, the other fields.
UPLOAD_OVERHEAD_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = imports.MAX_FILE_BYTES + UPLOAD_OVERHEAD_BYTES


async def upload(request: Request) -> Response:
    """`POST /library/import` (`file`, `collection`): import, then the report (303)."""
    user, form = await checked_user(request)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise HTTPException(400, "choose a file to import: BibTeX (.bib), CSL-JSON (.json) or a list of ids (.txt)")
    data = await file.read(imports.MAX_FILE_BYTES + 1)
    run_id = await run_in_threadpool(start, request, user, data, filename=file.filename,
                                     collection=str(form.get("collection", "")))
    return RedirectResponse(f"/library/import/{run_id}", status_code=303)


def start(request: Request, user: User, data: bytes, *, filename: str, collection: str) -> int:
    """Run an import for `user` (the page and the API share it); returns the run's id.
    Raises HTTPException(400) for a file that cannot be read at all."""
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))
    store, settings = request.app.state.store, request.app.state.settings
    target = store.collection(user.id, collection) if collection else store.default_collection(user.id, now=now())
    try:
        return import_runs.run(
            store, data, filename=filename[:200], user_id=user.id, collection=target,
            lookup=import_runs.lookup(store, lambda title, n: _title_search(request, title, n)),
            fetch=lambda ids: fetchers.arxiv(settings, arxiv_api.Query(ids=ids), max_results=len(ids)),
            now=now(),
        )
    except imports.UnreadableFile as error:
        raise HTTPException(400, f"nothing was imported: {error}") from error


def _title_search(request: Request, title: str, limit: int) -> list:
    try:
        results = request.app.state.search.search(request.app.state.store, title, mode="lexical", limit=limit)
    except (SearchBusy, ValueError):  # the index is being built: titles match nothing this time
        return []
    return [hit.paper for hit in results.page.hits]


def report(request: Request) -> Response:
    """`GET /library/import/{id}`: the report of one of the user's imports."""
    user = library_user(request)
    found = request.app.state.store.import_run(user.id, _run_id(request))
    return pages.render(request, "import_report.html", run=found, report=found.report,
                        page_title=f"Import of {found.filename} · paperwire")


async def fix(request: Request) -> Response:
    """`POST /library/import/{id}/fix` (`key`, `paper`: an arXiv id or URL): save the
    paper for that miss; back to the report."""
    user, form = await checked_user(request)
    run_id = _run_id(request)
    try:
        await run_in_threadpool(
            lambda: import_runs.fix(request.app.state.store, user_id=user.id, run_id=run_id,
                                    key=str(form.get("key", "")), text=str(form.get("paper", ""))[:300], now=now()))
    except InvalidArxivId as error:
        raise HTTPException(400, f"{error}; paste the paper's arXiv id or its arxiv.org address") from error
    return RedirectResponse(f"/library/import/{run_id}#unmatched", status_code=303)


def _run_id(request: Request) -> int:
    text = request.path_params["run_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise HTTPException(404, f"there is no import {text[:40]!r}; see /library")
    return int(text)
