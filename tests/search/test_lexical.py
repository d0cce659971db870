import dataclasses
import math
from collections import Counter

import numpy as np
import pytest

from paperwire.search import lexical
from paperwire.search.lexical import LexicalIndex, analyse, contains_phrase, passes_phrases
from paperwire.search.query import parse
from tests.search.conftest import empty_keyword_index, over_engines


def same_results(got, expected):
    assert [pid for pid, _ in got] == [pid for pid, _ in expected]
    assert [s for _, s in got] == pytest.approx([s for _, s in expected], rel=1e-5)


def build(papers, engine="lexical", **kwargs):
    index = LexicalIndex(**kwargs) if engine == "lexical" else empty_keyword_index(engine)
    index.add(papers)
    return index


def ranked_ids(index, text, **kwargs):
    query = parse(text)
    return [pid for pid, _ in index.search(query, allowed=index.filter_mask(query), **kwargs)]


def reference_bm25(papers, text, *, k1=lexical.BM25_K1, b=lexical.BM25_B, title_weight=lexical.TITLE_WEIGHT):
    """BM25 written out from the formula (Robertson & Zaragoza 2009; Lucene's idf)."""
    tf = {p.paper_id: Counter(analyse(p.title) * title_weight + analyse(p.abstract)) for p in papers}
    avgdl = sum(sum(c.values()) for c in tf.values()) / len(tf)
    scores = {}
    for pid, counts in tf.items():
        dl = sum(counts.values())
        score = 0.0
        for term in analyse(parse(text).text):
            df = sum(1 for c in tf.values() if term in c)
            if counts[term]:
                idf = math.log(1 + (len(tf) - df + 0.5) / (df + 0.5))
                score += idf * counts[term] * (k1 + 1) / (counts[term] + k1 * (1 - b + b * dl / avgdl))
        if score > 0:
            scores[pid] = score
    return scores


def test_analyse_stems_and_drops_stop_words():
    assert analyse("The Networks are TRAINING on images!") == ["network", "train", "imag"]
    assert analyse("") == []


@over_engines
@pytest.mark.parametrize(
    "text, expected",
    [
        ("diffusion", [4]),
        # title hits (weighted) first; among equals the shorter paper first
        ("attention", [6, 1, 5, 9]),
        ("protein folding", [5]),
        ("deep networks", [3, 2, 6, 5, 1]),
        ("language -survey", [8, 2]),
        ('"language models"', [10, 8]),  # BERT has both words, not side by side
        ("transformers -attention", [2]),
        ("zebra", []),
        ('"zebra crossing" language', []),
        ("", []),
    ],
)
def test_ranking_on_the_ten_papers(engine, papers, text, expected):
    assert ranked_ids(build(papers, engine), text) == expected


@pytest.mark.parametrize("text", ["attention", "deep networks", "language models training", "network network deep"])
def test_scores_match_the_formula(papers, text):
    got = dict(build(papers).search(parse(text)))
    assert got == pytest.approx(reference_bm25(papers, text))


@over_engines
def test_limit_and_tie_break_by_lower_id(engine, papers):
    twins = [dataclasses.replace(papers[0], paper_id=i) for i in (30, 20, 40)]
    index = build(papers + twins, engine)
    # tantivy's title boost ranks BERT (a short title with "transformers") above the twins
    best = {"lexical": [1, 20, 30], "tantivy": [2, 1, 20]}[engine]
    assert ranked_ids(index, "transformer attention", limit=3) == best


@over_engines
@pytest.mark.parametrize(
    "text, expected",
    [
        ("author:kingma", [7]),
        ("author:velickovic", [6]),  # accents folded
        ('author:"noam shazeer"', [1]),
        ("author:shazeer attention", [1]),
        ("cat:cs.CV", [3]),
        ("cat:stat.ML cat:q-bio.BM", [6, 5, 4]),  # any of the categories; browse is newest id first
        ("year:2017", [6, 1]),
        ("year:2020..2021 models", [4, 8]),
        ("has:code", [4, 3, 1]),
        ("has:code cat:cs.LG year:..2019", [1]),
        ("language -survey year:2023", []),
        ("author:nobody", []),
    ],
)
def test_filters(engine, papers, text, expected):
    assert ranked_ids(build(papers, engine), text) == expected


