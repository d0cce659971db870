"""Library import: reading each format, matching by id, DOI and title, and
keeping the good entries of a hostile or malformed file."""

from __future__ import annotations

import json

import pytest

from paperwire.library import imports
from paperwire.library.imports import Entry

BIBTEX = r"""
@article{vaswani, title={Attention is all you need}, author={Vaswani, Ashish and Shazeer, Noam},
  journal={arXiv preprint arXiv:1706.03762v7}, year={2017}}
@inproceedings{devlin2019bert,
  title = {{BERT}: Pre-training of Deep Bidirectional Transformers for Language Understanding},
  author = {Devlin, Jacob and Chang, Ming-Wei and Lee, Kenton and Toutanova, Kristina},
  booktitle = {NAACL}, doi = {10.18653/V1/N19-1423}, year = {2019}}
@misc{maldacena, title={The large {N} limit}, eprint={hep-th/9711200v3}, archivePrefix={arXiv}}
@article{kingma, title = {Adam: a method for stochastic optimization}, author = {Kingma, Diederik P and Ba, Jimmy}}
@misc{kaplan, title={Scaling laws}, url={https://arxiv.org/abs/2001.08361}}
@article{unknown, title={A Paper Nobody Has Heard Of}, author={Nobody, N.}}
@article{unknown-arxiv, title={Not Here Yet}, eprint={2507.99999}, archivePrefix={arXiv}}
"""


def _ids(report):
    return {m.entry.key: (m.paper.arxiv_id, m.matched_by) for m in report.matched}


def test_bibtex_entries_match_by_arxiv_id_doi_and_title(lookup):
    report = imports.run(BIBTEX.encode(), lookup, filename="refs.bib")
    assert _ids(report) == {
        "vaswani": ("1706.03762", "arxiv_id"),
        "devlin2019bert": ("1810.04805", "doi"),
        "maldacena": ("hep-th/9711200", "arxiv_id"),
        "kingma": ("1412.6980", "title"),
        "kaplan": ("2001.08361", "arxiv_id"),
    }
    assert [e.key for e in report.unmatched] == ["unknown", "unknown-arxiv"]
    # An unknown arXiv paper keeps its id, so the caller can fetch it from arXiv.
    assert report.unmatched[1].arxiv_id == "2507.99999"
    assert report.malformed == []
    assert report.summary() == "5 matched, 2 not found, 0 malformed"


def test_malformed_bibtex_entries_are_reported_and_the_rest_kept(lookup):
    text = "\n".join([
        "@misc{first, eprint={1706.03762}}",
        "@article{unbalanced, title={Unbalanced {braces}, year={2020}}",
        "@misc{second, eprint={1412.6980}}",
        "@article{dup, title={x}, title={y}}",
        "@misc{huge, title={" + "x" * 100_000 + "}, eprint={2001.08361}}",
        "@misc{third, doi={10.1023/a:1026654312961}}",
        "@misc{truncated, title={Truncated entry",
    ])
    report = imports.run(text.encode(), lookup, filename="refs.bib")
    assert _ids(report) == {
        "first": ("1706.03762", "arxiv_id"), "second": ("1412.6980", "arxiv_id"),
        "third": ("hep-th/9711200", "doi"),
    }
    reasons = {m.key: m.reason for m in report.malformed}
    assert set(reasons) == {"line 2", "line 4", "line 7", "huge"}
    assert "Unexpected block start" in reasons["line 2"]
    assert "Duplicate field" in reasons["line 4"]
    assert "end of file" in reasons["line 7"]
    assert reasons["huge"] == "field 'title' is 100,000 characters; at most 2,000 are read"


def test_csl_json_from_zotero_matches_and_reports_bad_items(lookup):
    items = [
        {"id": "vaswani", "type": "article", "title": "Attention Is All You Need",
         "number": "arXiv:1706.03762", "publisher": "arXiv", "DOI": "10.48550/arXiv.1706.03762"},
        {"id": "bert", "type": "paper-conference", "title": "BERT", "DOI": "https://doi.org/10.18653/v1/N19-1423"},
        {"id": "scaling", "type": "article", "title": "Scaling laws for neural language models.",
         "author": [{"family": "Kaplan", "given": "Jared"}]},
        {"id": "wrong-authors", "type": "article", "title": "Scaling Laws for Neural Language Models",
         "author": [{"family": "Someone", "given": "Else"}]},
        "not an object",
        {"id": "deep", "title": "x", "note": [[[[[[[[[["deep"]]]]]]]]]]},
        {"id": "long", "title": "y" * 5000},
    ]
    report = imports.run(json.dumps(items).encode(), lookup, filename="My Library.json")
    assert _ids(report) == {
        "vaswani": ("1706.03762", "arxiv_id"), "bert": ("1810.04805", "doi"),
        "scaling": ("2001.08361", "title"),
    }
    assert [e.key for e in report.unmatched] == ["wrong-authors"]
    assert [(m.key, m.reason) for m in report.malformed] == [
        ("item 5", "an item must be a JSON object, not str"),
        ("deep", "the item is nested more than 8 levels deep"),
        ("long", "field 'title' is 5,000 characters; at most 2,000 are read"),
    ]


