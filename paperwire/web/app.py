"""The web application: `create_app` and the one URL map, errors, security headers, lifespan.

Pages (pages.py) and the JSON API (api.py) are thin: they parse the request,
call the domain modules and render. This module wires them together, turns
every error into the shape of the layer that was asked (an HTML page, or the
API's `{"ok": false, ...}`), sets the headers every answer carries, and runs
the background jobs of jobs/table.py for as long as the app is up (the harvest,
the embedding of new papers, keeping the search indexes current). Startup only
starts their threads: the indexes load and catch up in theirs, so no page waits
for them.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
from contextlib import asynccontextmanager

from anyio import to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperwire.config import Settings
from paperwire.jobs import table
from paperwire.jobs.runner import Runner
from paperwire.search.service import SearchBusy, SearchService
from paperwire.store import NotFound, Store, open_store
from paperwire.ratelimit import RateLimits
from paperwire.web import (accounts, api, api_community, api_v1, comments, community, digests, exports, feeds, pages,
                           periods, sessions, tokens)
from paperwire.web import api_digests, api_library, foryou, library, library_import, pagecache
from paperwire.web import invites

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024  # every form we have is a few fields; the uploads are below
# The paths that take a file, and how large a body each may have (a library import).
UPLOAD_LIMITS = {"/library/import": library_import.MAX_UPLOAD_BYTES,
                 "/api/v1/library/import": library_import.MAX_UPLOAD_BYTES}
STATIC_MAX_AGE_SECONDS = 7 * 24 * 3600  # pages link static files by content hash
CORS_MAX_AGE_SECONDS = 600  # how long a browser may keep a preflight's answer
SEARCH_RETRY_AFTER_SECONDS = 30  # while the search indexes are first built
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, kept fixed (fixed_mmap_threshold)
# Scripts, styles and images only from here (static/reading.js: shortcuts, copy; nothing
# inline), fetch only to here (static/vote.js: upvotes, static/library.js: saves, without a
# reload), no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate CSP 2
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(
    settings: Settings, *, store: Store | None = None, search: SearchService | None = None,
) -> Starlette:
    """The paperwire web app. It opens the store that settings name unless `store` is
    given (and then leaves closing it to the caller), and searches with `search` (default:
    indexes and model under PAPERWIRE_CACHE_DIR); raises StoreError if the store cannot open."""
    own_store = store is None
    store = store or open_store(settings.database_url)
    search = search or SearchService.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        # Everything loaded by now (the modules above all: NumPy, SciPy, scikit-learn, Jinja)
        # lives as long as the process; out of the cyclic collector's way, a full collection
        # paused a search process for 21-22 ms instead of 53-78 ms (gc callbacks under
        # bench/web.py's search load, issue #15), and it pauses every request in the process.
        gc.freeze()
        fixed_mmap_threshold()
        # Page handlers are mostly Python (the GIL): with anyio's 40 threads, 10 requests a
        # process passed it around and waited for it again after each SQLite row; a few
        # threads serve more searches a second with a shorter tail (issue #15, docs/web.md).
        to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        stop = threading.Event()
        app.state.jobs = Runner(table.for_serve(settings, search=search, stop=stop), url=store.url, stop=stop)
        app.state.jobs.start()
        try:
            yield
        finally:
            await run_in_threadpool(app.state.jobs.stop)
            if own_store:
                store.close()

    app = Starlette(
        routes=ROUTES,
        middleware=[*_cors(settings), Middleware(SecurityHeaders),
                    Middleware(LimitRequestSize, max_bytes=MAX_REQUEST_BYTES, larger=UPLOAD_LIMITS)],
        exception_handlers={
            HTTPException: _http_error, NotFound: _not_found, SearchBusy: _search_busy, Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.search = search
    app.state.secret_key = sessions.secret_key(settings.secret_key, store)
    # Login, sign-up and posting buckets in the store, shared by every process on it
    # (docs/community.md, "Rate limits across processes").
    app.state.rate_limits = RateLimits(store=store)
    app.state.jobs = None  # the background jobs' Runner, once the lifespan starts it
    app.state.page_cache = pagecache.PageCache()  # pages for readers not signed in (web/pagecache.py)
    return app


def fixed_mmap_threshold() -> bool:
    """Have glibc's malloc map every block of MMAP_THRESHOLD_BYTES or more apart and give it
    back on free, whatever was freed before; False where there is no glibc (nothing done).

    By default glibc raises the threshold to the size of any mapped block that is freed, so
    the kept pages' megabyte strings (a topic map's page is 0.5-2.5 MB) come from the heap
    once the first is evicted, and a heap keeps what it held: the two web processes grew
    507 -> 827 MB over four rounds of the map pages, 506 -> 664 MB with a fixed threshold
    (bench/web.py, issue #15's flat memory)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    except (OSError, AttributeError):
        return False


def app_from_environment() -> Starlette:
    """The app with settings from the environment: the factory that `paperwire serve
    --workers N` gives uvicorn, which builds one app in each worker process."""
    from paperwire import config

    return create_app(config.load())


class CachedStaticFiles(StaticFiles):
    """Static files that browsers may keep for a week (ETag and Last-Modified still apply)."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = f"public, max-age={STATIC_MAX_AGE_SECONDS}"
        return response


# Accounts, upvotes, submissions and trending (issue #10; docs/community.md, "Routes and
# forms"). Every state change is a POST: Starlette answers 405 to any other method.
COMMUNITY_ROUTES = [
    Route("/signup", accounts.signup_form, methods=["GET"], name="signup_form"),
    Route("/signup", accounts.signup, methods=["POST"], name="signup"),
    Route("/login", accounts.login_form, methods=["GET"], name="login_form"),
    Route("/login", accounts.login, methods=["POST"], name="login"),
    Route("/logout", accounts.logout, methods=["POST"], name="logout"),
    Route("/settings/password", accounts.password_form, methods=["GET"], name="password_form"),
    Route("/settings/password", accounts.change_password, methods=["POST"], name="change_password"),
    Route("/reset", accounts.reset_info, methods=["GET"], name="reset_info"),
    Route("/reset", accounts.request_reset, methods=["POST"], name="request_reset"),
    Route("/reset/{token}", accounts.reset_form, methods=["GET"], name="reset_form"),
    Route("/reset/{token}", accounts.reset, methods=["POST"], name="reset"),
    Route("/users", accounts.users_page, methods=["GET"], name="users"),
    Route("/users/{name}/disable", accounts.disable_user, methods=["POST"], name="disable_user"),
    Route("/paper/{arxiv_id:path}/upvote", community.upvote, methods=["POST"], name="upvote"),
    Route("/paper/{arxiv_id:path}/unvote", community.unvote, methods=["POST"], name="unvote"),
    Route("/submit", community.submit_page, methods=["GET"], name="submit_page"),
    Route("/submit", community.submit, methods=["POST"], name="submit"),
    Route("/trending", community.trending_page, name="trending"),
    Route("/trending/feed.{format}", feeds.trending, name="trending_feed"),
    Route("/author/{name:path}", community.author_page, name="author"),
    Route("/paper/{arxiv_id:path}/comments", comments.post, methods=["POST"], name="post_comment"),
    Route("/comments/{comment_id}/edit", comments.edit_form, methods=["GET"], name="edit_comment_form"),
    Route("/comments/{comment_id}/edit", comments.edit, methods=["POST"], name="edit_comment"),
    Route("/comments/{comment_id}/delete", comments.delete, methods=["POST"], name="delete_comment"),
    Route("/comments/{comment_id}/hide", comments.hide, methods=["POST"], name="hide_comment"),
    Route("/comments/{comment_id}/unhide", comments.unhide, methods=["POST"], name="unhide_comment"),
    Route("/settings/tokens", tokens.tokens_page, methods=["GET"], name="tokens"),
    Route("/settings/tokens", tokens.create, methods=["POST"], name="create_token"),
    Route("/settings/tokens/{token_id}/revoke", tokens.revoke, methods=["POST"], name="revoke_token"),
    Route("/settings/invites", invites.invites_page, methods=["GET"], name="invites"),
    Route("/settings/invites", invites.create, methods=["POST"], name="create_invite"),
    Route("/settings/invites/{invite_id}/revoke", invites.revoke, methods=["POST"], name="revoke_invite"),
]

# The API's community endpoints (docs/api.md): personal ones take a bearer token (web/auth.py).
# They go before /api/v1/papers/{arxiv_id:path}, which would take "/comments" into the id.
COMMUNITY_API_ROUTES = [
    Route("/api/v1/me", api_community.me, methods=["GET"], name="api_v1_me"),
    Route("/api/v1/digest/subscription", api_digests.subscription, methods=["GET"], name="api_v1_digest"),
    Route("/api/v1/digest/subscription", api_digests.change_subscription, methods=["PUT"],
          name="api_v1_change_digest"),
    Route("/api/v1/papers/{arxiv_id:path}/upvote", api_community.upvote, methods=["POST"], name="api_v1_upvote"),
    Route("/api/v1/papers/{arxiv_id:path}/upvote", api_community.unvote, methods=["DELETE"], name="api_v1_unvote"),
    Route("/api/v1/papers/{arxiv_id:path}/comments", api_community.list_comments, methods=["GET"],
          name="api_v1_comments"),
    Route("/api/v1/papers/{arxiv_id:path}/comments", api_community.post_comment, methods=["POST"],
          name="api_v1_post_comment"),
]

# The personal library (issue #11; docs/library.md, "Routes"). Exports go before the
# pages whose {slug} or {token} would take "reading.bib" whole.
LIBRARY_ROUTES = [
    Route("/paper/{arxiv_id:path}/save", library.save, methods=["POST"], name="save"),
    Route("/paper/{arxiv_id:path}/unsave", library.unsave, methods=["POST"], name="unsave"),
    Route("/paper/{arxiv_id:path}/dismiss", library.dismiss, methods=["POST"], name="dismiss"),
    Route("/paper/{arxiv_id:path}/undismiss", library.undismiss, methods=["POST"], name="undismiss"),
    Route("/library", library.library_page, methods=["GET"], name="library"),
    Route("/library/feed-token", library.feed_token, methods=["POST"], name="feed_token"),
    Route("/library/import", library_import.upload, methods=["POST"], name="library_import"),
    Route("/library/import/{run_id}", library_import.report, methods=["GET"], name="import_report"),
    Route("/library/import/{run_id}/fix", library_import.fix, methods=["POST"], name="import_fix"),
    Route("/c", library.create_collection, methods=["POST"], name="create_collection"),
    Route("/c/{slug}.{format}", library.collection_export, methods=["GET"], name="collection_export"),
    Route("/c/{slug}", library.collection_page, methods=["GET"], name="collection"),
    Route("/c/{slug}", library.change_collection, methods=["POST"], name="change_collection"),
    Route("/s/{token}/feed.atom", foryou.shared_feed, name="shared_feed"),
    Route("/s/{token}.{format}", library.shared_export, name="shared_export"),
    Route("/s/{token}", library.shared_page, name="shared"),
    Route("/for-you", foryou.for_you, name="for_you"),
    Route("/for-you/{token}/feed.atom", foryou.for_you_feed, name="for_you_feed"),
    Route("/updates", foryou.updates, methods=["GET"], name="updates"),
    Route("/updates/seen", foryou.mark_seen, methods=["POST"], name="updates_seen"),
    Route("/updates/{token}/feed.atom", foryou.updates_feed, name="updates_feed"),
    *api_library.ROUTES,
]

# Email digests (issue #12; docs/digests.md, "Routes"). The unsubscribe POST takes no
# CSRF token: its signed token is the authority (RFC 8058).
DIGEST_ROUTES = [
    Route("/digest/subscribe", digests.subscribe, methods=["POST"], name="digest_subscribe"),
    Route("/digest/confirm", digests.confirm_page, methods=["GET"], name="digest_confirm_page"),
    Route("/digest/confirm", digests.confirm, methods=["POST"], name="digest_confirm"),
    Route("/digest/unsubscribe", digests.unsubscribe_page, methods=["GET"], name="digest_unsubscribe_page"),
    Route("/digest/unsubscribe", digests.unsubscribe, methods=["POST"], name="digest_unsubscribe"),
    Route("/digest/settings", digests.settings_page, methods=["GET"], name="digest_settings"),
    Route("/digest/settings", digests.save_settings, methods=["POST"], name="digest_save_settings"),
    Route("/digest/preview", digests.preview, methods=["GET"], name="digest_preview"),
    Route("/search/save", digests.save_search, methods=["POST"], name="save_search"),
    Route("/search/saved/{search_id:int}/delete", digests.delete_search, methods=["POST"], name="delete_search"),
    Route("/admin/digests", digests.admin_page, methods=["GET"], name="admin_digests"),
]

ROUTES = [
    *LIBRARY_ROUTES,
    Route("/", pages.latest, name="latest"),
    Route("/feed.{format}", feeds.latest, name="latest_feed"),
    Route("/day", pages.pick_day, name="pick_day"),
    # A day's feed and exports before /day/{day}, which would take "2025-03-01.bib" as the day.
    Route("/day/{day}/feed.{format}", feeds.day, name="day_feed"),
    Route("/day/{day}.bib", exports.day_bibtex, name="day_bibtex"),
    Route("/day/{day}.csl.json", exports.day_csl, name="day_csl"),
    Route("/day/{day}", pages.day_page, name="day"),
    Route("/day/{day}/map", pages.day_map, name="day_map"),
    Route("/week/{week}/map", pages.week_map, name="week_map"),
    Route("/month/{month}/map", pages.month_map, name="month_map"),
    Route("/week", periods.latest_week, name="latest_week"),
    Route("/week/{week}", periods.week_page, name="week"),
    Route("/month", periods.latest_month, name="latest_month"),
    Route("/month/{month}", periods.month_page, name="month"),
    Route("/thumbnail/{arxiv_id:path}.webp", pages.thumbnail, name="thumbnail"),
    # Old-style ids have a slash (hep-th/9901001), so the id is a path; exports go first.
    Route("/paper/{arxiv_id:path}.bib", pages.paper_bibtex, name="paper_bibtex"),
    Route("/paper/{arxiv_id:path}.csl.json", exports.paper_csl, name="paper_csl"),
    Route("/paper/{arxiv_id:path}", pages.paper, name="paper"),
    Route("/search", pages.search, name="search"),
    Route("/search/feed.{format}", feeds.search, name="search_feed"),
    Route("/search.bib", exports.search_bibtex, name="search_bibtex"),
    Route("/search.csl.json", exports.search_csl, name="search_csl"),
    Route("/category/{category}/feed.{format}", feeds.category, name="category_feed"),
    Route("/author/{name:path}/feed.{format}", feeds.author, name="author_feed"),
    Route("/status", pages.status, name="status"),
    # The JSON API v1 (docs/api.md). Each /similar route goes before its paper route,
    # whose {arxiv_id:path} would take "/similar" into the id.
    Route("/api/v1/openapi.json", api_v1.openapi_json, name="api_v1_openapi"),
    Route("/api/v1/days/{day}", api_v1.day, name="api_v1_day"),
    Route("/api/v1/search", api_v1.search, name="api_v1_search"),
    *COMMUNITY_API_ROUTES,
    Route("/api/v1/papers/{arxiv_id:path}/similar", api_v1.similar, name="api_v1_similar"),
    Route("/api/v1/papers/{arxiv_id:path}", api_v1.paper, name="api_v1_paper"),
    Route("/api/v1/status", api_v1.status, name="api_v1_status"),
    Route("/api/v1/trending", api_v1.trending, name="api_v1_trending"),
    Route("/api/v1/authors/{name:path}", api_v1.author, name="api_v1_author"),
    Route("/api/docs", api_v1.docs, name="api_docs"),
    # The unversioned API of before v1, kept as aliases (docs/api.md says so).
    Route("/api/days/{day}", api.day, name="api_day"),
    Route("/api/search", api.search, name="api_search"),
    Route("/api/papers/{arxiv_id:path}/similar", api.similar, name="api_similar"),
    Route("/api/papers/{arxiv_id:path}", api.paper, name="api_paper"),
    Route("/api/status", api.status, name="api_status"),
    Mount("/static", CachedStaticFiles(directory=pages.STATIC), name="static"),
    *COMMUNITY_ROUTES,
    *DIGEST_ROUTES,
]


def _cors(settings: Settings) -> list[Middleware]:
    """CORS for the origins PAPERWIRE_CORS_ORIGINS names, none when it is empty (the
    default): every endpoint is a GET without credentials, so no cookies are allowed."""
    if not settings.allowed_origins:
        return []
    return [Middleware(CORSMiddleware, allow_origins=settings.allowed_origins, allow_methods=["GET", "HEAD"],
                       allow_credentials=False, expose_headers=["ETag", "Last-Modified", "Retry-After"],
                       max_age=CORS_MAX_AGE_SECONDS)]


# --- errors: one handler, two shapes --------------------------------------------

def error_response(request: Request, status: int, message: str) -> Response:
    """The error in the shape of the layer asked: JSON under /api/, an HTML page elsewhere."""
    if request.url.path.startswith("/api/"):
        return api.error(status, message)
    return pages.error(request, status, message)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    message = exc.detail
    if exc.status_code == 404 and message == "Not Found":  # the router found no route
        message = f"there is nothing at {request.url.path}"
    response = error_response(request, exc.status_code, message)
    response.headers.update(exc.headers or {})
    return response


async def _not_found(request: Request, exc: NotFound) -> Response:
    return error_response(request, 404, str(exc))


async def _search_busy(request: Request, exc: SearchBusy) -> Response:
    response = error_response(request, 503, str(exc))
    response.headers["Retry-After"] = str(SEARCH_RETRY_AFTER_SECONDS)
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    # Starlette logs the traceback after this handler; the client gets no internals.
    return error_response(request, 500, "something went wrong on the server; its log says what")


# --- middleware -------------------------------------------------------------------

class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response, errors included."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LimitRequestSize:
    """Refuses request bodies over `max_bytes` (for a path in `larger`, its own limit) with
    413: at once when Content-Length says so, or as soon as a streamed body passes the limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] in self.larger:
            return await LimitRequestSize(self.app, max_bytes=self.larger[scope["path"]])(scope, receive, send)
        length = Headers(scope=scope).get("content-length", "0")
        if not length.isascii() or not length.isdigit() or int(length) > self.max_bytes:
            response = error_response(Request(scope), 413, self._message())
            return await response(scope, receive, send)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited_receive, send)

    def _message(self) -> str:
        return f"the request body is over the limit of {self.max_bytes} bytes"
