"""CSRF tokens and the session cookie: the web layer's defences for forms.

This module owns what ties a form to the browser that fetched it: the CSRF token
(an HMAC of the session id under a key derived from PAPERWIRE_SECRET_KEY, the
OWASP CSRF Cheat Sheet's "HMAC-based token pattern"), the checks a state-changing
request must pass (the token, then the browser's own Origin and Sec-Fetch-Site
headers as defence in depth), and the attributes of the session cookie. The
session itself (its row, its user, rotation at login) is the sessions table's and
the routes' (docs/community.md): a visitor who has not logged in gets a random
anonymous session id in the same cookie, stored nowhere, so that the log-in and
sign-up forms carry a token too (OWASP: "login CSRF"). A refused request raises
HTTPException(403), which the app's one error handler turns into the error shape
of the layer asked (an HTML page, or `{"ok": false, ...}` under /api/).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from paperwire.accounts import SESSION_LIFETIME, TokenKind, derive_key, new_token

CSRF_FIELD = "csrf_token"  # the hidden field every form carries
CSRF_HEADER = "X-CSRF-Token"  # what a script sends instead (the upvote button with JavaScript on)
# RFC 6265bis 4.1.3.2: a "__Host-" cookie must be Secure, have Path=/ and no Domain, so
# no sibling subdomain or plain-HTTP page can set or overwrite it. Browsers refuse the
# prefix without Secure, so plain HTTP (a laptop, a test client) uses the bare name.
SESSION_COOKIE = "paperwire_session"
SECURE_SESSION_COOKIE = "__Host-paperwire_session"
SESSION_COOKIE_MAX_AGE_SECONDS = int(SESSION_LIFETIME.total_seconds())
# RFC 9110 9.2.1: these methods are safe, so routes must never change state on them,
# and they need no token. Everything else is checked.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Fetch Metadata (W3C): a request a page on another site made. "same-site" is refused
# too, since a sibling subdomain may belong to someone else (OWASP CSRF Cheat Sheet).
REFUSED_FETCH_SITES = frozenset({"cross-site", "same-site"})


# --- tokens (pure) --------------------------------------------------------------------

def csrf_token(secret_key: str, session_id: str) -> str:
    """The CSRF token for `session_id`: it changes when the session does (at login), and
    cannot be made without the key, so another site cannot put a valid one in a form."""
    mac = hmac.new(derive_key(secret_key, "csrf"), session_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def csrf_token_matches(secret_key: str, session_id: str, token: str) -> bool:
    """Whether `token` is `session_id`'s CSRF token, compared in constant time."""
    return hmac.compare_digest(csrf_token(secret_key, session_id).encode(), token.encode())


# --- the session cookie ---------------------------------------------------------------

def is_https(request: Request) -> bool:
    """Whether the browser reached us over HTTPS. Behind a proxy this relies on uvicorn's
    --proxy-headers (X-Forwarded-Proto from a trusted proxy; docs/deploy.md)."""
    return request.url.scheme == "https"


def session_cookie_name(request: Request) -> str:
    return SECURE_SESSION_COOKIE if is_https(request) else SESSION_COOKIE


def session_id_of(request: Request) -> str | None:
    """The session id the browser sent, or None."""
    return request.cookies.get(session_cookie_name(request)) or None


def anonymous_session_id(request: Request) -> tuple[str, bool]:
    """The browser's session id, or a fresh anonymous one (and True: set it in the
    response with `set_session_cookie`), so a form for a visitor has a token to carry."""
    session_id = session_id_of(request)
    if session_id is not None:
        return session_id, False
    return new_token(TokenKind.SESSION).value, True


def set_session_cookie(response: Response, request: Request, session_id: str) -> None:
    """Sets the session cookie: HttpOnly (no script reads it), SameSite=Lax (RFC 6265bis
    8.8: other sites' POSTs, frames and images go without it; following a link to us keeps
    it), Secure and __Host- over HTTPS, for the session's lifetime."""
    response.set_cookie(
        session_cookie_name(request), session_id, max_age=SESSION_COOKIE_MAX_AGE_SECONDS,
        path="/", secure=is_https(request), httponly=True, samesite="lax",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Removes the session cookie (log out), with the attributes it was set with."""
    response.delete_cookie(session_cookie_name(request), path="/", secure=is_https(request),
                           httponly=True, samesite="lax")


# --- the check -----------------------------------------------------------------------

def cross_site_refusal(request: Request) -> str | None:
    """Why the browser's own headers say another site sent this request, or None.
    Browsers set Origin on every POST and Sec-Fetch-Site on every request (OWASP CSRF
    Cheat Sheet, "Verifying origin with standard headers"); a client that sends neither
    (curl, an old browser) falls back on the token alone."""
    fetch_site = request.headers.get("sec-fetch-site", "").lower()
    if fetch_site in REFUSED_FETCH_SITES:
        return f"this form was sent from another site (Sec-Fetch-Site: {fetch_site})"
    origin = request.headers.get("origin")
    if origin is not None and _origin(origin) != _origin(str(request.base_url)):
        return f"this form was sent from {origin!r}, not from this site"
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def check_csrf(request: Request, *, secret_key: str, session_id: str | None) -> None:
    """Returns when `request` is safe (GET, HEAD, OPTIONS) or carries `session_id`'s
    token in its form field or header and no sign of another site; raises
    HTTPException(403) saying what to do otherwise. The form stays readable after."""
    if request.method in SAFE_METHODS:
        return
    if (reason := cross_site_refusal(request)) is not None:
        raise HTTPException(403, f"{reason}; go back to the page, reload it and try again")
    token = request.headers.get(CSRF_HEADER)
    if token is None:
        token = (await request.form()).get(CSRF_FIELD)
    if not isinstance(token, str) or not token:
        raise HTTPException(403, "the form has no CSRF token; reload the page and send it again")
    if session_id is None or not csrf_token_matches(secret_key, session_id, token):
        raise HTTPException(
            403, "the form's CSRF token has expired or is not this session's; reload the page and send it again"
        )
