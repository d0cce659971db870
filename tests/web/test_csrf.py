"""CSRF and the session cookie, through HTTP: the real app with a few form routes added
in the test that use the helpers as the account routes will, so a refusal comes back in
the app's own error shape (tests/web/test_error_shape.py)."""

from __future__ import annotations

import re

import pytest
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from paperwire.accounts import TokenKind, new_token
from paperwire.web import csrf
from paperwire.web.app import create_app
from tests.web.test_error_shape import assert_html_error, assert_json_error

KEY = "k" * 40
OTHER_KEY = "o" * 40


@pytest.fixture
def app(settings, store):
    """The app, plus a form, its POST, a log-in that rotates the session and an API POST;
    `app.state.changes` counts the state changes that went through."""
    app = create_app(settings, store=store)
    app.state.changes = 0

    async def form(request):
        session_id, is_new = csrf.anonymous_session_id(request)
        token = csrf.csrf_token(KEY, session_id)
        response = HTMLResponse(f'<form method="post"><input name="csrf_token" value="{token}"></form>')
        if is_new:
            csrf.set_session_cookie(response, request, session_id)
        return response

    async def change(request):
        await csrf.check_csrf(request, secret_key=KEY, session_id=csrf.session_id_of(request))
        request.app.state.changes += 1
        form = await request.form()  # still readable after the check
        return HTMLResponse(f"changed: {form.get('comment', '')}")

    async def login(request):
        await csrf.check_csrf(request, secret_key=KEY, session_id=csrf.session_id_of(request))
        response = HTMLResponse("logged in")
        csrf.set_session_cookie(response, request, new_token(TokenKind.SESSION).value)  # rotated
        return response

    async def logout(request):
        await csrf.check_csrf(request, secret_key=KEY, session_id=csrf.session_id_of(request))
        response = HTMLResponse("logged out")
        csrf.clear_session_cookie(response, request)
        return response

    async def api_change(request):
        await csrf.check_csrf(request, secret_key=KEY, session_id=csrf.session_id_of(request))
        request.app.state.changes += 1
        return JSONResponse({"ok": True})

    app.router.routes[:0] = [
        Route("/test/form", form), Route("/test/change", change, methods=["POST"]),
        Route("/test/login", login, methods=["POST"]), Route("/test/logout", logout, methods=["POST"]),
        Route("/api/test/change", api_change, methods=["POST"]),
    ]
    return app


@pytest.fixture
def client(app):
    return TestClient(app, follow_redirects=False)


def token_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)


def test_a_form_posted_with_its_token_goes_through(client, app):
    token = token_of(client.get("/test/form"))
    response = client.post("/test/change", data={"csrf_token": token, "comment": "hello"})
    assert response.status_code == 200 and response.text == "changed: hello"
    assert app.state.changes == 1


def test_the_session_cookie_is_set_once_with_its_attributes(client):
    first = client.get("/test/form")
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("paperwire_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Max-Age=2592000" in cookie and "Secure" not in cookie  # plain HTTP: no Secure
    second = client.get("/test/form")
    assert "set-cookie" not in second.headers and token_of(second) == token_of(first)


def test_over_https_the_cookie_is_secure_and_host_only(app):
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    response = client.get("/test/form")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-paperwire_session=")
    assert "Secure" in cookie and "HttpOnly" in cookie and "Domain" not in cookie
    posted = client.post("/test/change", data={"csrf_token": token_of(response)})
    assert posted.status_code == 200


@pytest.mark.parametrize("data, words", [
    ({}, "the form has no CSRF token"),
    ({"csrf_token": ""}, "the form has no CSRF token"),
    ({"csrf_token": "forged"}, "is not this session's"),
])
def test_a_form_without_the_right_token_is_refused(client, app, data, words):
    client.get("/test/form")
    assert_html_error(client.post("/test/change", data=data), 403, words)
    assert app.state.changes == 0


def test_a_token_for_another_session_or_key_is_refused(client, app):
    client.get("/test/form")
    other_session = csrf.csrf_token(KEY, new_token(TokenKind.SESSION).value)
    assert_html_error(client.post("/test/change", data={"csrf_token": other_session}), 403, "not this session's")
    session_id = client.cookies["paperwire_session"]
    other_key = csrf.csrf_token(OTHER_KEY, session_id)
    assert_html_error(client.post("/test/change", data={"csrf_token": other_key}), 403, "not this session's")
    assert app.state.changes == 0


def test_no_session_cookie_no_change(app):
    """A cross-site form post arrives without the Lax cookie: there is no session to match."""
    client = TestClient(app, follow_redirects=False)
    token = csrf.csrf_token(KEY, "some-session")
    assert_html_error(client.post("/test/change", data={"csrf_token": token}), 403, "not this session's")
    assert app.state.changes == 0


def test_the_token_rotates_with_the_session_at_login(client, app):
    anonymous = token_of(client.get("/test/form"))
    assert client.post("/test/login", data={"csrf_token": anonymous}).status_code == 200
    # The old token belongs to the anonymous session that login replaced.
    assert_html_error(client.post("/test/change", data={"csrf_token": anonymous}), 403, "not this session's")
    fresh = token_of(client.get("/test/form"))
    assert fresh != anonymous
    assert client.post("/test/change", data={"csrf_token": fresh}).status_code == 200


def test_logout_clears_the_cookie(client):
    token = token_of(client.get("/test/form"))
    response = client.post("/test/logout", data={"csrf_token": token})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith('paperwire_session="";') and "Max-Age=0" in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize("headers, words", [
    ({"Origin": "https://evil.example"}, "sent from 'https://evil.example'"),
    ({"Origin": "null"}, "sent from 'null'"),
    ({"Sec-Fetch-Site": "cross-site"}, "from another site (Sec-Fetch-Site: cross-site)"),
    ({"Sec-Fetch-Site": "same-site"}, "Sec-Fetch-Site: same-site"),
])
def test_the_browsers_own_headers_refuse_other_sites_even_with_a_token(client, app, headers, words):
    token = token_of(client.get("/test/form"))
    assert_html_error(client.post("/test/change", data={"csrf_token": token}, headers=headers), 403, words)
    assert app.state.changes == 0


@pytest.mark.parametrize("headers", [
    {"Origin": "http://testserver"}, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"},
])
def test_same_origin_headers_pass(client, headers):
    token = token_of(client.get("/test/form"))
    assert client.post("/test/change", data={"csrf_token": token}, headers=headers).status_code == 200


def test_a_script_sends_the_token_in_a_header_and_api_refusals_are_json(client, app):
    token = token_of(client.get("/test/form"))
    assert client.post("/api/test/change", headers={"X-CSRF-Token": token}).json() == {"ok": True}
    assert_json_error(client.post("/api/test/change", headers={"X-CSRF-Token": "forged"}), 403,
                      "is not this session's")
    assert_json_error(client.post("/api/test/change", json={"csrf_token": token}), 403, "no CSRF token")
    assert app.state.changes == 1


def test_a_get_cannot_change_state(client, app):
    token = token_of(client.get("/test/form"))
    response = client.get("/test/change", params={"csrf_token": token})
    assert_html_error(response, 405, "Method Not Allowed")
    assert app.state.changes == 0


def test_token_is_an_hmac_of_the_session():
    token = csrf.csrf_token(KEY, "session-1")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert csrf.csrf_token_matches(KEY, "session-1", token)
    assert not csrf.csrf_token_matches(KEY, "session-2", token)
    assert not csrf.csrf_token_matches(OTHER_KEY, "session-1", token)
    assert csrf.csrf_token(KEY, "session-1") == token
