"""The account's email digest through the JSON API: `GET /api/v1/digest/subscription`
(read) and `PUT` (write) read and change the same choices as /digest/settings
(docs/digests.md), validated by the same rules (web/digests.py `subscription_from`).

Subscribing itself stays on the page: it needs the confirmation mail answered
(double opt-in), so a token cannot sign an address up for mail.
"""

from __future__ import annotations

import json

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from paperwire.accounts import Scope
from paperwire.store import Store
from paperwire.store.accounts import User
from paperwire.web.auth import api_user
from paperwire.web.digests import subscription_from
from paperwire.web.sessions import now

MAX_BODY_BYTES = 16 * 1024  # the choices and a few hundred saved-search ids
FIELDS = ("frequency", "send_time", "timezone", "weekday", "paper_count")


async def subscription(request: Request) -> JSONResponse:
    """`GET /api/v1/digest/subscription`: whether the account gets digests, and its choices."""
    user = await api_user(request, Scope.READ)
    return JSONResponse(await run_in_threadpool(state, request.app.state.store, user))


async def change_subscription(request: Request) -> JSONResponse:
    """`PUT /api/v1/digest/subscription` with the choices to change; answers the new state."""
    user = await api_user(request, Scope.WRITE)
    body = _object(await request.body())
    return JSONResponse(await run_in_threadpool(_change, request.app.state.store, user, body))


def state(store: Store, user: User) -> dict:
    subscriber = store.subscriber_of_user(user.id) or store.subscriber_by_email(user.email)
    found = store.subscription(subscriber.id) if subscriber else None
    return {
        "ok": True, "email": user.email,
        "is_subscribed": subscriber is not None and not subscriber.is_unsubscribed,
        "is_confirmed": subscriber is not None and subscriber.is_confirmed,
        "subscription": None if found is None else {
            "frequency": found.frequency, "send_time": found.send_time.strftime("%H:%M"), "timezone": found.timezone,
            "weekday": found.weekday, "paper_count": found.paper_count, "includes": sorted(found.includes)},
        "saved_searches": [{"id": s.id, "name": s.name, "query": s.query, "mode": s.mode,
                            "is_in_digest": s.is_in_digest}
                           for s in store.saved_searches([user.id]).get(user.id, [])],
    }


def _change(store: Store, user: User, body: dict) -> dict:
    subscriber = store.subscriber_of_user(user.id) or store.subscriber_by_email(user.email)
    if subscriber is None or subscriber.is_unsubscribed:
        raise HTTPException(404, "this account gets no digest; subscribe at /digest/settings first "
                                 "(the confirmation mail has to be answered)")
    search_ids = _list(body.get("saved_searches_in_digest", []), "saved_searches_in_digest")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in search_ids):
        raise HTTPException(400, "saved_searches_in_digest must be a list of saved-search ids")
    old = store.subscription(subscriber.id)
    current = state(store, user)["subscription"] or {}
    choices = {**current, **{k: body[k] for k in FIELDS + ("includes",) if k in body}}
    form = FormData([(k, str(choices[k])) for k in FIELDS if k in choices]
                    + [("include", str(r)) for r in _list(choices.get("includes", []), "includes")])
    try:
        store.save_subscription(subscription_from(form, subscriber.id, old), now=now())
    except ValueError as error:
        raise HTTPException(400, str(error)) from None
    if "saved_searches_in_digest" in body:
        store.set_searches_in_digest(user.id, search_ids)
    return state(store, user)


def _object(raw: bytes) -> dict:
    if len(raw) > MAX_BODY_BYTES:
        raise HTTPException(413, f"the body is over {MAX_BODY_BYTES // 1024} KiB")
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):
        raise HTTPException(400, "the body is not valid JSON; send an object such as "
                                 "{\"frequency\": \"weekly\"}") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object, such as {\"frequency\": \"weekly\"}")
    return body


def _list(value, name: str) -> list:
    if not isinstance(value, list):
        raise HTTPException(400, f"{name} must be a list")
    return value
