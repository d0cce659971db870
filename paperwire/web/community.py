"""The community pages: upvoting a paper (and taking it back).

An upvote is a plain form that posts and redirects back (303) to the page it came
from, so it works without JavaScript; a script may post the same form with
`Accept: application/json` and get the new count instead. The rule (one per user
per paper, exact under concurrency) is the store's primary key (store/community.py).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from paperwire.web import params
from paperwire.web.sessions import checked_form, clock, local_path, now, refuse_if_limited, require_user


async def upvote(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/upvote`."""
    form = await checked_form(request)
    return await run_in_threadpool(_vote, request, form, is_upvote=True)


async def unvote(request: Request) -> Response:
    """`POST /paper/{arxiv_id}/unvote`: takes the user's upvote back."""
    form = await checked_form(request)
    return await run_in_threadpool(_vote, request, form, is_upvote=False)


def _vote(request: Request, form: FormData, *, is_upvote: bool) -> Response:
    user = require_user(request)
    refuse_if_limited(request.app.state.rate_limits.upvote(str(user.id), clock()))
    store = request.app.state.store
    arxiv_id = store.get_paper(params.arxiv_id(request.path_params["arxiv_id"])).arxiv_id  # NotFound: 404
    if is_upvote:
        store.upvote(user.id, arxiv_id, now=now())
    else:
        store.unvote(user.id, arxiv_id)
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"ok": True, "upvote_count": store.upvote_count(arxiv_id), "is_upvoted": is_upvote})
    back = local_path(str(form.get("next", ""))) if form.get("next") else f"/paper/{arxiv_id}"
    return RedirectResponse(back, status_code=303)
