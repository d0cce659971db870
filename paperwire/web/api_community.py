"""The JSON API v1's community endpoints: who a token is, upvotes and comments.

Each personal endpoint starts with `auth.api_user(request, scope)` (a bearer token,
no cookie, no CSRF; web/auth.py), then the same rate limit and the same domain
calls as the pages (web/community.py, web/comments.py). Reading a paper's comments
needs no token. Bodies are JSON objects; openapi.py describes every route here.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from paperwire.accounts import Scope
from paperwire.discussion import CommentError
from paperwire.store.accounts import User
from paperwire.store.comments import Comment
from paperwire.web import comments, params
from paperwire.web.auth import api_user
from paperwire.web.sessions import Comments, client_address, clock, fresh_html, now, refuse_if_limited


async def me(request: Request) -> JSONResponse:
    """`GET /api/v1/me` (read): the token's user."""
    user = await api_user(request, Scope.READ)
    return JSONResponse({"ok": True, "username": user.username, "is_admin": user.is_admin})


# --- upvotes ---------------------------------------------------------------------------

async def upvote(request: Request) -> JSONResponse:
    """`POST /api/v1/papers/{arxiv_id}/upvote` (write): idempotent."""
    user = await api_user(request, Scope.WRITE)
    return await run_in_threadpool(_vote, request, user, True)


async def unvote(request: Request) -> JSONResponse:
    """`DELETE /api/v1/papers/{arxiv_id}/upvote` (write): idempotent."""
    user = await api_user(request, Scope.WRITE)
    return await run_in_threadpool(_vote, request, user, False)


def _vote(request: Request, user: User, is_upvote: bool) -> JSONResponse:
    refuse_if_limited(request.app.state.rate_limits.upvote(str(user.id), clock()))
    store = request.app.state.store
    arxiv_id = _paper_id(request)
    if is_upvote:
        store.upvote(user.id, arxiv_id, now=now())
    else:
        store.unvote(user.id, arxiv_id)
    return JSONResponse({"ok": True, "arxiv_id": arxiv_id, "upvote_count": store.upvote_count(arxiv_id),
                         "is_upvoted": is_upvote})


# --- comments --------------------------------------------------------------------------

def list_comments(request: Request) -> JSONResponse:
    """`GET /api/v1/papers/{arxiv_id}/comments`: the threads as the page shows them to a visitor."""
    arxiv_id = _paper_id(request)
    view = Comments(request.app.state.store, None)
    threads = view.threads(arxiv_id)  # hidden and deleted ones only where they hold replies
    return JSONResponse({"ok": True, "arxiv_id": arxiv_id, "comment_count": view.count(arxiv_id),
                         "comments": [{**comment_to_dict(top), "replies": [comment_to_dict(r) for r in replies]}
                                      for top, replies in threads]})


async def post_comment(request: Request) -> JSONResponse:
    """`POST /api/v1/papers/{arxiv_id}/comments` (write): `{"body": "...", "parent_id": 12}`."""
    user = await api_user(request, Scope.WRITE)
    body = await _json_object(request)
    return await run_in_threadpool(_post_comment, request, user, body)


def _post_comment(request: Request, user: User, body: dict) -> JSONResponse:
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))
    text, parent_id = body.get("body"), body.get("parent_id")
    if not isinstance(text, str):
        raise HTTPException(400, 'the body needs "body": the comment\'s text in Markdown')
    if parent_id is not None and (not isinstance(parent_id, int) or isinstance(parent_id, bool) or parent_id < 1):
        raise HTTPException(400, f'"parent_id" {parent_id!r} is not a comment id; use an id from the list, or leave it out')
    try:
        comment = comments.add(request.app.state.store, _paper_id(request), user, text, parent_id=parent_id)
    except CommentError as error:
        raise HTTPException(400, str(error)) from None
    return JSONResponse({"ok": True, "comment": comment_to_dict(comment)}, status_code=201)


def comment_to_dict(comment: Comment) -> dict:
    """A comment as the API's JSON; a deleted or hidden one without its text."""
    comment = fresh_html(comment)
    is_shown = not comment.is_deleted and not comment.is_hidden
    return {
        "id": comment.id, "parent_id": comment.parent_id,
        "username": None if comment.is_deleted else comment.username,
        "body": comment.body if is_shown else None, "body_html": comment.body_html if is_shown else None,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "is_deleted": comment.is_deleted, "is_hidden": comment.is_hidden,
    }


# --- parts -----------------------------------------------------------------------------

def _paper_id(request: Request) -> str:
    """The stored paper's arXiv id from the path; NotFound (404) if there is none."""
    return request.app.state.store.get_paper(params.arxiv_id(request.path_params["arxiv_id"])).arxiv_id


async def _json_object(request: Request) -> dict:
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the request body is not JSON; send an object such as {\"body\": \"...\"}") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the request body must be a JSON object, such as {\"body\": \"...\"}")
    return body
