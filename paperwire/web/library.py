"""The library pages and forms: save and unsave, "not interested", collections (create,
rename, share by link, unshare, delete), a shared collection, and their exports.

Every POST checks CSRF first and answers a plain form post with a redirect (303)
back to the page it came from, and a `fetch` (Accept: application/json; the
script static/library.js) with JSON, so saving works with and without JavaScript.
Who is asking is `library_user` / `checked_user` for the pages; the JSON API
(api_library.py) asks web/auth.py, which also takes personal API tokens. The rules and tables are store/library.py's; the
export formats are library/exports.py's.
"""

from __future__ import annotations

import secrets

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperwire.accounts import token_hash
from paperwire.library import exports
from paperwire.store import Store
from paperwire.store.accounts import User
from paperwire.store.library import MAX_NAME_CHARS, MAX_NOTE_CHARS, Collection
from paperwire.web import feeds, pages, params
from paperwire.web.sessions import (
    checked_form, client_address, clock, current_user, local_path, now, refuse_if_limited, require_user,
)

SHARE_TOKEN_BYTES = 32  # 256 random bits: the link is the only key to a shared collection
EXPORT_TYPES = {  # BibTeX has no registered type; web/exports.py says why these
    "bib": "application/x-bibtex; charset=utf-8",
    "json": "application/vnd.citationstyles.csl+json",
    "jsonl": "application/x-ndjson; charset=utf-8",
}
EXPORTERS = {"bib": exports.bibtex, "json": exports.csl_json, "jsonl": exports.jsonl}


# --- who is asking ------------------------------------------------------------------

def library_user(request: Request) -> User:
    """The user a library page acts for; raises HTTPException(401). (The JSON API asks
    web/auth.py instead, which also takes API tokens.)"""
    return require_user(request)


async def checked_user(request: Request) -> tuple[User, FormData]:
    """For a state change: the CSRF check (403), then the user (401), and the form."""
    form = await checked_form(request)
    return await run_in_threadpool(library_user, request), form


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


class Saves:
    """A page's view of the signed-in user's library: which papers they saved, looked up
    once per request for every card that asks (templates call `saves_of(request)`)."""

    def __init__(self, store: Store, user: User | None):
        self._store, self._user = store, user
        self._saved: dict[str, bool] = {}

    def is_saved(self, arxiv_id: str) -> bool:
        if self._user is None:
            return False
        if arxiv_id not in self._saved:
            self._saved[arxiv_id] = bool(self._store.saved_in(self._user.id, [arxiv_id]))
        return self._saved[arxiv_id]


def saves_of(request: Request) -> Saves:
    if "saves" not in request.state._state:
        request.state.saves = Saves(request.app.state.store, current_user(request))
    return request.state.saves


# _save.html asks through this global (pages.py's environment is built before this module).
pages.ENV.globals["saves_of"] = saves_of


# --- save, unsave, dismiss ------------------------------------------------------------

async def save(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/save` (`collection` slug, optional `note`)."""
    user, form = await checked_user(request)
    return await run_in_threadpool(_change, request, user, form, "save")


async def unsave(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/unsave` (`collection`: only from that one; else from all)."""
    user, form = await checked_user(request)
    return await run_in_threadpool(_change, request, user, form, "unsave")


async def dismiss(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/dismiss`: "not interested"."""
    user, form = await checked_user(request)
    return await run_in_threadpool(_change, request, user, form, "dismiss")


async def undismiss(request: Request) -> Response:
    user, form = await checked_user(request)
    return await run_in_threadpool(_change, request, user, form, "undismiss")


def _change(request: Request, user: User, form: FormData, action: str) -> Response:
    refuse_if_limited(request.app.state.rate_limits.upvote(str(user.id), clock()))
    store = request.app.state.store
    arxiv_id = store.get_paper(params.arxiv_id(request.path_params["arxiv_id"])).arxiv_id  # NotFound: 404
    apply_change(store, user, arxiv_id, action, collection=str(form.get("collection", "")),
                 note=form.get("note"))
    if wants_json(request):
        return JSONResponse(library_state(store, user, arxiv_id))
    back = local_path(str(form.get("next", ""))) if form.get("next") else f"/paper/{arxiv_id}"
    return RedirectResponse(back, status_code=303)


def apply_change(store: Store, user: User, arxiv_id: str, action: str, *, collection: str = "",
                 note=None) -> None:
    """Save, unsave, dismiss or undismiss a paper for `user` (pages and API share it);
    raises HTTPException(400) for a note over the limit, NotFound for an unknown collection."""
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE_CHARS):
        raise HTTPException(400, f"a note is at most {MAX_NOTE_CHARS:,} characters of text; shorten it")
    if action == "save":
        target = store.collection(user.id, collection) if collection else \
            store.default_collection(user.id, now=now())
        store.save(user.id, target.id, arxiv_id, note=note, now=now())
    elif action == "unsave":
        target_id = store.collection(user.id, collection).id if collection else None
        store.unsave(user.id, arxiv_id, collection_id=target_id)
    elif action == "dismiss":
        store.dismiss(user.id, arxiv_id, now=now())
    else:
        store.undismiss(user.id, arxiv_id)