@pytest.mark.parametrize("text, reason", [
    ("[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ('{"a": 1}', "not a list"),
    ('[{"id": "x",', "not valid JSON"),
])
def test_json_that_is_not_a_list_of_items_is_refused_whole(lookup, text, reason):
    with pytest.raises(imports.UnreadableFile, match=reason):
        imports.run(text.encode(), lookup, filename="library.json")


def test_files_too_big_or_not_text_are_refused_whole(lookup):
    with pytest.raises(imports.UnreadableFile, match="at most 5,000,000"):
        imports.run(b" " * (imports.MAX_FILE_BYTES + 1), lookup)
    with pytest.raises(imports.UnreadableFile, match="not UTF-8"):
        imports.run(b"\xff\xfe@misc{", lookup)


def test_id_lists_take_every_form_and_report_bad_lines(lookup):
    text = """# my reading list
1706.03762v5
https://arxiv.org/abs/1810.04805
arXiv:hep-th/9711200
math.GT/0309136v1
https://doi.org/10.1023/A:1026654312961
doi:10.1000/none

this is not an id
"""
    report = imports.run(text.encode(), lookup, filename="ids.txt")
    assert [(m.entry.key, m.paper.arxiv_id) for m in report.matched] == [
        ("line 2", "1706.03762"), ("line 3", "1810.04805"), ("line 4", "hep-th/9711200"),
        ("line 6", "hep-th/9711200"),
    ]
    assert [(e.key, e.arxiv_id, e.doi) for e in report.unmatched] == [
        ("line 5", "math/0309136", None), ("line 7", None, "10.1000/none"),
    ]
    assert report.malformed == [imports.Malformed("line 9", "'this is not an id' is neither an arXiv id nor a DOI")]


def test_the_format_is_sniffed_without_a_filename(lookup):
    assert imports.read(b"@misc{a, eprint={1706.03762}}")[0][0].arxiv_id == "1706.03762"
    assert imports.read(b'[{"id": "a", "number": "arXiv:1706.03762"}]')[0][0].arxiv_id == "1706.03762"
    assert imports.read(b"1706.03762\n")[0][0].arxiv_id == "1706.03762"


# Realistic variants of titles as reference managers write them (against the stored
# arXiv title) and the score each gets; TITLE_MIN_SCORE sits between the two groups.
SAME_PAPER = [
    ("{BERT}: Pre-training of Deep Bidirectional Transformers for Language Understanding", "1810.04805"),
    ("BERT: Pretraining of deep bidirectional transformers for language understanding", "1810.04805"),
    ("Bert: pre-training of deep bidirectional transformers for language understanding.", "1810.04805"),
    ("ADAM: A method for stochastic optimisation", "1412.6980"),
    ("Adam : a method for stochastic optimization", "1412.6980"),
    ("Attention is all you need!", "1706.03762"),
    ("Scaling laws for neural language model", "2001.08361"),
    (r"The large {$N$} limit of superconformal field theories and supergravity", "hep-th/9711200"),
]
OTHER_PAPER = [
    ("Attention Is All You Need", "2105.04026"),
    ("Attention is not all you need", "1706.03762"),
    ("Scaling laws for autoregressive generative modeling", "2001.08361"),
    ("Adam: A Method for Stochastic Optimization", "1706.03762"),
]


@pytest.mark.parametrize("title, arxiv_id", SAME_PAPER)
def test_title_variants_of_the_same_paper_score_at_least_the_threshold(title, arxiv_id):
    from tests.library.conftest import PAPERS
    paper = next(p for p in PAPERS if p.arxiv_id == arxiv_id)
    score = imports.title_score(imports.normalise_title(title), imports.normalise_title(paper.title))
    assert score >= imports.TITLE_MIN_SCORE, score


@pytest.mark.parametrize("title, arxiv_id", OTHER_PAPER)
def test_titles_of_other_papers_score_below_it_or_differ_in_authors(title, arxiv_id):
    from tests.library.conftest import PAPERS
    paper = next(p for p in PAPERS if p.arxiv_id == arxiv_id)
    score = imports.title_score(imports.normalise_title(title), imports.normalise_title(paper.title))
    if score >= imports.TITLE_MIN_SCORE:  # "Attention is (not) all you need": the authors tell them apart
        entry = Entry("x", title=title, surnames=("dong",))
        report = imports.match([entry], imports.Lookup(lambda i: None, lambda d: None, lambda t: [paper]))
        assert report.unmatched == [entry]
    else:
        assert score < imports.TITLE_MIN_SCORE


def test_the_best_title_wins_and_ties_go_to_the_lower_id(lookup):
    entry = Entry("t", title="Attention is all you need")
    (found,) = imports.match([entry], lookup).matched
    assert (found.paper.arxiv_id, found.matched_by, found.title_score) == ("1706.03762", "title", 100)


@pytest.mark.parametrize("text, expected", [
    ("10.1000/XYZ", "10.1000/xyz"), ("https://doi.org/10.1000/ABC", "10.1000/abc"),
    ("http://dx.doi.org/10.1000/1", "10.1000/1"), ("doi: 10.1000/1", "10.1000/1"),
    ("10.1/x", None), ("not a doi", None), ("", None), (None, None),
])
def test_normalise_doi(text, expected):
    assert imports.normalise_doi(text) == expected
