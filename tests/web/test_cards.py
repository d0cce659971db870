"""The kept card fragments (web/cards.py): the same HTML as a fresh render, rendered again
when the paper's text changes, and held within their size limit."""

from __future__ import annotations

from datetime import date

from paperwire.papers import Author
from paperwire.web import cards
from paperwire.web.pages import ENV
from tests.conftest import make_paper

DAY = date(2025, 3, 1)


def test_a_kept_card_text_is_what_a_fresh_render_gives():
    papers = [
        make_paper(arxiv_id="2503.00001", title="Bounds in $\\mathcal{O}(n^2)$ time",
                   abstract="We show $x^2 + y^2$ is " + "long " * 120,
                   authors=(Author("Ada Lovelace"), Author("Émile Borel"))),
        make_paper(arxiv_id="2503.00002", title="Plain title", abstract="Short.", authors=()),
    ]
    for paper in papers:
        first = cards.card_text(ENV, paper)
        assert cards.card_text(ENV, paper) is first  # kept
        assert first == cards.render(ENV, paper)  # and equal to rendering it now
        assert "<math" in cards.card_text(ENV, papers[0]).title


def test_an_edited_paper_is_rendered_again(client, store):
    store.upsert_papers([make_paper(arxiv_id="2503.00003", title="Old title", abstract="Old words.")],
                        source="test")
    assert "Old title" in client.get(f"/day/{DAY}").text
    store.upsert_papers([make_paper(arxiv_id="2503.00003", title="New title", abstract="New words.", version=2)],
                        source="test")
    page = client.get(f"/day/{DAY}").text
    assert "New title" in page and "New words." in page and "Old title" not in page


def test_the_lru_keeps_within_its_size_dropping_the_least_recently_used():
    kept = cards.SizedLRU(10, len)
    kept.put("a", "xxxx")
    kept.put("b", "xxxx")
    assert kept.get("a") == "xxxx"  # now "b" is the least recently used
    kept.put("c", "xxxx")
    assert kept.get("b") is None and kept.get("a") == "xxxx" and kept.get("c") == "xxxx"
    assert kept.size == 8 and len(kept) == 2
    kept.put("huge", "x" * 11)  # larger than the whole limit: not kept
    assert kept.get("huge") is None and kept.size == 8
