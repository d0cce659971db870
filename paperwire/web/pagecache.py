"""Whole pages for readers who are not signed in, kept while the store has not changed.

Most readers of a day, week, month, trending, paper or author page are not signed
in and see the same page, so its bytes are made once and kept (a bytes-limited
LRU per process, PAGE_CACHE_BYTES) under the full URL, the store's change marker
(`Store.change_marker`: SQLite's data_version, PostgreSQL's WAL position; it moves
at any committed write by any process: a vote, a comment, a harvest) and the search
indexes' state (similar papers on a paper page). A kept page is used at most
MAX_AGE_SECONDS, for what changes with the clock alone: trending fades with age.
While one reader makes a page again (after a write, or once it aged out), the others
get the version they would have had a moment before rather than wait (up to
STALE_SECONDS past its age): stale-while-revalidate, so a write never makes every
reader of a page wait for it. A reader who loads a page after it is made sees the
write; a signed-in reader's own vote is on their own page, never a kept one.

The status page is kept too, but at most STATUS_MAX_AGE_SECONDS (pages.py): it shows
this process's jobs as well as the store. Never kept: a signed-in reader's pages (their
votes, saves, forms), anything but a 200, and every other route (search above all: too
many distinct pages to keep).
The one personal part of a kept page is the digest box's CSRF token, bound to the
visitor's (anonymous) session: the page is kept with a placeholder that is filled
in for each visitor, who gets a session cookie as before if they had none.

Each answer carries an ETag (the kept page's digest, and the visitor's token when it
has one) and answers a matching If-None-Match with 304; `Cache-Control: no-cache`
(a browser may keep it but asks again each time: the page may change at any vote),
`private` when it holds a token, and `Vary: Cookie` (a signed-in reader's differs).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from starlette.requests import Request
from starlette.responses import Response

from paperwire.web import csrf, sessions
from paperwire.web.cards import SizedLRU

PAGE_CACHE_BYTES = 64 * 1024 * 1024  # a day page is ~150 KB: some 400 pages per process
MAX_AGE_SECONDS = 60.0
# How much older a page may be while one reader makes it again: the others get it at
# once instead of waiting (stale-while-revalidate, RFC 5861's idea). 50 clients on
# /trending waited for each remake after any write, a background job's lease renewal
# included (p95 1,813 ms in bench/web.py against 60 ms at p50).
STALE_SECONDS = 60.0
LATEST_KEPT = 20_000  # addresses whose latest kept version is remembered for stale answers
# What form_token() writes into a page being kept instead of a visitor's token: random per
# process, so no paper's text can contain it.
FORM_TOKEN_PLACEHOLDER = "form-token-" + secrets.token_hex(16)
_PLACEHOLDER_BYTES = FORM_TOKEN_PLACEHOLDER.encode()


@dataclass(frozen=True)
class KeptPage:
    body: bytes
    digest: str
    has_form_token: bool
    made_at: float


class PageCache:
    """Kept pages, at most `max_bytes` of them; `clock` (seconds, monotonic) ages them."""

    def __init__(self, max_bytes: int = PAGE_CACHE_BYTES, *, max_age_seconds: float = MAX_AGE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self._pages: SizedLRU[KeptPage] = SizedLRU(max_bytes, lambda page: len(page.body))
        self.max_age_seconds, self.clock = max_age_seconds, clock
        self.hit_count = self.miss_count = self.stale_count = 0  # pages served kept, made, served stale
        self._makers: dict = {}  # key -> [lock, readers waiting on or making that page]
        self._latest: OrderedDict = OrderedDict()  # (path, query) -> the key its latest version is kept under
        self._makers_lock = threading.Lock()

    def get(self, key, *, stale_seconds: float = 0.0, max_age_seconds: float | None = None) -> KeptPage | None:
        """The page kept under `key` if it is at most max_age_seconds old (the cache's, or the
        page's own: `kept(max_age_seconds=)`), plus `stale_seconds`."""
        page = self._pages.get(key)
        age_limit = (self.max_age_seconds if max_age_seconds is None else max_age_seconds) + stale_seconds
        return page if page is not None and self.clock() - page.made_at <= age_limit else None

    def latest(self, key) -> KeptPage | None:
        """The latest version kept of `key`'s address (its path and query), whatever store
        marker it was made under, if at most max_age_seconds + STALE_SECONDS old."""
        with self._makers_lock:
            kept_under = self._latest.get(key[:2])
        return None if kept_under is None else self.get(kept_under, stale_seconds=STALE_SECONDS)

    @contextlib.contextmanager
    def one_maker(self, key, *, wait: bool = True):
        """Held while `key`'s page is made: readers who missed it meanwhile wait for that one
        page instead of each making it. Without it 50 clients on /trending, its minute run
        out, made it 50 times at once (p95 3.0 s in bench/web.py). Gives whether this reader
        is the maker: with `wait` False, a reader who finds the page being made gets False
        at once."""
        with self._makers_lock:
            entry = self._makers.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        is_maker = entry[0].acquire(blocking=wait)
        try:
            yield is_maker
        finally:
            if is_maker:
                entry[0].release()
            with self._makers_lock:
                entry[1] -= 1
                if not entry[1]:
                    del self._makers[key]

    def put(self, key, body: bytes, *, has_form_token: bool) -> KeptPage:
        """Keep the page made under `key` ((path, query, store marker, index state))."""
        page = KeptPage(body, hashlib.blake2b(body, digest_size=12).hexdigest(), has_form_token, self.clock())
        self._pages.put(key, page)
        with self._makers_lock:
            self._latest[key[:2]] = key
            self._latest.move_to_end(key[:2])
            while len(self._latest) > LATEST_KEPT:
                self._latest.popitem(last=False)
        return page


def is_keeping(request: Request) -> bool:
    """Whether the page being made is to be kept: then form_token() leaves the placeholder."""
    return bool(request.state._state.get("is_kept_page"))


def kept(endpoint: Callable[[Request], Response] | None = None, *, max_age_seconds: float | None = None):
    """`endpoint` (a page for everyone) served from the app's PageCache to readers who are
    not signed in; a signed-in reader's page is made afresh, `private, no-cache`. With
    `max_age_seconds` (`@kept(max_age_seconds=5)`), a page that shows more than the store
    (the status page: this process's jobs) is made again at least that often."""
    if endpoint is None:
        return functools.partial(kept, max_age_seconds=max_age_seconds)

    @functools.wraps(endpoint)
    def serve(request: Request) -> Response:
        cache: PageCache | None = getattr(request.app.state, "page_cache", None)
        if sessions.current_user(request) is not None:
            response = endpoint(request)
            response.headers.setdefault("Cache-Control", "private, no-cache")
            return response
        if cache is None:
            return endpoint(request)
        key = (request.url.path, request.url.query, request.app.state.store.change_marker(),
               request.app.state.search.state)
        page = cache.get(key, max_age_seconds=max_age_seconds)
        if page is None:
            stale = cache.latest(key)  # from before a write, or aged out
            with cache.one_maker(key, wait=stale is None) as is_maker:
                if not is_maker:  # another reader is making it again
                    cache.stale_count += 1
                    return _answer(request, stale)
                page = cache.get(key, max_age_seconds=max_age_seconds)  # made while this reader waited
                if page is None:
                    cache.miss_count += 1
                    return _make(request, endpoint, cache, key)
        cache.hit_count += 1
        return _answer(request, page)

    return serve


def _make(request: Request, endpoint, cache: PageCache, key) -> Response:
    """Make the page, keep it if it is a 200 HTML page, and answer this reader."""
    request.state.is_kept_page = True
    try:
        response = endpoint(request)
    finally:
        request.state.is_kept_page = False  # an error page made after this gets real tokens
    has_form_token = bool(request.state._state.get("has_form_token"))
    if response.status_code != 200 or response.media_type != "text/html":
        if has_form_token:  # not kept, but its placeholder must still become a token
            return _answer(request, KeptPage(bytes(response.body), "", True, 0.0), status=response.status_code)
        return response  # errors and redirects are made every time
    return _answer(request, cache.put(key, bytes(response.body), has_form_token=has_form_token))


def _answer(request: Request, page: KeptPage, *, status: int = 200) -> Response:
    """The kept page for this visitor: their token filled in, or 304 when they have it."""
    body, etag, new_session_id = page.body, page.digest, None
    if page.has_form_token:
        session_id, is_new = csrf.anonymous_session_id(request)
        token = csrf.csrf_token(request.app.state.secret_key, session_id)
        body = body.replace(_PLACEHOLDER_BYTES, token.encode())
        etag += "-" + hashlib.blake2b(token.encode(), digest_size=6).hexdigest()
        new_session_id = session_id if is_new else None
    headers = {"ETag": f'"{etag}"', "Vary": "Cookie",
               "Cache-Control": "private, no-cache" if page.has_form_token else "no-cache"}
    sent = [tag.strip().removeprefix("W/") for tag in request.headers.get("if-none-match", "").split(",")]
    if headers["ETag"] in sent and new_session_id is None and status == 200:
        return Response(status_code=304, headers=headers)
    response = Response(body, status_code=status, media_type="text/html", headers=headers)
    if new_session_id is not None:
        csrf.set_session_cookie(response, request, new_session_id)
    return response
