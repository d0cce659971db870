"""A paper's page, its BibTeX, old-style ids, redirects and unknown papers."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from paperwire.papers import Author, Version
from paperwire.feed import DailyEntry
from tests.conftest import make_paper


@pytest.fixture
def paper(store):
    paper = make_paper(
        version=2,
        abstract="We study   placeholders\nat $\\alpha$-scale, at length.",
        versions=(Version(1, datetime(2025, 3, 1, 18, tzinfo=timezone.utc)),
                  Version(2, datetime(2025, 3, 8, 9, tzinfo=timezone.utc))),
        doi="10.1000/xyz_123",
        journal_ref="J. Placeholders 12 (2025) 1--10",
        comments="12 pages, 4 figures",
        license="http://creativecommons.org/licenses/by/4.0/",
        code_url="https://github.com/example/placeholder",
    )
    store.upsert_papers([paper], source="test")
    store.upsert_daily_entries([DailyEntry(day=date(2025, 3, 3), arxiv_id=paper.arxiv_id,
                                           upvote_count=42, comment_count=3, submitted_by="someone")])
    return paper


def test_paper_page_shows_everything_known(client, paper):
    response = client.get("/paper/2503.00001")
    assert response.status_code == 200
    html = response.text
    assert "<h1>A Placeholder Title</h1>" in html
    assert ('We study placeholders at <math display="inline"><semantics><mrow><mrow><mi>α</mi></mrow></mrow>'
            '<annotation encoding="application/x-tex">\\alpha</annotation></semantics></math>-scale, at length.') in html
    assert '">Ada Lovelace</a> <span class="muted">(Analytical Engines Ltd)</span>' in html
    assert "Alan Turing" in html
    assert 'class="tag primary" href="/search?q=cat%3Acs.LG&amp;sort=newest">cs.LG</a>' in html
    assert 'class="tag" href="/search?q=cat%3Acs.AI&amp;sort=newest">cs.AI</a>' in html
    assert 'href="https://arxiv.org/abs/2503.00001v1">v1</a> · 2025-03-01 18:00 UTC' in html
    assert 'href="https://arxiv.org/abs/2503.00001v2">v2</a> · 2025-03-08 09:00 UTC' in html
    assert 'href="https://doi.org/10.1000/xyz_123"' in html
    assert "J. Placeholders 12 (2025) 1–10" in html
    assert "12 pages, 4 figures" in html
    assert 'href="http://creativecommons.org/licenses/by/4.0/"' in html
    assert 'href="https://arxiv.org/pdf/2503.00001"' in html
    assert 'href="https://github.com/example/placeholder"' in html
    assert '<td class="num">42</td>' in html and "someone" in html
    assert "@misc{lovelace2025placeholder," in html
    assert 'href="/paper/2503.00001.bib"' in html


def test_bibtex_file(client, paper):
    response = client.get("/paper/2503.00001.bib")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text.startswith("@misc{lovelace2025placeholder,\n")
    assert "  doi = {10.1000/xyz_123},\n" in response.text


def test_old_style_id_has_a_page_and_bibtex(client, store):
    store.upsert_papers([make_paper(arxiv_id="hep-th/9901001", primary_category="hep-th",
                                    categories=("hep-th",))], source="test")
    page = client.get("/paper/hep-th/9901001")
    assert page.status_code == 200 and "arXiv:hep-th/9901001v1" in page.text
    bib = client.get("/paper/hep-th/9901001.bib")
    assert bib.status_code == 200
    assert "  eprint = {hep-th/9901001},\n  archivePrefix = {arXiv},\n  primaryClass = {hep-th},\n" in bib.text
    assert 'filename="hep-th_9901001.bib"' in bib.headers["content-disposition"]


@pytest.mark.parametrize("path", ["/paper/2503.00001v2", "/paper/arXiv:2503.00001"])
def test_other_spellings_redirect_to_the_plain_id(client, paper, path):
    response = client.get(path)
    assert (response.status_code, response.headers["location"]) == (301, "/paper/2503.00001")


@pytest.mark.parametrize("path, message", [
    ("/paper/2503.99999", "no paper &#39;2503.99999&#39; in the store"),
    ("/paper/2503.99999.bib", "no paper &#39;2503.99999&#39; in the store"),
    ("/paper/not-an-id", "is not an arXiv id"),
])
def test_unknown_paper_is_a_404_page(client, paper, path, message):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert message in response.text


def test_paper_from_the_daily_list_only_shows_what_it_has(client, store):
    store.upsert_papers([make_paper(version=0, authors=(Author("Solo Author"),), versions=(),
                                    categories=(), primary_category=None)], source="hf_daily")
    html = client.get("/paper/2503.00001").text
    assert "arXiv:2503.00001" in html and "arXiv:2503.00001v" not in html
    assert "Versions" not in html and "Categories" not in html and "DOI" not in html
