"""Who a JSON API request speaks for: the one check every personal API endpoint makes.

A program sends a personal API token, `Authorization: Bearer pw_...` (RFC 6750
2.1); it needs no cookie and no CSRF token, since a browser never adds that
header to a request another site makes. A page's own script may instead rely on
the session cookie, and then a request that changes something must pass the same
CSRF check as a form. The token's scopes are `accounts.grants`' rule (write implies
read). Refusals are HTTPExceptions that the app's one error handler turns into the
API's error shape: 401 (no, unknown or revoked token, or a disabled user) and 403
(a token without the scope), each with the `WWW-Authenticate` challenge RFC 6750 3
asks for.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request

from paperwire import accounts
from paperwire.accounts import Scope
from paperwire.store.accounts import User
from paperwire.web import csrf
from paperwire.web.sessions import current_user, now

BEARER = "bearer"  # RFC 6750 2.1: the scheme name is case-insensitive (RFC 9110 11.1)
REALM = 'Bearer realm="paperwire"'


async def api_user(request: Request, scope: Scope) -> User:
    """The user `request` acts for, allowed `scope`: by its bearer token, or else (a page's
    script) by its session, with the CSRF check when `scope` is write. Raises
    HTTPException 401 or 403 saying what to do."""
    user = await run_in_threadpool(_user, request, scope)
    if scope is Scope.WRITE and request.headers.get("authorization") is None:
        await csrf.check_csrf(request, secret_key=request.app.state.secret_key,
                              session_id=csrf.session_id_of(request))
    return user


def api_reader(request: Request) -> User:
    """`api_user(request, Scope.READ)` for a handler that already runs in the thread pool:
    a read needs no CSRF check, so nothing here has to be awaited."""
    return _user(request, Scope.READ)


def _user(request: Request, scope: Scope) -> User:
    header = request.headers.get("authorization")
    if header is not None:
        return _token_user(request, header, scope)
    user = current_user(request)
    if user is None:
        raise _unauthorized("this needs an API token: send Authorization: Bearer pw_... "
                            "(make one at /settings/tokens)")
    return user


def _token_user(request: Request, header: str, scope: Scope) -> User:
    kind, _, value = header.strip().partition(" ")
    value = value.strip()
    if kind.lower() != BEARER or not value.startswith(accounts.API_TOKEN_PREFIX):
        raise _unauthorized("the Authorization header is not a paperwire token; send Authorization: Bearer pw_...",
                            error="invalid_request")
    found = request.app.state.store.api_token_user(accounts.token_hash(value), now=now())
    if found is None:
        raise _unauthorized("this API token is unknown or revoked, or its account is disabled; "
                            "make a new one at /settings/tokens", error="invalid_token")
    user, token = found
    if not accounts.grants(accounts.parse_scopes(token.scopes), scope):
        raise HTTPException(
            403, f"this API token has scope {token.scopes!r}; this needs {scope.value!r}: "
                 "make a token with that scope at /settings/tokens",
            headers={"WWW-Authenticate": f'{REALM}, error="insufficient_scope", scope="{scope.value}"'})
    request.state.user = user
    return user


def _unauthorized(message: str, *, error: str = "") -> HTTPException:
    challenge = f'{REALM}, error="{error}"' if error else REALM
    return HTTPException(401, message, headers={"WWW-Authenticate": challenge})
