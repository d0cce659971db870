"""The account pages: sign up, log in, log out, change or reset a password, and the admin's users.

Each POST handler is async only for what must be: the CSRF check and reading the
form (sessions.checked_form). The rest (Argon2, the store) runs in the thread pool
so that a password hash never holds up the event loop. A refusal the visitor can
fix (a short password, a taken name) shows the form again with the reason (400);
a forged or cross-site form is 403 (csrf.py); too many attempts are 429 with
Retry-After (ratelimit.py). Every success redirects with 303, so a reload does not
post again. The rules are accounts.py's; the records store/accounts.py's; the
invite and reset links account_links.py's, which also mails a reset link (after
the answer has gone: see `request_reset`).
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from paperwire import account_links, accounts
from paperwire.accounts import AccountError, TokenKind
from paperwire.store import NotFound
from paperwire.store.accounts import User, UserExists
from paperwire.web import csrf, pages
from paperwire.web.sessions import (
    checked_form, client_address, clock, current_user, local_path, now, refuse_if_limited, require_user, to_login,
    user_of,
)

WRONG_LOGIN = "wrong username or password"  # one answer for both: no account enumeration


# --- the form page --------------------------------------------------------------------

def _field(name: str, label: str, kind: str, autocomplete: str, value: str = "") -> tuple:
    return name, label, kind, autocomplete, value


def _form_page(request: Request, *, heading: str, action: str, fields: list, submit: str,
               status: int = 200, problem: str = "", notice: str = "", hidden: tuple = (),
               links: tuple = ()) -> Response:
    """The form page, with a CSRF token for the browser's session (an anonymous one,
    set as the cookie here, when it has none yet)."""
    session_id, is_new = csrf.anonymous_session_id(request)
    response = pages.render(
        request, "account_form.html", status=status, heading=heading, action=action, fields=fields,
        submit=submit, problem=problem, notice=notice, hidden=hidden, links=links,
        form_token=csrf.csrf_token(request.app.state.secret_key, session_id),
        page_title=f"{heading} · paperwire",
    )
    if is_new:
        csrf.set_session_cookie(response, request, session_id)
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _logged_in(request: Request, user: User, target: str) -> Response:
    """Start a new session for `user` (the old or anonymous id is dropped: no session
    fixation, and the CSRF token rotates with it) and go to `target`."""
    token = accounts.new_token(TokenKind.SESSION)
    request.app.state.store.create_session(token.hash, user.id, now=now(),
                                           user_agent=request.headers.get("user-agent", ""))
    response = _redirect(target)
    csrf.set_session_cookie(response, request, token.value)
    return response


# --- log in and out ---------------------------------------------------------------------

def _login_page(request: Request, *, status: int = 200, problem: str = "", username: str = "",
                notice: str = "") -> Response:
    return _form_page(
        request, heading="Log in", action="/login", status=status, problem=problem, notice=notice,
        fields=[_field("username", "Username", "text", "username", username),
                _field("password", "Password", "password", "current-password")],
        hidden=(("next", local_path(request.query_params.get("next"))),), submit="Log in",
        links=(("/signup", "No account yet? Sign up"), ("/reset", "Forgot your password?")),
    )


def login_form(request: Request) -> Response:
    """`GET /login`."""
    notice = "Your password is changed; log in with the new one." if "reset" in request.query_params else ""
    return _login_page(request, notice=notice)


async def login(request: Request) -> Response:
    """`POST /login`."""
    form = await checked_form(request)
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: FormData) -> Response:
    typed, password = str(form.get("username", "")), str(form.get("password", ""))
    try:
        username = accounts.normalise_username(typed)
    except AccountError:
        username = typed.strip().lower()
    limits = request.app.state.rate_limits
    refuse_if_limited(limits.login(username, client_address(request), clock()))
    store = request.app.state.store
    user = store.user_by_name(username)
    # A disabled user gets the dummy hash too: the same answer, the same time.
    check = accounts.verify_password(user.password_hash if user and not user.is_disabled else None, password)
    if not check.is_valid:
        return _login_page(request, status=400, problem=WRONG_LOGIN, username=typed)
    limits.login_succeeded(username)
    store.record_login(user.id, now=now(),
                       password_hash=accounts.hash_password(password) if check.needs_rehash else None)
    return _logged_in(request, user, local_path(str(form.get("next", ""))))


async def logout(request: Request) -> Response:
    """`POST /logout`: ends the session and clears the cookie."""
    await checked_form(request)
    session_id = csrf.session_id_of(request)
    if session_id is not None:
        await run_in_threadpool(request.app.state.store.delete_session, accounts.token_hash(session_id))
    response = _redirect("/")
    csrf.clear_session_cookie(response, request)
    return response


# --- sign up ----------------------------------------------------------------------------

def _signup_page(request: Request, invite: str, *, status: int = 200, problem: str = "",
                 username: str = "", email: str = "") -> Response:
    if (refusal := _signup_refusal(request, invite)) is not None:
        raise HTTPException(403, refusal)
    return _form_page(
        request, heading="Sign up", action="/signup", status=status, problem=problem,
        fields=[_field("username", "Username", "text", "username", username),
                _field("email", "Email", "email", "email", email),
                _field("password", "Password (at least 8 characters)", "password", "new-password")],
        hidden=(("invite", invite),) if invite else (), submit="Create account",
        links=(("/login", "Have an account? Log in"),),
    )


def _signup_refusal(request: Request, invite: str) -> str | None:
    has_invite = bool(invite) and request.app.state.store.is_invite_valid(accounts.token_hash(invite), now=now())
    return accounts.signup_refusal(request.app.state.settings.signup_policy, has_valid_invite=has_invite)


def signup_form(request: Request) -> Response:
    """`GET /signup[?invite=...]`."""
    return _signup_page(request, request.query_params.get("invite", ""))


async def signup(request: Request) -> Response:
    """`POST /signup`: creates the account and logs it in."""
    form = await checked_form(request)
    return await run_in_threadpool(_signup, request, form)


def _signup(request: Request, form: FormData) -> Response:
    refuse_if_limited(request.app.state.rate_limits.signup(client_address(request), clock()))
    invite = str(form.get("invite", ""))
    typed_name, typed_email = str(form.get("username", "")), str(form.get("email", ""))
    password = str(form.get("password", ""))

    def again(problem: str) -> Response:
        return _signup_page(request, invite, status=400, problem=problem, username=typed_name, email=typed_email)

    if (refusal := _signup_refusal(request, invite)) is not None:
        raise HTTPException(403, refusal)
    try:
        username, email = accounts.normalise_username(typed_name), accounts.normalise_email(typed_email)
    except AccountError as error:
        return again(str(error))
    if (problem := accounts.check_password(password, username=username, email=email)) is not None:
        return again(problem)
    is_open = request.app.state.settings.signup_policy is accounts.SignupPolicy.OPEN
    try:
        user = request.app.state.store.create_user(
            username=username, email=email, password_hash=accounts.hash_password(password), now=now(),
            invite_hash=None if is_open else accounts.token_hash(invite),
        )
    except (UserExists, NotFound) as error:
        return again(str(error))
    return _logged_in(request, user, "/")


# --- passwords ----------------------------------------------------------------------------

def _password_page(request: Request, *, status: int = 200, problem: str = "", notice: str = "") -> Response:
    return _form_page(
        request, heading="Change password", action="/settings/password", status=status, problem=problem,
        notice=notice, submit="Change password",
        fields=[_field("current_password", "Current password", "password", "current-password"),
                _field("new_password", "New password (at least 8 characters)", "password", "new-password")],
    )


def password_form(request: Request) -> Response:
    """`GET /settings/password`; sends a visitor who is not logged in to the log-in page."""
    if current_user(request) is None:
        return to_login(request)
    notice = "Your password is changed; your other sessions are logged out." if "done" in request.query_params else ""
    return _password_page(request, notice=notice)


async def change_password(request: Request) -> Response:
    """`POST /settings/password`: the current password, then the new one; other sessions end."""
    form = await checked_form(request)
    return await run_in_threadpool(_change_password, request, form)


def _change_password(request: Request, form: FormData) -> Response:
    user = require_user(request)
    # The per-account login bucket: this form checks a password as a log-in does.
    refuse_if_limited(request.app.state.rate_limits.login(user.username, client_address(request), clock()))
    if not accounts.verify_password(user.password_hash, str(form.get("current_password", ""))).is_valid:
        return _password_page(request, status=400, problem="the current password is wrong")
    new = str(form.get("new_password", ""))
    if (problem := accounts.check_password(new, username=user.username, email=user.email)) is not None:
        return _password_page(request, status=400, problem=problem)
    request.app.state.store.change_password(
        user.id, accounts.hash_password(new), now=now(),
        keep_session_hash=accounts.token_hash(csrf.session_id_of(request)),
    )
    return _redirect("/settings/password?done")


RESET_ON_ITS_WAY = ("If an account with that name or address exists, a link to choose a new password "
                    "is on its way to its email address. It works once, within an hour; check the spam "
                    "folder too.")


def _sends_mail(request: Request) -> bool:
    return bool(request.app.state.settings.smtp_host)


def _reset_request_page(request: Request, *, notice: str = "") -> Response:
    return _form_page(
        request, heading="Reset your password", action="/reset", notice=notice, submit="Send me a link",
        fields=[_field("account", "Username or email address", "text", "username")],
        links=(("/login", "Remembered it? Log in"),),
    )


def reset_info(request: Request) -> Response:
    """`GET /reset[?sent]`: the form that mails a reset link (with "a link is on its way" after
    a request); until this instance sends mail, a page saying that an administrator makes it."""
    if _sends_mail(request):
        return _reset_request_page(request, notice=RESET_ON_ITS_WAY if "sent" in request.query_params else "")
    return pages.render(
        request, "account_form.html", heading="Reset your password", fields=[], problem="", links=(),
        notice="Ask this instance's administrator for a reset link: they can make one with "
               "`paperwire user reset-link YOUR_NAME`. It works once, within an hour.",
        page_title="Reset your password · paperwire",
    )


async def request_reset(request: Request) -> Response:
    """`POST /reset`: the same answer whatever was typed (303 to `/reset?sent`)."""
    form = await checked_form(request)
    return await run_in_threadpool(_request_reset, request, str(form.get("account", "")))


def _request_reset(request: Request, typed: str) -> Response:
    if not _sends_mail(request):
        raise HTTPException(404, "this instance sends no mail; ask its administrator for a reset link")
    refuse_if_limited(request.app.state.rate_limits.reset_request(client_address(request), clock()))
    # The lookup, the per-account limit and the mail run once the answer has gone (a
    # background task), so neither its words nor its timing tell whether the account exists.
    return RedirectResponse("/reset?sent", status_code=303, background=BackgroundTask(_mail_reset_link, request, typed))


def _mail_reset_link(request: Request, typed: str) -> str:
    limits = request.app.state.rate_limits
    return account_links.mail_reset_link(
        request.app.state.store, typed, settings=request.app.state.settings, now=now(),
        may_mail=lambda user: limits.reset_mail(str(user.id), clock()),
    )


def _reset_page(request: Request, token: str, *, status: int = 200, problem: str = "") -> Response:
    if request.app.state.store.reset_link_user(accounts.token_hash(token), now=now()) is None:
        raise HTTPException(404, "this reset link has been used or has expired (they last an hour); ask for a new one")
    return _form_page(
        request, heading="Choose a new password", action=f"/reset/{token}", status=status, problem=problem,
        fields=[_field("new_password", "New password (at least 8 characters)", "password", "new-password")],
        submit="Set password",
    )


def reset_form(request: Request) -> Response:
    """`GET /reset/{token}`: the new-password form for a live link (404 otherwise)."""
    return _reset_page(request, request.path_params["token"])


async def reset(request: Request) -> Response:
    """`POST /reset/{token}`: sets the password once and ends every session of the user."""
    form = await checked_form(request)
    return await run_in_threadpool(_reset, request, form)


def _reset(request: Request, form: FormData) -> Response:
    token = request.path_params["token"]
    refuse_if_limited(request.app.state.rate_limits.login(f"reset:{token[:16]}", client_address(request), clock()))
    user = request.app.state.store.reset_link_user(accounts.token_hash(token), now=now())
    if user is None:
        return _reset_page(request, token)  # raises the 404
    new = str(form.get("new_password", ""))
    if (problem := accounts.check_password(new, username=user.username, email=user.email)) is not None:
        return _reset_page(request, token, status=400, problem=problem)
    if request.app.state.store.use_reset_link(accounts.token_hash(token), accounts.hash_password(new), now=now()) is None:
        return _reset_page(request, token)  # used meanwhile by another request
    return _redirect("/login?reset")


# --- the admin's user list ------------------------------------------------------------

def _require_admin(request: Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise HTTPException(403, "only an administrator may do this")
    return user


def users_page(request: Request) -> Response:
    """`GET /users`: every account, with a button to disable each (admins only)."""
    _require_admin(request)
    return pages.render(request, "users.html", users=request.app.state.store.users(), page_title="Users · paperwire")


async def disable_user(request: Request) -> Response:
    """`POST /users/{name}/disable`: the user's sessions end and they cannot log in."""
    await checked_form(request)
    admin = await user_of(request)
    if admin is None or not admin.is_admin:
        _require_admin(request)
    name = request.path_params["name"]
    if name == admin.username:
        raise HTTPException(400, "you cannot disable your own account; ask another administrator")
    await run_in_threadpool(request.app.state.store.set_disabled, name)
    return _redirect("/users")