def library_state(store: Store, user: User, arxiv_id: str) -> dict:
    """What a script needs to redraw a paper's buttons."""
    collections = store.saved_in(user.id, [arxiv_id]).get(arxiv_id, [])
    return {"ok": True, "arxiv_id": arxiv_id, "is_saved": bool(collections), "collections": collections,
            "is_dismissed": arxiv_id in store.dismissed_ids(user.id)}


# --- collections ------------------------------------------------------------------------

def library_page(request: Request) -> Response:
    """`GET /library`: the user's collections, the forms to make one and to import."""
    return _library_page(request, library_user(request), feed_token=None)


def _library_page(request: Request, user: User, *, feed_token: str | None) -> Response:
    store = request.app.state.store
    return pages.render(request, "library.html", collections=store.collections(user.id),
                        dismissed_count=len(store.dismissed_ids(user.id)),
                        has_feed_token=store.has_feed_token(user.id), feed_token=feed_token,
                        base=feeds.base_url(request), max_name=MAX_NAME_CHARS, page_title="Your library · paperwire")


async def feed_token(request: Request) -> Response:
    """`POST /library/feed-token` (`action`: new or revoke): the private link of the user's
    "for you" and updates feeds. A new one replaces the old and is shown once."""
    user, form = await checked_user(request)
    return await run_in_threadpool(_feed_token, request, user, str(form.get("action", "new")))


def _feed_token(request: Request, user: User, action: str) -> Response:
    store = request.app.state.store
    if action == "revoke":
        store.revoke_feed_token(user.id)
        return RedirectResponse("/library", status_code=303)
    token = secrets.token_urlsafe(SHARE_TOKEN_BYTES)
    store.set_feed_token(user.id, token_hash(token), now=now())
    return _library_page(request, user, feed_token=token)


async def create_collection(request: Request) -> Response:
    """`POST /c` (`name`): a new collection; back to /library."""
    user, form = await checked_user(request)
    name = _name(form)
    return await run_in_threadpool(_create, request, user, name)


def _create(request: Request, user: User, name: str) -> Response:
    _limit_posting(request, user)
    made = request.app.state.store.create_collection(user.id, name, now=now())
    if wants_json(request):
        return JSONResponse({"ok": True, "collection": collection_dict(made)}, status_code=201)
    return RedirectResponse(f"/c/{made.slug}", status_code=303)


def collection_page(request: Request) -> Response:
    """`GET /c/{slug}`: the collection's papers with notes, and its controls."""
    user = library_user(request)
    found = request.app.state.store.collection(user.id, request.path_params["slug"])
    return _collection_page(request, found, share_link=None)


def _collection_page(request: Request, found: Collection, *, share_link: str | None) -> Response:
    store = request.app.state.store
    items = store.items(found.id)
    papers = store.get_papers(i.arxiv_id for i in items) if items else {}
    return pages.render(request, "collection.html", collection=found, share_link=share_link,
                        items=[(i, papers[i.arxiv_id]) for i in items if i.arxiv_id in papers],
                        max_note=MAX_NOTE_CHARS, max_name=MAX_NAME_CHARS,
                        page_title=f"{found.name} · paperwire")


