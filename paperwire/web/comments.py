"""The discussion on a paper page: post a comment or a reply, edit and delete your own,
and the administrator's hide and unhide.

Every action is a plain form that posts and redirects back (303) to the comment on
the paper page, so the discussion works without JavaScript; a refusal the writer
can fix (an empty or overlong comment) shows the form again with the reason and
their text (400). What a comment may say and how it renders are discussion.py's;
the rows are the store's (store/comments.py). Only a comment's author may edit or
delete it and only an administrator may hide it (403 otherwise); posting and
editing share the rate limit of submissions (ratelimit.POST_PER_ACCOUNT and
POST_PER_ADDRESS), checked after the CSRF token and before any work.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire import discussion
from paperwire.discussion import CommentError
from paperwire.store.accounts import User
from paperwire.store.comments import Comment
from paperwire.web import pages, params
from paperwire.web.sessions import (
    checked_form, client_address, clock, current_user, now, refuse_if_limited, require_user, to_login,
)

_ID_DIGITS = 18  # a comment id in a path or form: digits only, below 2**63


def comment_id(text: str, *, status: int = 404) -> int:
    """The comment id in `text`; raises HTTPException(`status`) for anything but digits."""
    if not text.isascii() or not text.isdigit() or len(text) > _ID_DIGITS:
        raise HTTPException(status, f"{text!r} is not a comment id; use the links on the paper page")
    return int(text)


def _back(comment: Comment | None, arxiv_id: str) -> RedirectResponse:
    anchor = f"#comment-{comment.id}" if comment is not None else "#comments"
    return RedirectResponse(f"/paper/{arxiv_id}{anchor}", status_code=303)


def _form_page(request: Request, *, arxiv_id: str, action: str, heading: str, text: str = "",
               problem: str = "", status: int = 200, parent_id: int | None = None) -> Response:
    """The comment form on a page of its own: editing, or a post to try again."""
    paper = request.app.state.store.get_paper(arxiv_id)
    return pages.render(request, "comment_form.html", status=status, paper=paper, action=action,
                        heading=heading, text=text, problem=problem, parent_id=parent_id,
                        max_chars=discussion.COMMENT_MAX_CHARS, page_title=f"{heading} · paperwire")


# --- posting --------------------------------------------------------------------------

async def post(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/comments`: a comment, or a reply with `parent`."""
    form = await checked_form(request)
    return await run_in_threadpool(_post, request, form)


def _post(request: Request, form: FormData) -> Response:
    user = require_user(request)
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))
    store = request.app.state.store
    arxiv_id = store.get_paper(params.arxiv_id(request.path_params["arxiv_id"])).arxiv_id  # NotFound: 404
    raw_parent = str(form.get("parent", ""))
    parent_id = comment_id(raw_parent, status=400) if raw_parent else None
    text = str(form.get("body", ""))
    try:
        comment = add(store, arxiv_id, user, text, parent_id=parent_id)
    except CommentError as error:
        return _form_page(request, arxiv_id=arxiv_id, action=f"/paper/{arxiv_id}/comments", text=text,
                          heading="Reply" if parent_id else "Comment", problem=str(error), status=400,
                          parent_id=parent_id)
    return _back(comment, arxiv_id)


def add(store, arxiv_id: str, user: User, text: str, *, parent_id: int | None = None) -> Comment:
    """Check, render and store a comment by `user` (a reply to a reply joins its thread);
    raises CommentError for its text and store.NotFound for a parent that is not there."""
    body = discussion.check_comment(text)
    if parent_id is not None:
        replied_to = store.comment(parent_id)
        if replied_to is None or replied_to.arxiv_id != arxiv_id:
            raise HTTPException(404, f"there is no comment {parent_id} on this paper to reply to; reload the page")
        parent_id = discussion.reply_parent(replied_to.id, replied_to.parent_id)
    return store.add_comment(arxiv_id, user.id, body=body, body_html=discussion.render(body),
                             render_version=discussion.RENDER_VERSION, now=now(), parent_id=parent_id)


# --- editing and deleting your own ----------------------------------------------------

def _own(request: Request) -> tuple[User, Comment]:
    """The signed-in user and the comment in the path, which must be theirs and not deleted."""
    user = require_user(request)
    comment = request.app.state.store.comment(comment_id(request.path_params["comment_id"]))
    if comment is None or comment.is_deleted:
        raise HTTPException(404, "there is no such comment; it may have been deleted")
    if comment.user_id != user.id:
        raise HTTPException(403, "you can only edit or delete your own comments")
    return user, comment


def edit_form(request: Request) -> Response:
    """`GET /comments/{id}/edit`: the form with the comment's text."""
    if current_user(request) is None:
        return to_login(request)
    _, comment = _own(request)
    return _form_page(request, arxiv_id=comment.arxiv_id, action=f"/comments/{comment.id}/edit",
                      heading="Edit your comment", text=comment.body)


async def edit(request: Request) -> Response:
    """`POST /comments/{id}/edit`."""
    form = await checked_form(request)
    return await run_in_threadpool(_edit, request, str(form.get("body", "")))


def _edit(request: Request, text: str) -> Response:
    user, comment = _own(request)
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))
    try:
        body = discussion.check_comment(text)
    except CommentError as error:
        return _form_page(request, arxiv_id=comment.arxiv_id, action=f"/comments/{comment.id}/edit",
                          heading="Edit your comment", text=text, problem=str(error), status=400)
    edited = request.app.state.store.edit_comment(
        comment.id, body=body, body_html=discussion.render(body), render_version=discussion.RENDER_VERSION, now=now())
    return _back(edited, comment.arxiv_id)


async def delete(request: Request) -> Response:
    """`POST /comments/{id}/delete`: gone, or "[deleted]" in its place while it has replies."""
    await checked_form(request)
    return await run_in_threadpool(_delete, request)


def _delete(request: Request) -> Response:
    _, comment = _own(request)
    request.app.state.store.delete_comment(comment.id, now=now())
    return _back(None, comment.arxiv_id)


# --- the administrator's hide ---------------------------------------------------------

async def hide(request: Request) -> Response:
    """`POST /comments/{id}/hide` (admins): nobody else sees the text."""
    await checked_form(request)
    return await run_in_threadpool(_set_hidden, request, True)


async def unhide(request: Request) -> Response:
    """`POST /comments/{id}/unhide` (admins): shown again."""
    await checked_form(request)
    return await run_in_threadpool(_set_hidden, request, False)


def _set_hidden(request: Request, is_hidden: bool) -> Response:
    admin = require_user(request)
    if not admin.is_admin:
        raise HTTPException(403, "only an administrator may hide or show comments")
    comment = request.app.state.store.set_comment_hidden(
        comment_id(request.path_params["comment_id"]), hidden_by=admin.id if is_hidden else None, now=now())
    return _back(comment, comment.arxiv_id)
