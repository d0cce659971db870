"""Collection exports read back: BibTeX and CSL-JSON through imports.read to the
same ids, JSONL through papers.from_dict to the same records."""

from __future__ import annotations

import json

import bibtexparser

from paperwire.library import exports, imports
from paperwire.papers import Author, from_dict
from tests.conftest import make_paper
from tests.library.conftest import PAPERS

AWKWARD = [
    make_paper(arxiv_id="2503.00001", title="Braces {unbalanced and 100% & $x_1$ # ~ ^ \\ symbols",
               authors=(Author("Sam Smith Jr."), Author("Rock and Roll"), Author("Plato"))),
    make_paper(arxiv_id="2503.00002", title="A Placeholder Title", doi="10.1000/{weird}"),
    make_paper(arxiv_id="2503.00003", title="A Placeholder Title"),  # same cite key as the one above
]
COLLECTION = PAPERS + AWKWARD


def test_bibtex_reads_back_with_the_same_ids_in_order():
    text = exports.bibtex(COLLECTION)
    entries, malformed = imports.read_bibtex(text)
    assert malformed == []
    assert [e.arxiv_id for e in entries] == [p.arxiv_id for p in COLLECTION]
    keys = [e.key for e in entries]
    assert len(set(keys)) == len(keys)
    assert keys[-3:] == ["smith2025braces", "lovelace2025placeholder", "lovelace2025placeholderb"]


def test_bibtex_entries_parse_without_failed_blocks_and_keep_authors_whole():
    library = bibtexparser.parse_string(exports.bibtex(AWKWARD))
    assert library.failed_blocks == []
    authors = library.entries[0].fields_dict["author"].value
    assert authors == "Sam Smith Jr. and {Rock and Roll} and Plato"
    (entry,), _ = imports.read_bibtex(exports.bibtex(AWKWARD[:1]))
    # Surnames as matching compares them, the same function on both sides.
    assert entry.surnames == ("smith", "roll", "plato")


def test_csl_json_reads_back_with_the_same_ids_dois_and_surnames():
    items = json.loads(exports.csl_json(COLLECTION))
    entries, malformed = imports.read_csl_json(json.dumps(items))
    assert malformed == []
    assert [e.arxiv_id for e in entries] == [p.arxiv_id for p in COLLECTION]
    assert entries[1].doi == "10.18653/v1/n19-1423"
    assert entries[0].surnames == ("vaswani", "shazeer")
    assert items[-3]["author"] == [
        {"family": "Smith", "given": "Sam", "suffix": "Jr."}, {"family": "Roll", "given": "Rock and"},
        {"literal": "Plato"},
    ]
    assert items[0]["issued"] == {"date-parts": [[2017, 6, 12]]}
    assert (items[0]["type"], items[0]["number"], items[0]["publisher"]) == ("article", "arXiv:1706.03762", "arXiv")


def test_jsonl_reads_back_to_the_same_papers():
    lines = exports.jsonl(COLLECTION).splitlines()
    assert [from_dict(json.loads(line)) for line in lines] == COLLECTION


def test_an_empty_collection_exports_empty_documents():
    assert exports.bibtex([]) == ""
    assert json.loads(exports.csl_json([])) == []
    assert exports.jsonl([]) == ""


def test_cite_keys_stay_unique_past_z():
    # bibtex.to_bibliography's rule, shared with the day and search exports: b to z, then numbers.
    papers = [make_paper(arxiv_id=f"2503.{n:05d}") for n in range(30)]
    keys = [e.key for e in imports.read_bibtex(exports.bibtex(papers))[0]]
    assert keys[:2] == ["lovelace2025placeholder", "lovelace2025placeholderb"]
    assert keys[25:28] == ["lovelace2025placeholderz", "lovelace2025placeholder2", "lovelace2025placeholder3"]
    assert len(set(keys)) == 30