async def change_collection(request: Request) -> Response:
    """`POST /c/{slug}` (`action`: rename with `name`, share, unshare, delete)."""
    user, form = await checked_user(request)
    action = str(form.get("action", ""))
    if action not in ("rename", "share", "unshare", "delete"):
        raise HTTPException(400, f"action {action[:40]!r} is not known; use rename, share, unshare or delete")
    name = _name(form) if action == "rename" else ""
    return await run_in_threadpool(_change_collection, request, user, action, name)


def _change_collection(request: Request, user: User, action: str, name: str) -> Response:
    _limit_posting(request, user)
    store, slug = request.app.state.store, request.path_params["slug"]
    changed, link = change_collection_in(store, user, slug, action, name=name, base_url=str(request.base_url))
    if wants_json(request):
        body = {"ok": True, "collection": collection_dict(changed) if changed else None}
        return JSONResponse({**body, "share_url": link} if link else body)
    if action == "delete":
        return RedirectResponse("/library", status_code=303)
    if link:  # the link is shown once: only its hash is kept
        return _collection_page(request, changed, share_link=link)
    return RedirectResponse(f"/c/{slug}", status_code=303)


def change_collection_in(store: Store, user: User, slug: str, action: str, *, name: str = "",
                         base_url: str = "/") -> tuple[Collection | None, str | None]:
    """Apply `action` to the user's collection; returns it (None once deleted) and, after
    sharing, the new link. Raises NotFound for a collection that is not theirs."""
    store.collection(user.id, slug)  # NotFound first, whatever the action
    if action == "rename":
        return store.rename_collection(user.id, slug, name), None
    if action == "share":
        token = secrets.token_urlsafe(SHARE_TOKEN_BYTES)
        return store.share_collection(user.id, slug, token_hash(token)), f"{base_url.rstrip('/')}/s/{token}"
    if action == "unshare":
        return store.unshare_collection(user.id, slug), None
    store.delete_collection(user.id, slug)
    return None, None


def shared_page(request: Request) -> Response:
    """`GET /s/{token}`: a shared collection, read-only and without its notes."""
    found = shared_collection(request)
    return pages.render(request, "shared.html", collection=found, token=request.path_params["token"],
                        papers=collection_export_papers(request.app.state.store, found),
                        page_title=f"{found.name} · paperwire")


def shared_collection(request: Request) -> Collection:
    """The collection the path's share token opens; raises NotFound."""
    return request.app.state.store.shared_collection(token_hash(request.path_params["token"]))


def collection_export(request: Request) -> Response:
    """`GET /c/{slug}.bib|.json|.jsonl`."""
    user = library_user(request)
    return export_of(request, request.app.state.store.collection(user.id, request.path_params["slug"]))


def shared_export(request: Request) -> Response:
    """`GET /s/{token}.bib|.json|.jsonl`."""
    return export_of(request, shared_collection(request))


def export_of(request: Request, found: Collection) -> Response:
    """`found` as the file its `format` path parameter names (bib, json, jsonl)."""
    kind = request.path_params["format"]
    if kind not in EXPORTERS:
        raise HTTPException(404, f"a collection exports as .bib, .json (CSL-JSON) or .jsonl, not .{kind[:20]}")
    body = EXPORTERS[kind](collection_export_papers(request.app.state.store, found))
    return Response(body.encode("utf-8"), media_type=EXPORT_TYPES[kind],
                    headers={"Content-Disposition": f'attachment; filename="paperwire-{found.slug}.{kind}"'})


def collection_export_papers(store: Store, found: Collection) -> list:
    """The collection's papers, most recently saved first (what exports and feeds hold)."""
    items = store.items(found.id)
    papers = store.get_papers(i.arxiv_id for i in items) if items else {}
    return [papers[i.arxiv_id] for i in items if i.arxiv_id in papers]


def collection_dict(found: Collection) -> dict:
    return {"name": found.name, "slug": found.slug, "is_shared": found.is_shared,
            "created_at": found.created_at.isoformat(), "item_count": found.item_count}


def _name(form: FormData) -> str:
    name = " ".join(str(form.get("name", "")).split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise HTTPException(400, f"a collection needs a name of 1 to {MAX_NAME_CHARS} characters")
    return name


def _limit_posting(request: Request, user: User) -> None:
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))

