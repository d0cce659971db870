"""A small in-memory paper set and the `Lookup` over it that imports match against."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from paperwire.library import imports
from paperwire.papers import Author
from tests.conftest import make_paper

PAPERS = [
    make_paper(arxiv_id="1706.03762", title="Attention Is All You Need",
               authors=(Author("Ashish Vaswani"), Author("Noam Shazeer")),
               published_at=datetime(2017, 6, 12, tzinfo=timezone.utc)),
    make_paper(arxiv_id="1810.04805",
               title="BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding",
               authors=(Author("Jacob Devlin"), Author("Ming-Wei Chang")), doi="10.18653/v1/N19-1423",
               published_at=datetime(2018, 10, 11, tzinfo=timezone.utc)),
    make_paper(arxiv_id="2105.04026", title="Attention is Not All You Need: Pure Attention Loses Rank",
               authors=(Author("Yihe Dong"), Author("Jean-Baptiste Cordonnier"))),
    make_paper(arxiv_id="hep-th/9711200",
               title="The Large N Limit of Superconformal Field Theories and Supergravity",
               authors=(Author("Juan M. Maldacena"),), doi="10.1023/A:1026654312961",
               published_at=datetime(1997, 11, 27, tzinfo=timezone.utc)),
    make_paper(arxiv_id="1412.6980", title="Adam: A Method for Stochastic Optimization",
               authors=(Author("Diederik P. Kingma"), Author("Jimmy Ba"))),
    make_paper(arxiv_id="2001.08361", title="Scaling Laws for Neural Language Models",
               authors=(Author("Jared Kaplan"), Author("Sam McCandlish"))),
]


def lookup_over(papers) -> imports.Lookup:
    by_id = {p.arxiv_id: p for p in papers}
    by_doi = {imports.normalise_doi(p.doi): p for p in papers if p.doi}
    # The store would narrow candidates by a keyword search; every paper is a superset.
    return imports.Lookup(by_id.get, by_doi.get, lambda title: list(papers))


@pytest.fixture
def lookup() -> imports.Lookup:
    return lookup_over(PAPERS)
