"""Headers every answer carries, and static files that browsers may cache."""

from __future__ import annotations

import re

import pytest

from paperwire.web.app import SECURITY_HEADERS
from paperwire.web.pages import static_url


@pytest.mark.parametrize("path", ["/", "/status", "/api/status", "/api/nothing", "/nothing",
                                  "/static/style.css"])
def test_security_headers_on_every_answer(client, path):
    response = client.get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    # Scripts only from our own /static files: no inline script, no eval, no other host.
    assert [d.strip() for d in csp.split(";") if d.strip().startswith("script-src")] == ["script-src 'self'"]
    assert "frame-ancestors 'none'" in csp
    # fetch (static/vote.js: upvotes, static/library.js: saves) only to this site.
    assert [d.strip() for d in csp.split(";") if d.strip().startswith("connect-src")] == ["connect-src 'self'"]


def test_static_files_are_cached_and_versioned(client):
    url = static_url("style.css")
    assert url.startswith("/static/style.css?v=")
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=604800"
    assert "etag" in response.headers
    assert url in client.get("/").text


def test_pages_use_no_inline_script_or_style(client):
    html = client.get("/status").text
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts == ["", ""] and html.count("<script") == 2  # only reading.js and vote.js, from /static
    assert f'<script src="{static_url("reading.js")}" defer></script>' in html
    assert f'<script src="{static_url("vote.js")}" defer></script>' in html
    assert "<style" not in html and "style=" not in html and " on" + "click=" not in html
