"""Who is asking: the signed-in user of a request, and what every page needs to show them.

The session cookie (web/csrf.py sets it) holds a random session id; the store keeps
its SHA-256 (store/accounts.py). A visitor who has not logged in may hold an
anonymous id in the same cookie, which finds no row. This module looks the user up
once per request, gives templates the user and their CSRF token, checks a form's
token, and answers the rate limiter's 429. The signing key is resolved once at
start-up (`secret_key`).
"""

from __future__ import annotations

import dataclasses
import math
import time
from datetime import datetime, timezone
from typing import Iterable
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse

from paperwire import discussion
from paperwire.accounts import SECRET_KEY_CHECKPOINT, resolve_secret_key, token_hash
from paperwire.store import Store
from paperwire.store.accounts import User
from paperwire.store.comments import Comment
from paperwire.web import csrf


def secret_key(configured: str, store: Store) -> str:
    """The key that signs CSRF tokens: PAPERWIRE_SECRET_KEY, else the one kept in the
    store, else a new one that the first process to start saves for all (docs/community.md)."""
    key, should_save = resolve_secret_key(configured, store.get_checkpoint(SECRET_KEY_CHECKPOINT))
    return store.claim_checkpoint(SECRET_KEY_CHECKPOINT, key) if should_save else key


def now() -> datetime:
    return datetime.now(timezone.utc)


def current_user(request: Request) -> User | None:
    """The signed-in, enabled user of this request, or None (looked up once per request)."""
    if "user" not in request.state._state:
        session_id = csrf.session_id_of(request)
        request.state.user = None if session_id is None else \
            request.app.state.store.session_user(token_hash(session_id), now=now())
    return request.state.user


def require_user(request: Request) -> User:
    """The signed-in user; raises HTTPException(401) with how to sign in otherwise."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "you need to log in for this; log in at /login and try again")
    return user


def to_login(request: Request) -> RedirectResponse:
    """For a page that only a signed-in reader may see: the log-in page, which comes
    back to this page after (its `next`, checked there to stay on this site)."""
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


class Upvotes:
    """A page's view of local upvotes: each paper's count and whether this user upvoted
    it, read for all the page's `shown` papers at once (one query, not one a card) and
    otherwise when a card first asks, and kept for the rest of the request."""

    def __init__(self, store: Store, user: User | None, shown: Iterable[str] = ()):
        self._store, self._user = store, user
        self._counts: dict[str, int] = {}
        self._mine: dict[str, bool] = {}
        ids = list(shown)
        if ids:
            counts = store.upvote_counts(ids)
            self._counts = {arxiv_id: counts.get(arxiv_id, 0) for arxiv_id in ids}
            if user is not None:
                mine = store.upvoted_by(user.id, ids)
                self._mine = {arxiv_id: arxiv_id in mine for arxiv_id in ids}

    def count(self, arxiv_id: str) -> int:
        if arxiv_id not in self._counts:
            self._counts[arxiv_id] = self._store.upvote_count(arxiv_id)
        return self._counts[arxiv_id]

    def is_upvoted(self, arxiv_id: str) -> bool:
        if self._user is None:
            return False
        if arxiv_id not in self._mine:
            self._mine[arxiv_id] = bool(self._store.upvoted_by(self._user.id, [arxiv_id]))
        return self._mine[arxiv_id]


class Comments:
    """A page's view of the discussion: each paper's count of shown comments (for the
    lists; the page's `shown` papers read at once), and a paper's threads as this user
    may see them (for the paper page)."""

    def __init__(self, store: Store, user: User | None, shown: Iterable[str] = ()):
        self._store, self._user = store, user
        ids = list(shown)
        counts = store.comment_counts(ids) if ids else {}
        self._counts: dict[str, int] = {arxiv_id: counts.get(arxiv_id, 0) for arxiv_id in ids}

    def count(self, arxiv_id: str) -> int:
        if arxiv_id not in self._counts:
            self._counts[arxiv_id] = self._store.comment_counts([arxiv_id]).get(arxiv_id, 0)
        return self._counts[arxiv_id]

    def threads(self, arxiv_id: str) -> list[tuple[Comment, list[Comment]]]:
        """The paper's threads, oldest first: hidden comments are left out for everyone but
        admins unless they hold replies (then they keep their place, their text withheld)."""
        is_admin = self._user is not None and self._user.is_admin
        shown = [c for c in self._store.comments_for(arxiv_id) if is_admin or not c.is_hidden or c.parent_id is None]
        threads = discussion.thread(fresh_html(c) for c in shown)
        return [(top, replies) for top, replies in threads
                if is_admin or not top.is_hidden or any(not r.is_hidden for r in replies)]


def fresh_html(comment: Comment) -> Comment:
    """The comment with HTML from today's rules: a row rendered by an older
    discussion.RENDER_VERSION is rendered again as it is read (docs/community.md)."""
    if comment.render_version >= discussion.RENDER_VERSION or comment.is_deleted:
        return comment
    return dataclasses.replace(comment, body_html=discussion.render(comment.body),
                               render_version=discussion.RENDER_VERSION)


def page_context(request: Request, *, shown: Iterable[str] = ()) -> dict:
    """What every page needs: the user, their CSRF token (for the log-out and upvote
    forms), and the local upvotes and comment counts of the papers it shows (`shown`:
    their arXiv ids, read at once)."""
    user = current_user(request)
    token = csrf.csrf_token(request.app.state.secret_key, csrf.session_id_of(request)) if user else ""
    store = request.app.state.store
    shown = list(shown)
    return {"user": user, "csrf_token": token, "upvotes": Upvotes(store, user, shown),
            "comments": Comments(store, user, shown)}


async def checked_form(request: Request) -> FormData:
    """The request's form, once its CSRF token has passed (csrf.check_csrf raises 403)."""
    await csrf.check_csrf(request, secret_key=request.app.state.secret_key, session_id=csrf.session_id_of(request))
    return await request.form()


async def user_of(request: Request) -> User | None:
    """current_user, run in the thread pool (the store is synchronous)."""
    return await run_in_threadpool(current_user, request)


def local_path(raw: str | None) -> str:
    """`raw` if it is a path on this site, else "/": a `next=` must not send people elsewhere."""
    if not raw or not raw.startswith("/") or raw.startswith("//") or "\\" in raw:
        return "/"
    parts = urlsplit(raw)
    return raw if not parts.scheme and not parts.netloc else "/"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def refuse_if_limited(retry_after: float | None) -> None:
    """Raises HTTPException(429) with Retry-After when a rate limit said to wait."""
    if retry_after is not None:
        seconds = max(1, math.ceil(retry_after))
        raise HTTPException(429, f"too many attempts; wait {seconds} seconds and try again",
                            headers={"Retry-After": str(seconds)})


def clock() -> float:
    """The rate limiter's clock: wall-clock seconds, the one clock that the processes
    sharing buckets in the store agree on. A clock stepped back refills nothing
    (ratelimit.RateLimiter._tokens and store/ratebuckets.py); one stepped forward
    refills early by at most the step."""
    return time.time()
