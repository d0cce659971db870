"""The library's JSON API under /api/v1/library/: collections and their items, dismissals,
import, export, recommendations and updates, in the API's one error shape.

Each handler parses JSON (or, for the import, multipart), calls what the pages call
(web/library.py, web/library_import.py, web/foryou.py) and answers JSON. Who is
asking is the API's one check (web/auth.py): a personal API token with the read or
write scope, or a page script's session (CSRF-checked for writes). openapi_library.py
documents every route here.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paperwire.papers import to_dict
from paperwire.store.accounts import User
from paperwire.library import imports
from paperwire.accounts import Scope
from paperwire.web import auth, foryou, library, library_import, params
from paperwire.web.sessions import clock, refuse_if_limited

P = "/api/v1/library"
MAX_JSON_BYTES = 64 * 1024  # a name, an id and a note of at most 10,000 characters


def collections(request: Request) -> JSONResponse:
    """`GET /api/v1/library/collections`."""
    user = auth.api_reader(request)
    found = request.app.state.store.collections(user.id)
    return JSONResponse({"ok": True, "collections": [library.collection_dict(c) for c in found]})


async def create_collection(request: Request) -> Response:
    """`POST /api/v1/library/collections` `{"name": ...}` → 201 and the collection."""
    user, body = await _checked_json(request)
    name = _text(body, "name", maximum=library.MAX_NAME_CHARS, required=True)
    made = await run_in_threadpool(request.app.state.store.create_collection, user.id, name, now=library.now())
    return JSONResponse({"ok": True, "collection": library.collection_dict(made)}, status_code=201)


def collection(request: Request) -> JSONResponse:
    """`GET /api/v1/library/collections/{slug}`: the collection, its papers and notes."""
    user = auth.api_reader(request)
    store = request.app.state.store
    found = store.collection(user.id, request.path_params["slug"])
    items = store.items(found.id)
    papers = store.get_papers(i.arxiv_id for i in items) if items else {}
    return JSONResponse({"ok": True, "collection": library.collection_dict(found), "items": [
        {"paper": to_dict(papers[i.arxiv_id]), "note": i.note, "saved_at": i.saved_at.isoformat()}
        for i in items if i.arxiv_id in papers]})


async def add_item(request: Request) -> Response:
    """`POST /api/v1/library/collections/{slug}/items` `{"arxiv_id": ..., "note": ...}`."""
    user, body = await _checked_json(request)
    arxiv_id = _text(body, "arxiv_id", maximum=100, required=True)
    note = body.get("note")
    return await run_in_threadpool(_item_change, request, user, arxiv_id, "save", note)


async def remove_item(request: Request) -> Response:
    """`DELETE /api/v1/library/collections/{slug}/items/{arxiv_id}`."""
    user = await auth.api_user(request, Scope.WRITE)
    return await run_in_threadpool(_item_change, request, user, request.path_params["arxiv_id"], "unsave", None)


async def dismiss(request: Request) -> Response:
    """`POST /api/v1/library/dismissals` `{"arxiv_id": ...}`: "not interested"."""
    user, body = await _checked_json(request)
    return await run_in_threadpool(_item_change, request, user, _text(body, "arxiv_id", maximum=100,
                                                                     required=True), "dismiss", None)


async def undismiss(request: Request) -> Response:
    """`DELETE /api/v1/library/dismissals/{arxiv_id}`."""
    user = await auth.api_user(request, Scope.WRITE)
    return await run_in_threadpool(_item_change, request, user, request.path_params["arxiv_id"], "undismiss", None)


def _item_change(request: Request, user: User, text: str, action: str, note) -> JSONResponse:
    refuse_if_limited(request.app.state.rate_limits.upvote(str(user.id), clock()))
    store = request.app.state.store
    arxiv_id = store.get_paper(params.arxiv_id(text)).arxiv_id
    library.apply_change(store, user, arxiv_id, action, collection=request.path_params.get("slug", ""), note=note)
    return JSONResponse(library.library_state(store, user, arxiv_id))


def export(request: Request) -> Response:
    """`GET /api/v1/library/collections/{slug}/export.{format}` (bib, json, jsonl)."""
    user = auth.api_reader(request)
    return library.export_of(request, request.app.state.store.collection(user.id, request.path_params["slug"]))


async def import_file(request: Request) -> Response:
    """`POST /api/v1/library/import` (multipart `file`, optional `collection`) → 201 and the report."""
    user = await auth.api_user(request, Scope.WRITE)
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise HTTPException(400, "send the file to import as the multipart field `file`")
    data = await file.read(imports.MAX_FILE_BYTES + 1)
    run_id = await run_in_threadpool(library_import.start, request, user, data, filename=file.filename,
                                     collection=str(form.get("collection", "")))
    found = await run_in_threadpool(request.app.state.store.import_run, user.id, run_id)
    return JSONResponse({"ok": True, "import_id": run_id, "report": found.report}, status_code=201)


def import_report(request: Request) -> JSONResponse:
    """`GET /api/v1/library/import/{run_id}`."""
    user = auth.api_reader(request)
    text = request.path_params["run_id"]
    if not (text.isascii() and text.isdigit() and len(text) < 19):
        raise HTTPException(404, f"there is no import {text[:40]!r}")
    found = request.app.state.store.import_run(user.id, int(text))
    return JSONResponse({"ok": True, "import_id": found.id, "report": found.report})


def recommendations(request: Request) -> JSONResponse:
    """`GET /api/v1/library/recommendations`: best first, each with the saved paper it is close to."""
    user = auth.api_reader(request)
    found = foryou.recommended(request.app.state.store, user)
    return JSONResponse({"ok": True, "recommendations": [
        {"paper": to_dict(paper), "score": score, "because_id": because.arxiv_id if because else None}
        for paper, score, because in found]})


def updates(request: Request) -> JSONResponse:
    """`GET /api/v1/library/updates`: follow-ups on saved papers, newest first."""
    user = auth.api_reader(request)
    found = foryou.followups(request.app.state.store, user)
    return JSONResponse({"ok": True, "updates": [
        {"id": f.id, "arxiv_id": f.arxiv_id, "kind": f.kind, "detail": f.detail,
         "found_at": f.found_at.isoformat(), "is_new": f.is_new, "title": paper.title} for f, paper in found]})


async def _checked_json(request: Request) -> tuple[User, dict]:
    """The CSRF check and the user, then the request's JSON object (400 if it is not one)."""
    user = await auth.api_user(request, Scope.WRITE)
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, RecursionError) as error:
        raise HTTPException(400, f"the body is not valid JSON ({str(error)[:80]}); send a JSON object") from error
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object, such as {\"arxiv_id\": \"2501.00001\"}")
    return user, body


