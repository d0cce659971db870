"""Headers every answer carries, and static files that browsers may cache."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st
from markupsafe import escape

from paperwire.web.app import SECURITY_HEADERS
from paperwire.web.pages import highlight, static_url


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


def _highlight_piecewise(text, words):
    """The reference: split at the matches in the raw text, escape every piece, mark the matches."""
    wanted = sorted({w for w in words if w}, key=lambda w: (-len(w), w))
    if not wanted:
        return str(escape(text))
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, wanted)) + r")(?!\w)", re.IGNORECASE)
    out, start = [], 0
    for match in pattern.finditer(text):
        out += [str(escape(text[start:match.start()])), f"<mark>{escape(match.group(0))}</mark>"]
        start = match.end()
    return "".join(out) + str(escape(text[start:]))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab3749ltgmpAMPLT&<>\"'#; \n", max_size=50),
       st.lists(st.one_of(st.sampled_from(["lt", "LT", "Amp", "gt", "34", "39", "quot", "a", "b3"]),
                          st.text(alphabet="ab3749ltgmpAMPLT_", min_size=1, max_size=4)), max_size=4))
def test_highlighting_marks_the_raw_texts_words_and_escapes_the_rest(text, words):
    """Against the piecewise reference: marking the escaped text in one pass (highlight's fast
    path) must neither mark inside an entity (&lt; for "lt", &#39; for "39") nor miss a word
    next to an escaped character."""
    assert str(highlight(text, words)) == _highlight_piecewise(text, words)
