"""The digest pages: subscribe, confirm, unsubscribe (RFC 8058 one-click), settings, saved
searches, the preview of the next digest, and the admin's view of the last runs.

Subscribing needs no account and always answers "check your inbox", whether or not
the address is known, so the box cannot be used to probe addresses; a
confirmation mail goes out at most once per address per 10 minutes (the store's
claim) and the box is rate-limited per client address. A GET never changes
anything: mail scanners open links, so confirm and unsubscribe links show a page
with a button. The unsubscribe POST takes no cookie and no CSRF token, since the
signed token in its URL is the authority and a mail provider posts it with
neither (RFC 8058 section 3.2); every other form carries a CSRF token. The rules
are `paperwire.digest`'s; the rows are store/digests.py's.
"""

from __future__ import annotations

import logging
from datetime import time
from urllib.parse import urlencode
from zoneinfo import available_timezones

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire.config import ConfigError
from paperwire.digest import REASONS, Subscription, mail, tokens
from paperwire.digest import run as digest_run
from paperwire.digest.schedule import due_period
from paperwire.digest.subscribers import FREQUENCIES, MAX_PAPER_COUNT
from paperwire.ratelimit import Rate, RateLimiter, address_key
from paperwire.web import pages
from paperwire.web.sessions import (
    checked_form, client_address, clock, current_user, now, refuse_if_limited, require_user,
)

log = logging.getLogger(__name__)

# Per client address: a person subscribes once or twice; a script posting addresses
# is slowed to one every 6 minutes after a burst (each post may send a mail).
SUBSCRIBE_PER_ADDRESS = Rate(5, 30 * 60)
CHECK_INBOX = ("If that address can receive mail, a confirmation link is on its way. Check your inbox "
               "(and the spam folder) and open the link to start your digest.")
SEARCH_NAME_MAX_CHARS = 120
SEARCH_QUERY_MAX_CHARS = 2_000
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
ADMIN_RUN_COUNT = 20


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    if getattr(state, "digest_subscribe_limiter", None) is None:  # one per app, like app.state.rate_limits
        state.digest_subscribe_limiter = RateLimiter(SUBSCRIBE_PER_ADDRESS)
    return state.digest_subscribe_limiter


def _page(request: Request, *, heading: str, message: str = "", status: int = 200, action: str = "",
          button: str = "", hidden: tuple = (), csrf: bool = True, problem: str = "") -> Response:
    """A page saying one thing, with at most one button (a POST form to `action`)."""
    return pages.render(request, "digest_page.html", status=status, heading=heading, message=message,
                        action=action, button=button, hidden=hidden, with_csrf=csrf, problem=problem,
                        page_title=f"{heading} · paperwire")


# --- subscribe, confirm, unsubscribe ------------------------------------------------------

async def subscribe(request: Request) -> Response:
    """`POST /digest/subscribe`: email and time zone from the box on the day and trending pages."""
    form = await checked_form(request)
    return await run_in_threadpool(_subscribe, request, form)


def _subscribe(request: Request, form: FormData) -> Response:
    allowed, retry_after = _limiter(request).allow(address_key(client_address(request)), clock())
    refuse_if_limited(None if allowed else retry_after)
    try:
        typed = mail.parse_address(str(form.get("email", ""))[:320])
        # Domains are case-blind (RFC 5321 section 2.4), so Ada@Example.org is ada's one subscription.
        address = mail.parse_address(f"{typed.username}@{typed.domain.lower()}")
    except mail.InvalidAddress as error:
        return _page(request, heading="Subscribe", status=400, problem=f"{error}; check it and try again")
    store, settings, at = request.app.state.store, request.app.state.settings, now()
    user = current_user(request)
    subscriber = store.subscribe(address.addr_spec, now=at, timezone=_zone(str(form.get("timezone", ""))),
                                 user_id=user.id if user and user.email == address.addr_spec else None)
    if store.claim_confirmation(subscriber.id, now=at):
        _send_confirmation(request, subscriber.id, address)
    return _page(request, heading="Check your inbox", message=CHECK_INBOX)


def _zone(name: str) -> str:
    """The browser's time zone if it is an IANA name we know, else UTC (no JavaScript)."""
    return name if name in _zones() else "UTC"


def _zones() -> set[str]:
    if not hasattr(_zones, "cached"):
        _zones.cached = available_timezones() | {"UTC"}
    return _zones.cached


def _send_confirmation(request: Request, subscriber_id: int, address) -> None:
    settings = request.app.state.settings
    try:
        smtp = mail.SmtpConfig.from_settings(settings)
        message = mail.confirmation_message(subscriber_id, recipient=address, sender=smtp.sender,
                                            base_url=settings.base_url, secret_key=request.app.state.secret_key,
                                            now=now())
        delivery = mail.send(message, smtp, now=now())
    except (mail.MailNotConfigured, mail.MailSetupError, ConfigError) as error:
        # The visitor is told the same either way; the operator reads why in the log.
        log.warning("no confirmation mail sent: %s", error)
        return
    if not delivery.is_sent:
        log.warning("confirmation mail not taken: %s %s", delivery.status, delivery.detail)


