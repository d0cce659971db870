"""The library in real Chromium: save and unsave without a reload with JavaScript on and
with plain forms with it off, "not interested" on /for-you, the library and an import
report at phone width, and no axe-core violations on /library, /c/{slug}, /for-you,
/updates and the import report."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from paperwire import config
from paperwire.library import foryou
from paperwire.papers import Version
from paperwire.store import open_store
from tests.browser.conftest import axe_violations, screenshot, serve
from tests.library.test_foryou import CANDIDATES, NOW, SAVED, add
from tests.web.test_accounts import PASSWORD, add_user

BIBTEX = f"""@misc{{known, title={{{CANDIDATES[2][1]}}}, eprint={{{CANDIDATES[2][0]}}}}}
@misc{{unknown, title={{A Paper Nobody Wrote}}}}
@misc{{broken, title={{Unbalanced
""".encode()


@pytest.fixture(scope="module")
def library_server(tmp_path_factory):
    """A running paperwire with the hand-built library of tests/library/test_foryou.py:
    ada saved the protein-folding paper, recommendations are computed, and a new
    version of it arrived (one follow-up)."""
    folder = tmp_path_factory.mktemp("library")
    url = f"sqlite:///{folder}/paperwire.db"
    store = open_store(url)
    add(store, [SAVED, *CANDIDATES])
    ada = add_user(store, "ada")
    add_user(store, "bob")
    store.save(ada.id, store.default_collection(ada.id, now=NOW).id, SAVED[0], note="Read twice", now=NOW)
    foryou.refresh(store, now=NOW)
    [paper] = store.get_papers([SAVED[0]]).values()
    later = datetime(2026, 6, 2, tzinfo=timezone.utc)
    store.upsert_papers([replace(paper, version=2, versions=paper.versions + (Version(2, later),),
                                 updated_at=later)], source="test")
    settings = config.load({}, database_url=url, harvest_enabled="false", embed_enabled="false",
                           model_cache_dir=str(folder / "cache"))
    with serve(settings, store) as base_url:
        yield base_url, store
    store.close()


def log_in(page, base_url: str, name: str = "ada") -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def save_button(page):
    return page.locator("main form.save button").first


def test_save_and_unsave_without_a_reload_with_javascript(library_server, open_page):
    base_url, store = library_server
    page = open_page(base_url + "/login", javascript=True)
    log_in(page, base_url, "bob")
    paper_url = f"{base_url}/paper/{CANDIDATES[0][0]}"
    page.goto(paper_url)
    page.evaluate("window.notReloaded = true")
    save_button(page).click()
    expect(save_button(page)).to_have_attribute("aria-pressed", "true")
    assert page.evaluate("window.notReloaded") is True and page.url == paper_url
    assert save_button(page).inner_text().startswith("Saved")
    bob = store.user_by_name("bob").id
    assert store.saved_ids(bob) == [CANDIDATES[0][0]]
    save_button(page).click()
    expect(save_button(page)).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.notReloaded") is True and store.saved_ids(bob) == []


def test_save_and_unsave_with_plain_forms_without_javascript(library_server, open_page):
    base_url, store = library_server
    page = open_page(base_url + "/login", javascript=False)
    log_in(page, base_url, "bob")
    page.goto(f"{base_url}/paper/{CANDIDATES[1][0]}")
    save_button(page).click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/paper/{CANDIDATES[1][0]}")
    assert save_button(page).get_attribute("aria-pressed") == "true"
    assert CANDIDATES[1][0] in store.saved_ids(store.user_by_name("bob").id)
    save_button(page).click()
    page.wait_for_load_state()
    assert save_button(page).get_attribute("aria-pressed") == "false"


def test_not_interested_hides_the_paper_with_javascript(library_server, open_page):
    base_url, store = library_server
    page = open_page(base_url + "/login")
    log_in(page, base_url)
    page.goto(base_url + "/for-you")
    assert "close to" in page.locator("main").inner_text()
    first = page.locator("main ol.library-list > li").first
    title = first.locator("h2.title").inner_text()
    first.get_by_role("button", name="Not interested").click()
    expect(first).to_be_hidden()
    assert page.url.endswith("/for-you")
    ada = store.user_by_name("ada").id
    [dismissed] = store.dismissed_ids(ada)
    assert store.get_paper(dismissed).title == title
    store.undismiss(ada, dismissed)


@pytest.mark.parametrize("javascript", [True, False])
def test_the_library_and_an_import_report_fit_a_phone(library_server, open_page, tmp_path, javascript):
    base_url, _ = library_server
    page = open_page(base_url + "/login", phone=True, javascript=javascript)
    log_in(page, base_url)
    page.goto(base_url + "/library")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"library-phone-js-{javascript}")
    upload = tmp_path / "refs.bib"
    upload.write_bytes(BIBTEX)
    page.get_by_label("A BibTeX file").set_input_files(str(upload))
    page.get_by_role("button", name="Import").click()
    page.wait_for_load_state()
    assert "/library/import/" in page.url
    text = page.locator("main").inner_text()
    assert "1 matched" in text and "1 not found" in text and "1 malformed" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, f"library-import-report-phone-js-{javascript}")
    if javascript:  # axe-core runs as a script in the page
        assert axe_violations(page) == []


@pytest.mark.parametrize("path", ["/library", "/c/saved", "/for-you", "/updates"])
def test_library_pages_have_no_accessibility_violations(library_server, open_page, path):
    base_url, _ = library_server
    page = open_page(base_url + "/login")
    log_in(page, base_url)
    page.goto(base_url + path)
    assert page.locator("h1").first.is_visible()
    if path == "/updates":
        assert "new version: v2" in page.locator("main").inner_text()
    if path == "/c/saved":
        item = page.locator("main ol.library-list > li", has=page.get_by_role("link", name=SAVED[1], exact=True))
        assert item.get_by_label("Private note").input_value() == "Read twice"
    screenshot(page, "library" + path.replace("/", "-"))
    assert axe_violations(page) == []
