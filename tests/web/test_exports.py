"""Citation exports: BibTeX and CSL-JSON for a paper, a day's page and a search's page."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from starlette.testclient import TestClient

from paperwire.papers import Author
from paperwire.search.service import SearchService
from paperwire.web.app import create_app
from paperwire.bibtex import to_bibliography
from paperwire.csl import name_parts, to_csl
from tests.conftest import make_paper
from tests.web.conftest import listed_ids


@pytest.fixture
def client(settings, store, tmp_path):
    store.upsert_papers([
        make_paper(arxiv_id=f"2503.0000{n}", title=f"Placeholder study {n}",
                   published_at=datetime(2025, 3, 1, 8 + n, tzinfo=timezone.utc))
        for n in range(1, 5)
    ] + [make_paper(arxiv_id="hep-th/9901001", title="Strings", doi="10.1000/x1")], source="test")
    return TestClient(create_app(settings, store=store, search=SearchService(tmp_path / "i")))


def bib_ids(text: str) -> list[str]:
    return re.findall(r"eprint = \{([^}]+)\}", text)


def keys(text: str) -> list[str]:
    return re.findall(r"^@misc\{([^,]+),$", text, re.MULTILINE)


@pytest.mark.parametrize("page, export", [
    ("/day/2025-03-01", "/day/2025-03-01"),
    ("/search?q=placeholder", "/search"),
    ("/search?q=placeholder&sort=newest", "/search"),
])
def test_a_list_exports_the_papers_of_its_page(client, page, export):
    query = page.partition("?")[2]
    expected = listed_ids(client.get(page).text)
    assert len(expected) == 5
    bib = client.get(f"{export}.bib" + (f"?{query}" if query else ""))
    assert bib.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    assert bib.headers["content-disposition"].startswith('attachment; filename="paperwire-')
    assert bib_ids(bib.text) == expected
    assert len(set(keys(bib.text))) == 5  # four of them share first author, year and first title word
    csl = client.get(f"{export}.csl.json" + (f"?{query}" if query else ""))
    assert csl.headers["content-type"] == "application/vnd.citationstyles.csl+json"
    assert csl.headers["content-disposition"].endswith('.csl.json"')
    assert [item["id"] for item in csl.json()] == expected


def test_the_page_links_its_exports(client):
    day = client.get("/day/2025-03-01").text
    assert 'href="/day/2025-03-01.bib" download' in day and 'href="/day/2025-03-01.csl.json" download' in day
    search = client.get("/search?q=placeholder").text
    assert 'href="/search.bib?q=placeholder" download' in search


def test_paper_csl_json(client):
    response = client.get("/paper/hep-th/9901001.csl.json")
    assert response.headers["content-disposition"] == 'attachment; filename="paperwire-hep-th_9901001.csl.json"'
    (item,) = response.json()
    assert item == {
        "id": "hep-th/9901001", "type": "article", "title": "Strings",
        "author": [{"family": "Lovelace", "given": "Ada"}, {"family": "Turing", "given": "Alan"}],
        "abstract": "We study placeholders.", "publisher": "arXiv", "number": "arXiv:hep-th/9901001",
        "URL": "https://arxiv.org/abs/hep-th/9901001", "issued": {"date-parts": [[2025, 3, 1]]},
        "DOI": "10.1000/x1", "genre": "cs.LG",
    }
    assert client.get("/paper/2503.99999.csl.json").status_code == 404


def test_an_empty_search_has_nothing_to_export(client):
    response = client.get("/search.bib")
    assert response.status_code == 400 and "needs something to search for" in response.text


@pytest.mark.parametrize("name, parts", [
    ("Ada Lovelace", {"family": "Lovelace", "given": "Ada"}),
    ("Martin Luther King Jr.", {"family": "King", "given": "Martin Luther", "suffix": "Jr."}),
    ("Plato", {"literal": "Plato"}),
    ("Wayne Xin Zhao", {"family": "Zhao", "given": "Wayne Xin"}),
])
def test_name_parts(name, parts):
    assert name_parts(name) == parts


def test_undated_paper_has_no_issued_date():
    assert "issued" not in to_csl(make_paper(published_at=None))


def test_repeated_cite_keys_get_letters():
    papers = [make_paper(arxiv_id=f"2503.{n:05d}") for n in range(1, 30)]
    text = to_bibliography(papers)
    found = keys(text)
    assert found[:4] == ["lovelace2025placeholder", "lovelace2025placeholderb", "lovelace2025placeholderc",
                         "lovelace2025placeholderd"]
    assert found[25:27] == ["lovelace2025placeholderz", "lovelace2025placeholder2"]
    assert len(set(found)) == len(papers)
    assert text.count("\n\n@misc{") == len(papers) - 1


def test_a_key_that_a_letter_made_is_not_taken_twice():
    papers = [make_paper(), make_paper(arxiv_id="2503.00002"),
              make_paper(arxiv_id="2503.00003", title="Placeholderb", authors=(Author("Ada Lovelace"),))]
    assert keys(to_bibliography(papers)) == ["lovelace2025placeholder", "lovelace2025placeholderb",
                                             "lovelace2025placeholderbb"]
