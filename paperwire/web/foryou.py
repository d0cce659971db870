"""The pages a library feeds: /for-you (recommendations), /updates (follow-ups on saved
papers), and their Atom feeds, plus a shared collection's feed.

Nothing here computes a recommendation: /for-you reads the rows the recommend job
keeps (library/foryou.py), so a page view costs two queries. A private feed (for
you, updates) is opened by a random token in its URL, kept as its SHA-256 and
revocable from /library (a reader app cannot log in); the shared collection's feed
is opened by its share link's token. syndication.py writes the documents.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire import syndication
from paperwire.accounts import token_hash
from paperwire.store import NotFound, Store
from paperwire.store.accounts import User
from paperwire.web import feeds, pages
from paperwire.web.library import (
    checked_user, collection_export_papers, library_user, shared_collection,
)

FOR_YOU_SHOWN = 50
UPDATES_SHOWN = 100
# Words for each follow-up kind (library/followups.KINDS).
KIND_WORDS = {"withdrawn": "withdrawn", "new-version": "new version", "code": "code released",
              "journal-ref": "published", "doi": "DOI assigned"}
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def for_you(request: Request) -> Response:
    """`GET /for-you`: the user's recommendations, best first, each with its reason."""
    user = library_user(request)
    return pages.render(request, "for_you.html", items=recommended(request.app.state.store, user),
                        saved_count=len(request.app.state.store.saved_ids(user.id)),
                        page_title="For you · paperwire")


def recommended(store: Store, user: User, limit: int = FOR_YOU_SHOWN) -> list[tuple]:
    """(paper, score, the saved paper it is close to or None) of the user's recommendations."""
    found = store.recommendations(user.id, limit=limit)
    papers = store.get_papers({r.arxiv_id for r in found} | {r.because_id for r in found}) if found else {}
    return [(papers[r.arxiv_id], r.score, papers.get(r.because_id)) for r in found if r.arxiv_id in papers]


def updates(request: Request) -> Response:
    """`GET /updates`: follow-ups on saved papers, newest first, the unseen marked new.
    Reading changes nothing (a GET); "Mark as seen" posts."""
    user = library_user(request)
    items = followups(request.app.state.store, user)
    return pages.render(request, "updates.html", items=items, kind_words=KIND_WORDS,
                        newest_id=max((f.id for f, _ in items), default=0),
                        new_count=sum(f.is_new for f, _ in items), page_title="Updates · paperwire")


def followups(store: Store, user: User, limit: int = UPDATES_SHOWN) -> list[tuple]:
    found = store.followups_for(user.id, limit=limit)
    papers = store.get_papers({f.arxiv_id for f in found}) if found else {}
    return [(f, papers[f.arxiv_id]) for f in found if f.arxiv_id in papers]


async def mark_seen(request: Request) -> Response:
    """`POST /updates/seen` (`up_to`: the newest follow-up id the page showed)."""
    user, form = await checked_user(request)
    up_to = str(form.get("up_to", "0"))
    seen = int(up_to) if up_to.isascii() and up_to.isdigit() and len(up_to) < 19 else 0
    await run_in_threadpool(request.app.state.store.mark_followups_seen, user.id, seen)
    return RedirectResponse("/updates", status_code=303)


# --- feeds ------------------------------------------------------------------------------

def for_you_feed(request: Request) -> Response:
    """`GET /for-you/{token}/feed.atom`: the recommendations of the token's user."""
    user = _feed_user(request)
    papers = [paper for paper, _, _ in recommended(request.app.state.store, user)]
    return _atom(request, title=f"paperwire: for {user.username}", page_path="/for-you", papers=papers,
                 description="New papers close to the ones you saved, best first.", is_private=True)


def updates_feed(request: Request) -> Response:
    """`GET /updates/{token}/feed.atom`: the papers with follow-ups, newest first."""
    user = _feed_user(request)
    papers = list({paper.arxiv_id: paper for _, paper in followups(request.app.state.store, user)}.values())
    return _atom(request, title=f"paperwire: updates for {user.username}", page_path="/updates",
                 papers=papers, description="Saved papers with a new version, code, a journal reference, a DOI,"
                                            " or withdrawn.", is_private=True)


def shared_feed(request: Request) -> Response:
    """`GET /s/{token}/feed.atom`: a shared collection's papers."""
    found = shared_collection(request)
    return _atom(request, title=f"paperwire: {found.name}", page_path=f"/s/{request.path_params['token']}",
                 papers=collection_export_papers(request.app.state.store, found),
                 description="A shared paperwire collection.", is_private=False)


def _feed_user(request: Request) -> User:
    store = request.app.state.store
    user_id = store.feed_token_user(token_hash(request.path_params["token"]))
    user = store.user_by_id(user_id) if user_id is not None else None
    if user is None or user.is_disabled:
        raise NotFound("no feed at this address; make a new feed link on /library")
    return user


def _atom(request: Request, *, title: str, page_path: str, papers: list, description: str,
          is_private: bool) -> Response:
    base = feeds.base_url(request)
    feed = syndication.Feed(title=title, description=description, page_url=base + page_path, base_url=base,
                            papers=tuple(papers))
    response = feeds.conditional(request, syndication.atom(feed, self_url=base + request.url.path),
                                 media_type=ATOM_TYPE, last_modified=feed.updated_at)
    if is_private:  # one reader's list: no shared cache may keep it
        response.headers["Cache-Control"] = f"private, max-age={feeds.FEED_MAX_AGE_SECONDS}"
    return response