def _text(body: dict, name: str, *, maximum: int, required: bool = False) -> str:
    value = body.get(name, "")
    if not isinstance(value, str) or len(value) > maximum or (required and not value.strip()):
        raise HTTPException(400, f"`{name}` must be text of 1 to {maximum} characters")
    return " ".join(value.split()) if name == "name" else value.strip()


ROUTES = [
    Route(f"{P}/collections", collections, methods=["GET"], name="api_v1_collections"),
    Route(f"{P}/collections", create_collection, methods=["POST"], name="api_v1_create_collection"),
    Route(f"{P}/collections/{{slug}}/export.{{format}}", export, name="api_v1_collection_export"),
    Route(f"{P}/collections/{{slug}}/items", add_item, methods=["POST"], name="api_v1_add_item"),
    Route(f"{P}/collections/{{slug}}/items/{{arxiv_id:path}}", remove_item, methods=["DELETE"],
          name="api_v1_remove_item"),
    Route(f"{P}/collections/{{slug}}", collection, methods=["GET"], name="api_v1_collection"),
    Route(f"{P}/dismissals", dismiss, methods=["POST"], name="api_v1_dismiss"),
    Route(f"{P}/dismissals/{{arxiv_id:path}}", undismiss, methods=["DELETE"], name="api_v1_undismiss"),
    Route(f"{P}/import", import_file, methods=["POST"], name="api_v1_import"),
    Route(f"{P}/import/{{run_id}}", import_report, methods=["GET"], name="api_v1_import_report"),
    Route(f"{P}/recommendations", recommendations, methods=["GET"], name="api_v1_recommendations"),
    Route(f"{P}/updates", updates, methods=["GET"], name="api_v1_updates"),
]
