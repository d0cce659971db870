"""The main pages are valid HTML by the Nu HTML Checker (vnu-jar from npm, run on Java),
for a visitor and for a signed-in reader (whose cards carry upvote forms).

Slow (a JVM start and a few seconds of checking); skipped when java or vnu.jar is absent,
which .ci/run installs (Debian's default-jre-headless, `npm install -g vnu-jar`). The jar
is PAPERWIRE_VNU_JAR, else vnu-jar in the global or this repository's node_modules.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from paperwire import config, thumbnails
from paperwire.feed import DailyEntry
from paperwire.papers import Author
from paperwire.web.app import create_app
from tests.conftest import make_paper
from tests.web.test_accounts import add_user, log_in, token_of

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2025, 3, 3)
PAGES = [
    "/", "/day/2025-03-03", "/day/2025-03-03?cat=cs.CL", "/day/2025-03-03?page=2", "/week/2025-W10",
    "/week/2025-W10?sort=trending&cat=cs.LG", "/month/2025-03", "/paper/2503.00001", "/paper/2503.00002",
    "/search", "/search?q=attention+long+documents", "/search?q=cat%3Acs.CL+attention&sort=newest",
    "/trending", "/trending?window=month", "/author/Grace%20Hopper", "/login", "/signup", "/reset", "/submit",
    "/status", "/about/nothing-here", "/day/2025-03-03/map",
]
SIGNED_IN_PAGES = ["/day/2025-03-03", "/week/2025-W10", "/paper/2503.00001", "/trending", "/submit",
                   "/settings/password", "/settings/invites"]


def vnu_jar() -> Path | None:
    candidates = [os.environ.get("PAPERWIRE_VNU_JAR", ""), ROOT / "node_modules/vnu-jar/build/dist/vnu.jar"]
    npm = shutil.which("npm")
    if npm:
        found = subprocess.run([npm, "root", "-g"], capture_output=True, text=True, timeout=60)
        candidates.append(Path(found.stdout.strip()) / "vnu-jar/build/dist/vnu.jar")
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def checker():
    java, jar = shutil.which("java"), vnu_jar()
    if java is None or jar is None:
        pytest.skip("the Nu HTML Checker needs java and vnu.jar (npm install -g vnu-jar)")
    return [java, "-Xss2m", "-jar", str(jar)]


@pytest.fixture
def seeded(store, tmp_path):
    published = datetime(2025, 3, 3, 18, tzinfo=timezone.utc)
    store.upsert_papers([
        make_paper(arxiv_id=f"2503.{n:05d}", published_at=published, updated_at=published,
                   title=f"Paper {n}: scaling $\\mathcal{{O}}(n^2)$ attention & <b>long</b> documents",
                   abstract=("We study long documents with $x_i^2$ terms. " * 12) + f"Number {n}.",
                   authors=(Author("Grace Hopper"), *(Author(f"Author {n}-{k}") for k in range(5))),
                   categories=("cs.CL", "cs.LG") if n % 2 else ("cs.LG",), primary_category="cs.CL" if n % 2 else "cs.LG",
                   code_url="https://github.com/example/code" if n % 2 else None,
                   comments="10 pages; code at https://github.com/example/other")
        for n in range(1, 60)
    ], source="test")
    store.upsert_daily_entries([
        DailyEntry(day=DAY, arxiv_id="2503.00001", upvote_count=42, comment_count=3, submitted_by="akhaliq",
                   organization="example-lab", organization_name="Example Lab", github_star_count=120,
                   github_repo="https://github.com/example/code", project_url="https://example.org/p",
                   thumbnail_url="https://cdn.example/1.png"),
        DailyEntry(day=DAY, arxiv_id="2503.00002", upvote_count=7),
    ])
    picture = io.BytesIO()
    Image.new("RGB", (300, 200), "teal").save(picture, format="PNG")
    kept = thumbnails.path_for(tmp_path / "cache", "2503.00001")
    kept.parent.mkdir(parents=True)
    kept.write_bytes(thumbnails.normalise(picture.getvalue()))
    add_user(store, "ada")
    return store


def _check(checker, folder: Path, pages: dict[str, str]) -> list[str]:
    """The checker's errors and warnings on `pages` (path: HTML), one line each."""
    names = {}
    for n, (path, html) in enumerate(pages.items()):
        names[f"page{n}.html"] = path
        (folder / f"page{n}.html").write_text(html, encoding="utf-8")
    run = subprocess.run([*checker, "--format", "json", "--also-check-svg", *sorted(map(str, folder.glob("page*.html")))],
                         capture_output=True, text=True, timeout=300)
    messages = json.loads(run.stderr or run.stdout)["messages"]
    return [f"{names[Path(m['url']).name]}:{m.get('lastLine', '?')}: {m['type']}/{m.get('subType', '')}: {m['message']}"
            for m in messages if m["type"] != "info" or m.get("subType") == "warning"]


def test_main_pages_are_valid_html(checker, seeded, sqlite_url, tmp_path):
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(tmp_path / "cache"), signup="open")
    client = TestClient(create_app(settings, store=seeded), follow_redirects=False)
    pages = {}
    for path in PAGES:
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        pages[path] = response.text
    log_in(client, "ada")
    for path in SIGNED_IN_PAGES:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        pages[path + " (signed in)"] = response.text
    folder = tmp_path / "html"
    folder.mkdir()
    assert _check(checker, folder, pages) == []


def test_reset_and_invite_pages_are_valid_html(checker, store, sqlite_url, tmp_path):
    """/reset once mail is configured (the form, then "on its way"), a reset link's form, and
    /settings/invites on an invite-only instance: a new link, and used, expired and open ones
    in an administrator's list."""
    from datetime import timedelta

    from paperwire import accounts, account_links

    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(tmp_path / "cache"), signup="invite", smtp_host="127.0.0.1")
    client = TestClient(create_app(settings, store=store), follow_redirects=False)
    root = add_user(store, "root1", is_admin=True)
    now = datetime.now(timezone.utc)
    store.create_invite("expired", created_by=root.id, now=now - accounts.INVITE_LIFETIME - timedelta(hours=1))
    store.create_invite("used", created_by=root.id, now=now - timedelta(days=1))
    store.create_user(username="bob", email="bob@example.org", password_hash="x", now=now, invite_hash="used")
    reset_path = account_links.make_reset_link(store, root, base_url="", now=now)
    answers = {path: client.get(path) for path in ("/reset", "/reset?sent", reset_path)}
    assert [a.status_code for a in answers.values()] == [200, 200, 200]
    assert "Send me a link" in answers["/reset"].text and "Choose a new password" in answers[reset_path].text
    pages = {path: answer.text for path, answer in answers.items()}
    log_in(client, "root1")
    made = client.post("/settings/invites", data={"csrf_token": token_of(client.get("/settings/invites"))})
    assert made.status_code == 200 and "new-invite" in made.text
    assert all(words in made.text for words in ("used by bob", "expired", "open until", "Every invite"))
    pages["/settings/invites (a new link)"] = made.text
    folder = tmp_path / "html"
    folder.mkdir()
    assert _check(checker, folder, pages) == []


def test_the_checker_finds_what_is_invalid(checker, tmp_path):
    """The check above can fail: a page with a stray end tag and an image without alt."""
    found = _check(checker, tmp_path, {"/bad": '<!doctype html><html lang="en"><head><title>x</title></head>'
                                               '<body><p><div>bad</div></p><img src="x"></body></html>'})
    assert any("“p” end tag" in line for line in found) and any("alt" in line for line in found)