def _subscriber_id(request: Request, token: str, purpose: str) -> int:
    """The subscriber a valid `purpose` token names; raises HTTPException(400) saying why not."""
    try:
        subject = tokens.verify(token, purpose=purpose, secret_key=request.app.state.secret_key, now=now())
    except tokens.InvalidToken as error:
        raise HTTPException(400, str(error)) from None
    return int(subject)


def confirm_page(request: Request) -> Response:
    """`GET /digest/confirm?token=`: a Confirm button; opening the link changes nothing."""
    token = request.query_params.get("token", "")
    _subscriber_id(request, token, "confirm")
    return _page(request, heading="Confirm your digest", action="/digest/confirm", button="Confirm",
                 message="Confirm that you want paperwire's digest at this address.", hidden=(("token", token),))


async def confirm(request: Request) -> Response:
    """`POST /digest/confirm`: a valid confirm token turns the digest on (again is fine)."""
    form = await checked_form(request)
    subscriber_id = _subscriber_id(request, str(form.get("token", "")), "confirm")
    if not await run_in_threadpool(request.app.state.store.confirm_subscriber, subscriber_id, now=now()):
        raise HTTPException(400, "this subscription no longer exists; subscribe again from the daily page")
    return _page(request, heading="Your digest is on",
                 message="Confirmed. Your first digest comes with the next arXiv announcement. "
                         "Signed-in readers can choose what it holds at /digest/settings.")


def unsubscribe_page(request: Request) -> Response:
    """`GET /digest/unsubscribe?token=`: the visible link in every digest, a button, no sign-in."""
    token = request.query_params.get("token", "")
    _subscriber_id(request, token, "unsubscribe")
    return _page(request, heading="Unsubscribe", button="Unsubscribe", csrf=False,
                 action="/digest/unsubscribe?" + urlencode({"token": token}),
                 message="Stop paperwire's digests to this address?")


async def unsubscribe(request: Request) -> Response:
    """`POST /digest/unsubscribe?token=`: RFC 8058 one-click (body `List-Unsubscribe=One-Click`)
    and the page's button. 200 without a redirect, as RFC 8058 section 3.2 expects."""
    form = await request.form()
    is_one_click = form.get("List-Unsubscribe") == "One-Click"
    subscriber_id = _subscriber_id(request, request.query_params.get("token", ""), "unsubscribe")
    await run_in_threadpool(request.app.state.store.unsubscribe, subscriber_id,
                            reason="one-click" if is_one_click else "link", now=now())
    return _page(request, heading="Unsubscribed", csrf=False,
                 message="You will get no more digests at this address. Subscribing again takes a new confirmation.")


# --- settings and saved searches (signed in) -----------------------------------------------

def settings_page(request: Request) -> Response:
    """`GET /digest/settings`: the signed-in user's digest choices and saved searches."""
    return _settings_page(request, require_user(request))


def _settings_page(request: Request, user, *, status: int = 200, problem: str = "", notice: str = "") -> Response:
    store = request.app.state.store
    subscriber = store.subscriber_of_user(user.id) or store.subscriber_by_email(user.email)
    subscription = store.subscription(subscriber.id) if subscriber else None
    return pages.render(
        request, "digest_settings.html", status=status, problem=problem, notice=notice, subscriber=subscriber,
        subscription=subscription, searches=store.saved_searches([user.id]).get(user.id, []),
        reasons=REASONS, frequencies=FREQUENCIES, weekdays=WEEKDAYS, max_papers=MAX_PAPER_COUNT,
        zones=sorted(_zones()), page_title="Digest settings · paperwire",
    )


async def save_settings(request: Request) -> Response:
    """`POST /digest/settings`: subscribe the account's address, save choices, or unsubscribe."""
    form = await checked_form(request)
    return await run_in_threadpool(_save_settings, request, form)


def _save_settings(request: Request, form: FormData) -> Response:
    user = require_user(request)
    store, at = request.app.state.store, now()
    subscriber = store.subscriber_of_user(user.id) or store.subscriber_by_email(user.email)
    action = form.get("action", "save")
    if subscriber is None or action == "subscribe":
        subscriber = store.subscribe(user.email, now=at, user_id=user.id, timezone=_zone(str(form.get("timezone", ""))))
        if store.claim_confirmation(subscriber.id, now=at):
            _send_confirmation(request, subscriber.id, mail.parse_address(user.email))
        return _settings_page(request, user, notice=CHECK_INBOX)
    if action == "unsubscribe":
        store.unsubscribe(subscriber.id, reason="settings", now=at)
        return RedirectResponse("/digest/settings", status_code=303)
    try:
        subscription = subscription_from(form, subscriber.id, store.subscription(subscriber.id))
    except ValueError as error:
        return _settings_page(request, user, status=400, problem=str(error))
    store.save_subscription(subscription, now=at)
    store.set_searches_in_digest(user.id, _ints(form.getlist("search")))
    return RedirectResponse("/digest/settings", status_code=303)


