"""`/settings/invites`: a member's invite links on an invite-only instance: make one (its
link shown once), list them (made, used by whom, expired) and revoke an unused one.

An administrator sees and may revoke everyone's. The link appears in the answer to
the POST that made it and nowhere else: the store keeps its SHA-256, so a lost
link is revoked and replaced (`Cache-Control: no-store` on that answer). On an
open or closed instance the page says why there is nothing to do, and making one
is refused (409). Making invites has its own per-member limit
(ratelimit.INVITE_PER_ACCOUNT). Links are account_links.py's, as
`paperwire user invite` makes them.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire import account_links
from paperwire.accounts import INVITE_LIFETIME, SignupPolicy
from paperwire.web import feeds, pages
from paperwire.web.sessions import (
    checked_form, clock, current_user, now, refuse_if_limited, require_user, to_login,
)

_ID_DIGITS = 18  # an invite id in a path: digits only, below 2**63

NOTHING_TO_DO = {
    SignupPolicy.OPEN: "Sign-up on this instance is open: anyone can make an account at /signup, "
                       "so there is nobody to invite.",
    SignupPolicy.CLOSED: "Sign-up on this instance is closed: only an administrator makes accounts "
                         "(with `paperwire user create`), so invite links would not work.",
}


def _policy(request: Request) -> SignupPolicy:
    return request.app.state.settings.signup_policy


def _page(request: Request, *, new_link: str = "", status: int = 200) -> Response:
    user = require_user(request)
    policy = _policy(request)
    invites = [] if policy is not SignupPolicy.INVITE else \
        request.app.state.store.invites(created_by=None if user.is_admin else user.id)
    response = pages.render(
        request, "invites.html", status=status, new_link=new_link, invites=invites, now=now(),
        nothing_to_do=NOTHING_TO_DO.get(policy, ""), lifetime_days=INVITE_LIFETIME.days,
        page_title="Invites · paperwire",
    )
    response.headers["Cache-Control"] = "no-store"  # the page may hold a link's only copy
    return response


def invites_page(request: Request) -> Response:
    """`GET /settings/invites`; a visitor who is not logged in goes to the log-in page."""
    if current_user(request) is None:
        return to_login(request)
    return _page(request)


async def create(request: Request) -> Response:
    """`POST /settings/invites`: a new invite link, shown once on the page."""
    await checked_form(request)
    return await run_in_threadpool(_create, request)


def _create(request: Request) -> Response:
    user = require_user(request)
    if _policy(request) is not SignupPolicy.INVITE:
        raise HTTPException(409, NOTHING_TO_DO[_policy(request)])
    refuse_if_limited(request.app.state.rate_limits.invite(str(user.id), clock()))
    link = account_links.make_invite(request.app.state.store, user, base_url=feeds.base_url(request), now=now())
    return _page(request, new_link=link)


async def revoke(request: Request) -> Response:
    """`POST /settings/invites/{id}/revoke`: an unused invite of yours (any, for an admin) stops working."""
    await checked_form(request)
    return await run_in_threadpool(_revoke, request)


def _revoke(request: Request) -> Response:
    user = require_user(request)
    invite_id = _invite_id(request.path_params["invite_id"])
    if not request.app.state.store.revoke_invite(invite_id, created_by=None if user.is_admin else user.id):
        raise HTTPException(404, "you have no such unused invite; it may be used or revoked already")
    return RedirectResponse("/settings/invites", status_code=303)


def _invite_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > _ID_DIGITS:
        raise HTTPException(404, f"{text!r} is not an invite id; use the buttons on /settings/invites")
    return int(text)
