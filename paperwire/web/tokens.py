"""`/settings/tokens`: a user's personal API tokens: make one (its value shown once), list
them (name, scopes, made, last used) and revoke one.

A new token's value appears in the answer to the POST that made it and nowhere
else: the store keeps its SHA-256 (store/tokens.py), so a lost token is revoked
and replaced, never shown again. That answer is not cached (`Cache-Control:
no-store`). What a token may do is accounts.py's scopes; web/auth.py checks them.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire import accounts
from paperwire.accounts import AccountError, Scope, TokenKind
from paperwire.store.tokens import TOKEN_NAME_MAX_CHARS
from paperwire.web import pages
from paperwire.web.sessions import (
    checked_form, client_address, clock, current_user, now, refuse_if_limited, require_user, to_login,
)


def _page(request: Request, *, status: int = 200, problem: str = "", new_value: str = "", name: str = "") -> Response:
    user = require_user(request)
    response = pages.render(
        request, "tokens.html", status=status, problem=problem, new_value=new_value, name=name,
        tokens=request.app.state.store.api_tokens(user.id), scopes=[s.value for s in Scope],
        name_max_chars=TOKEN_NAME_MAX_CHARS, page_title="API tokens · paperwire",
    )
    response.headers["Cache-Control"] = "no-store"  # the page may hold a token's only copy
    return response


def tokens_page(request: Request) -> Response:
    """`GET /settings/tokens`; a visitor who is not logged in goes to the log-in page."""
    if current_user(request) is None:
        return to_login(request)
    return _page(request)


async def create(request: Request) -> Response:
    """`POST /settings/tokens`: a new token with a name and scopes; the page shows it once."""
    form = await checked_form(request)
    return await run_in_threadpool(_create, request, form)


def _create(request: Request, form: FormData) -> Response:
    user = require_user(request)
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))
    name = str(form.get("name", "")).strip()
    if not name or len(name) > TOKEN_NAME_MAX_CHARS or not name.isprintable():
        return _page(request, status=400, name=name,
                     problem=f"give the token a name of 1 to {TOKEN_NAME_MAX_CHARS} printable characters, "
                             "e.g. the program that will use it")
    try:
        scopes = accounts.parse_scopes(" ".join(str(v) for v in form.getlist("scope")))
    except AccountError:
        return _page(request, status=400, name=name, problem="choose the token's scopes: read, or read and write")
    token = accounts.new_token(TokenKind.API)
    store_scopes = " ".join(sorted(s.value for s in scopes | {Scope.READ}))
    request.app.state.store.create_api_token(user.id, name=name, token_hash=token.hash, scopes=store_scopes,
                                             now=now())
    return _page(request, new_value=token.value, name=name)


async def revoke(request: Request) -> Response:
    """`POST /settings/tokens/{id}/revoke`: the token stops working at once."""
    await checked_form(request)
    return await run_in_threadpool(_revoke, request)


def _revoke(request: Request) -> Response:
    user = require_user(request)
    token_id = _token_id(request.path_params["token_id"])
    if not request.app.state.store.revoke_api_token(user.id, token_id, now=now()):
        raise HTTPException(404, "you have no such token; it may be revoked already")
    return RedirectResponse("/settings/tokens", status_code=303)


def _token_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise HTTPException(404, f"{text!r} is not a token id; use the buttons on /settings/tokens")
    return int(text)
