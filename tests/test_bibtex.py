"""BibTeX: escaping, cite keys and the whole entry."""

from __future__ import annotations

import pytest

from paperwire.papers import Author
from paperwire.bibtex import cite_key, escape, to_bibtex
from tests.conftest import make_paper


@pytest.mark.parametrize("text, escaped", [
    ("plain words", "plain words"),
    ("50% & more", r"50\% \& more"),
    ("a_b #1 $5", r"a\_b \#1 \$5"),
    ("{unbalanced", r"\textbraceleft{}unbalanced"),
    ("back\\slash", r"back\textbackslash{}slash"),
    ("~^", r"\textasciitilde{}\textasciicircum{}"),
    ("Schrödinger", "Schrödinger"),
])
def test_escape(text, escaped):
    assert escape(text) == escaped


@pytest.mark.parametrize("overrides, key", [
    ({}, "lovelace2025placeholder"),
    ({"title": "The Art of Computer Programming"}, "lovelace2025art"),
    ({"authors": (Author("Johannes van der Waals"),)}, "waals2025placeholder"),
    ({"authors": (Author("Martin Luther King Jr."),)}, "king2025placeholder"),
    ({"authors": (Author("Kurt G{\\\"o}del"),)}, "godel2025placeholder"),
    ({"authors": ()}, "anon2025placeholder"),
    ({"published_at": None}, "lovelaceplaceholder"),
])
def test_cite_key(overrides, key):
    assert cite_key(make_paper(**overrides)) == key


def test_entry():
    paper = make_paper(doi="10.1000/a_b", title="Attention at $O(n)$ for R \\& D")
    assert to_bibtex(paper) == (
        "@misc{lovelace2025attention,\n"
        "  title = {{Attention at O(n) for R \\& D}},\n"
        "  author = {Ada Lovelace and Alan Turing},\n"
        "  year = {2025},\n"
        "  eprint = {2503.00001},\n"
        "  archivePrefix = {arXiv},\n"
        "  primaryClass = {cs.LG},\n"
        "  doi = {10.1000/a_b},\n"
        "  url = {https://arxiv.org/abs/2503.00001}\n"
        "}\n"
    )


def test_a_name_with_and_stays_one_author():
    paper = make_paper(authors=(Author("Research and Development Team"), Author("Ada Lovelace")))
    assert "  author = {{Research and Development Team} and Ada Lovelace},\n" in to_bibtex(paper)


def test_missing_fields_are_left_out():
    paper = make_paper(published_at=None, primary_category=None, authors=())
    text = to_bibtex(paper)
    assert "year" not in text and "primaryClass" not in text and "author" not in text


def test_braces_always_balance():
    paper = make_paper(title="}{ {{ \\} ~", authors=(Author("{Odd} }Name"),), doi="10.1/{x")
    text = to_bibtex(paper)
    depth = 0
    for ch in text:  # BibTeX counts every brace, escaped or not
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