def subscription_from(form: FormData, subscriber_id: int, old: Subscription | None) -> Subscription:
    """The choices of the settings form, validated by the record; raises ValueError saying what."""
    try:
        send_time = time.fromisoformat(str(form.get("send_time", "08:00")))
    except ValueError:
        raise ValueError(f"send time {form.get('send_time')!r} is not a time; use HH:MM, e.g. 07:30") from None
    zone = str(form.get("timezone", "UTC"))
    if zone not in _zones():
        raise ValueError(f"time zone {zone!r} is unknown; use an IANA name such as Europe/Berlin")
    paper_count, weekday = _ints([form.get("paper_count", "")]), _ints([form.get("weekday", "0")])
    if not paper_count:
        raise ValueError(f"papers per digest must be a number from 1 to {MAX_PAPER_COUNT}")
    return Subscription(
        subscriber_id, created_at=old.created_at if old else now(), frequency=str(form.get("frequency", "daily")),
        send_time=send_time.replace(second=0, microsecond=0), timezone=zone, weekday=(weekday or [0])[0],
        paper_count=paper_count[0], includes=frozenset(str(r) for r in form.getlist("include")),
    )


def _ints(values) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.isascii() and v.isdigit() and len(v) < 10]


async def save_search(request: Request) -> Response:
    """`POST /search/save`: "Save this search" on the search page (signed in)."""
    form = await checked_form(request)
    return await run_in_threadpool(_save_search, request, form)


def _save_search(request: Request, form: FormData) -> Response:
    user = require_user(request)
    refuse_if_limited(request.app.state.rate_limits.post(str(user.id), client_address(request), clock()))
    query = str(form.get("query", ""))[:SEARCH_QUERY_MAX_CHARS]
    name = " ".join(str(form.get("name", "")).split())[:SEARCH_NAME_MAX_CHARS] or "Saved search"
    mode = str(form.get("mode", "hybrid"))
    if mode not in ("hybrid", "lexical", "semantic") or not query:
        raise HTTPException(400, "this search cannot be saved; run it on the search page and save it from there")
    if request.app.state.store.save_search(user.id, name=name, query=query, mode=mode, now=now()) is None:
        raise HTTPException(400, "you have saved as many searches as a digest can hold; delete one first")
    return RedirectResponse("/digest/settings", status_code=303)


async def delete_search(request: Request) -> Response:
    """`POST /search/saved/{id}/delete`."""
    await checked_form(request)
    user = await run_in_threadpool(require_user, request)
    await run_in_threadpool(request.app.state.store.delete_saved_search, user.id,
                            int(request.path_params["search_id"]))
    return RedirectResponse("/digest/settings", status_code=303)


# --- preview and admin -----------------------------------------------------------------------

def preview(request: Request) -> Response:
    """`GET /digest/preview`: the user's next digest as built now and not recorded, or why none."""
    user = require_user(request)
    store, at = request.app.state.store, now()
    subscriber = store.subscriber_of_user(user.id) or store.subscriber_by_email(user.email)
    subscription = store.subscription(subscriber.id) if subscriber else None
    if subscription is None:
        return pages.render(request, "digest_preview.html", built=None, skip="no-subscription", period="",
                            page_title="Digest preview · paperwire")
    period = due_period(subscription, at) or "next"
    gathering = digest_run.Gathering(store, at, request.app.state.search,
                                     last_digest_at=store.last_digest_at([subscriber.id]),
                                     saved=store.saved_searches([user.id]))
    built = digest_run.built_digest(
        gathering, subscriber, subscription, period=period,
        received=store.received_papers([subscriber.id]).get(subscriber.id, set()), sent_periods=(),
        base_url=request.app.state.settings.base_url)
    is_digest = hasattr(built, "entries")
    return pages.render(request, "digest_preview.html", built=built if is_digest else None,
                        skip=None if is_digest else built.reason, period=period,
                        page_title="Digest preview · paperwire")


def admin_page(request: Request) -> Response:
    """`GET /admin/digests`: the last runs, failures, unknown fates, and an alert line."""
    user = require_user(request)
    if not user.is_admin:
        raise HTTPException(403, "only an administrator can see the digest runs")
    store = request.app.state.store
    runs = [r for r in store.recent_job_runs(limit=500) if r.job == digest_run.JOB][:ADMIN_RUN_COUNT]
    return pages.render(
        request, "admin_digests.html", runs=runs, alert=_alert(store, runs),
        failures=store.outbox_rows(states=("failed-temporary", "failed-permanent")),
        unseen=store.outbox_rows(unseen=True), counts=store.outbox_state_counts(),
        page_title="Digests · paperwire",
    )


def _alert(store, runs) -> str:
    """Why an admin should look: the last run failed, or sent nothing on a day with new papers."""
    if not runs:
        return ""
    last = runs[0]
    if last.status == "failed":
        return f"The last digest run failed: {last.summary}"
    latest_day = store.latest_day()
    if last.summary.startswith("0 sent") and latest_day == last.started_at.date():
        return f"The last digest run sent nothing, though {latest_day} has new papers."
    return ""