@over_engines
def test_filter_mask_is_none_without_filters(engine, papers):
    assert build(papers, engine).filter_mask(parse("attention")) is None


def test_phrase_checks():
    assert contains_phrase("Large Language Models are...", "language model")
    assert not contains_phrase("a language representation model", "language model")
    assert contains_phrase("anything", "")
    query = parse('"language models" -"representation model"')
    assert passes_phrases(query, "Scaling up language models")
    assert not passes_phrases(query, "language models and a representation model")
    assert not passes_phrases(query, "models of language")


def test_matched_words_for_highlighting():
    query = parse('diffusion "image synthesis"')
    assert lexical.matched_words(query, "Diffusion models give high quality image synthesis.") == [
        "diffusion", "image", "synthesis"
    ]


@over_engines
def test_add_replace_delete(engine, papers):
    index = build(papers[:5], engine)
    index.add(papers[5:])
    assert len(index) == 10
    assert ranked_ids(index, "graph") == [6]

    index.add([dataclasses.replace(papers[5], title="Graph convolutional networks", abstract="Spectral convolutions.")])
    assert len(index) == 10
    assert ranked_ids(index, "convolutions") == [6]
    assert ranked_ids(index, "neighbourhoods") == []
    assert 6 not in ranked_ids(index, "attention")

    assert index.delete([4, 4, 99]) == 1
    assert 4 not in index and len(index) == 9
    assert ranked_ids(index, "diffusion") == []
    assert ranked_ids(index, "has:code") == [3, 1]
    index.add([papers[3]])
    assert ranked_ids(index, "diffusion") == [4]


def test_incremental_index_equals_a_fresh_build_after_merge(papers, monkeypatch):
    monkeypatch.setattr(lexical, "MAX_SMALL_SEGMENTS", 2)
    index = LexicalIndex()
    for paper in papers:  # one segment per paper: merges along the way
        index.add([paper])
        index.delete([3])
    index.add([papers[2]])
    index.merge()
    fresh = build(papers)
    for text in ("attention", "deep networks", "language models", "author:he"):
        query = parse(text)
        same_results(
            index.search(query, allowed=index.filter_mask(query)),
            fresh.search(query, allowed=fresh.filter_mask(query)),
        )


def test_deleted_papers_stay_in_statistics_until_merged(papers):
    index = build(papers)
    before = dict(index.search(parse("attention")))
    index.delete([9])
    after = dict(index.search(parse("attention")))
    assert 9 not in after and after[1] == before[1]
    index.merge()
    assert dict(index.search(parse("attention")))[1] != before[1]


def test_save_and_load(papers, tmp_path):
    index = build(papers)
    index.delete([2])
    index.change_seq = 42
    index.save(tmp_path / "lexical.npz")
    loaded = LexicalIndex.load(tmp_path / "lexical.npz")
    assert loaded.change_seq == 42 and len(loaded) == 9
    for text in ("attention", "author:kingma", "has:code year:2015..2017"):
        query = parse(text)
        same_results(
            loaded.search(query, allowed=loaded.filter_mask(query)),
            index.search(query, allowed=index.filter_mask(query)),
        )


@over_engines
def test_rejects_negative_ids(engine, papers):
    with pytest.raises(ValueError, match="-1"):
        build([dataclasses.replace(papers[0], paper_id=-1)], engine)


@over_engines
def test_empty_index(engine):
    index = empty_keyword_index(engine)
    assert index.search(parse("attention")) == []
    assert len(index) == 0
    assert not np.any(index.filter_mask(parse("year:2020")))


@over_engines
@pytest.mark.parametrize("text", ["attention network", "deep networks images", "language models training", "models"])
@pytest.mark.parametrize("limit", [1, 2, 3])
def test_a_short_limit_gives_the_head_of_the_full_ranking(engine, papers, text, limit):
    # Exercises the score floor taken from the rarest terms' papers.
    twins = [dataclasses.replace(p, paper_id=p.paper_id + 100) for p in papers]
    index = build(papers + twins, engine)
    index.delete([101, 4])
    full = index.search(parse(text), limit=100)
    assert index.search(parse(text), limit=limit) == full[:limit]
