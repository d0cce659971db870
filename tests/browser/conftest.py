"""Browser tests: real Chromium (Debian's, driven by Playwright) against a live server.

`live_server` runs the real app under uvicorn in a thread on a free loopback
port, over a SQLite store seeded with a few papers and a Hugging Face list.
`open_page` gives a page at desktop or phone width, light or dark, with
JavaScript on or off. `axe_violations` runs axe-core (shipped inside the
axe-playwright-python wheel, so nothing is fetched) on the page. Screenshots go
to PAPERWIRE_TEST_ARTIFACTS (default: test-artifacts/ at the repository root),
which CI keeps as artifacts.

Without /usr/bin/chromium these tests skip, except under CI (CI=true), where a
missing browser is a failed install step and fails the run.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
import socket
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from paperwire import config
from paperwire.papers import Author
from paperwire.store import open_store
from tests.conftest import make_paper

CHROMIUM = os.environ.get("PAPERWIRE_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network and a root user (see the env notes): no sandbox, no
# background requests that the machine would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
ARTIFACTS = Path(os.environ.get("PAPERWIRE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
START_TIMEOUT_SECONDS = 20
DAY = date(2025, 3, 1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(store) -> None:
    """A small day: papers with LaTeX, many authors, a code link, and an HF list."""
    from paperwire.feed import DailyEntry

    published = datetime(DAY.year, DAY.month, DAY.day, 18, tzinfo=timezone.utc)
    papers = [
        make_paper(
            arxiv_id=f"2503.{n:05d}", published_at=published, updated_at=published,
            title=f"Paper {n}: scaling $\\mathcal{{O}}(n^2)$ attention for long documents",
            abstract=("We study long documents. " * 12) + f"Number {n}.",
            authors=tuple(Author(f"Author {n}-{k}") for k in range(6)),
            code_url="https://github.com/example/code" if n % 2 else None,
        )
        for n in range(1, 9)
    ]
    store.upsert_papers(papers, source="test")
    store.upsert_daily_entries([
        DailyEntry(day=DAY, arxiv_id="2503.00001", upvote_count=42, comment_count=3, submitted_by="akhaliq",
                   organization="example-lab", github_star_count=120),
    ])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The base URL of a running paperwire on a seeded SQLite store."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    seed(store)
    settings = config.load({}, database_url=url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(folder / "cache"), signup="open")  # /signup shows its form
    with serve(settings, store) as base_url:
        yield base_url
    store.close()


@contextmanager
def serve(settings, store):
    """The app on `store` under uvicorn in a thread on a free loopback port: its base URL."""
    import uvicorn

    from paperwire.web.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, store=store), host="127.0.0.1", port=port,
                                           log_level="warning", server_header=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the live server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser):
    """open_page(url, phone=False, dark=False, javascript=True) -> a loaded Playwright page."""
    contexts = []

    def _open(url: str, *, phone: bool = False, dark: bool = False, javascript: bool = True):
        context = browser.new_context(
            viewport=PHONE if phone else DESKTOP, color_scheme="dark" if dark else "light",
            java_script_enabled=javascript, is_mobile=phone, has_touch=phone,
        )
        contexts.append(context)
        page = context.new_page()
        response = page.goto(url)
        assert response is not None and response.status < 500, f"{url} answered {response and response.status}"
        return page

    yield _open
    for context in contexts:
        context.close()


def axe_violations(page) -> list[str]:
    """axe-core's violations on the page, one line each (rule, impact, first target)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {v['nodes'][0]['target'] if v['nodes'] else '?'}"
        for v in results.response["violations"]
    ]


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under ARTIFACTS and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


def pytest_collection_modifyitems(items):
    """Browser tests take about a minute: they run in CI and with --run-slow (the `slow` marker)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)
