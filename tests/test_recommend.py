"""The "for you" model on a hand-built library of three clear topics.

Each topic has its own direction in an 8-dimensional vector space and its own
words, so the right answer is known: papers of the saved topic first, the
closest of them first, and each recommendation "because of" the saved paper of
its topic.
"""

from __future__ import annotations

import numpy as np
import pytest

from paperwire import recommend
from paperwire.recommend import Features, Keywords
from tests.conftest import make_paper

DIM = 8
WORDS = {
    "graph": "graph neural networks message passing nodes edges",
    "speech": "speech recognition acoustic audio transcription",
    "robot": "robot manipulation grasping control policy",
}
AXIS = {"graph": 0, "speech": 1, "robot": 2}


def _vector(topic: str, closeness: float) -> np.ndarray:
    """A unit vector at cosine `closeness` to the topic's axis, the rest on the topic's spare axis."""
    vector = np.zeros(DIM, dtype=np.float32)
    vector[AXIS[topic]] = closeness
    vector[3 + AXIS[topic]] = np.sqrt(1 - closeness**2)
    return vector


def _paper(arxiv_id: str, topic: str, extra: str = ""):
    return make_paper(arxiv_id=arxiv_id, title=f"{topic} study {extra}", abstract=f"{WORDS[topic]} {extra}")


def _corpus():
    """(papers, vectors): 12 papers a topic, closeness falling with the number."""
    papers, vectors = [], {}
    for topic in WORDS:
        for n in range(12):
            paper = _paper(f"2501.{AXIS[topic]}{n:04d}", topic, extra=f"variant{n}")
            papers.append(paper)
            vectors[paper.arxiv_id] = _vector(topic, 0.99 - 0.04 * n)
    return papers, vectors


@pytest.fixture(scope="module")
def corpus():
    papers, vectors = _corpus()
    keywords = Keywords.fit([recommend.paper_words(p) for p in papers])
    return papers, vectors, keywords


def _features(corpus, ids=None, *, drop_vectors=()):
    papers, vectors, keywords = corpus
    chosen = [p for p in papers if ids is None or p.arxiv_id in ids]
    kept = {i: v for i, v in vectors.items() if i not in drop_vectors}
    return Features.build(chosen, kept, keywords)


def _ids(recommendations):
    return [r.arxiv_id for r in recommendations]


def _topic(arxiv_id: str) -> str:
    return {str(v): k for k, v in AXIS.items()}[arxiv_id[5]]


def test_papers_of_the_saved_topic_come_first_closest_first(corpus):
    library = _features(corpus, {"2501.00000", "2501.00001", "2501.00002"})
    model = recommend.train(library, _features(corpus))
    ranked = _ids(recommend.recommend(model, _features(corpus), limit=9))
    assert ranked == [f"2501.0{n:04d}" for n in range(3, 12)]


def test_one_saved_paper_gives_its_nearest_neighbours(corpus):
    library = _features(corpus, {"2501.10005"})
    pool = _features(corpus)
    model = recommend.train(library, pool)
    got = recommend.recommend(model, pool, limit=len(pool))
    # Oracle: brute-force cosine over vectors plus the weighted keyword cosine.
    similarity = pool.vectors @ library.vectors[0] + recommend.KEYWORD_WEIGHT**2 * (
        pool.keywords @ library.keywords[0].T
    ).toarray().ravel()
    expected = sorted(
        (i for i in pool.arxiv_ids if i != "2501.10005"),
        key=lambda i: (-similarity[pool.arxiv_ids.index(i)], i),
    )
    assert _ids(got) == expected
    assert {r.because_id for r in got} == {"2501.10005"}
    assert all(_topic(i) == "speech" for i in _ids(got)[:11])


def test_saved_and_dismissed_papers_never_come_back(corpus):
    saved = {"2501.00000", "2501.20003"}
    dismissed = {"2501.00004", "2501.10000", "2501.20005"}
    pool = _features(corpus)
    model = recommend.train(_features(corpus, saved), pool, dismissed=_features(corpus, dismissed))
    got = _ids(recommend.recommend(model, pool, limit=len(pool)))
    assert not (saved | dismissed) & set(got)
    assert sorted(got) == sorted(set(pool.arxiv_ids) - saved - dismissed)
    assert np.isneginf(recommend.score(model, pool)[pool.rows(saved | dismissed)]).all()


def test_dismissals_push_their_topic_down(corpus):
    pool = _features(corpus)
    library = _features(corpus, {"2501.00000", "2501.00001", "2501.10000", "2501.10001"})
    before = _ids(recommend.recommend(recommend.train(library, pool), pool, limit=60))
    dismissed = _features(corpus, {"2501.10002", "2501.10003", "2501.10004"})
    after = _ids(recommend.recommend(recommend.train(library, pool, dismissed=dismissed), pool, limit=60))

    def speech_ranks(ranking):
        return [n for n, i in enumerate(ranking) if _topic(i) == "speech"]

    assert np.mean(speech_ranks(after)) > np.mean(speech_ranks(before)) + 3
    assert all(_topic(i) == "graph" for i in after[:5])


def test_why_names_the_saved_paper_of_the_same_topic(corpus):
    library = _features(corpus, {"2501.00000", "2501.20000"})
    pool = _features(corpus)
    got = recommend.recommend(recommend.train(library, pool), pool, limit=len(pool))
    for recommendation in got:
        topic = _topic(recommendation.arxiv_id)
        if topic != "speech":
            assert recommendation.because_id == {"graph": "2501.00000", "robot": "2501.20000"}[topic]


def test_papers_without_a_vector_are_found_by_their_words(corpus):
    no_vector = {"2501.00006", "2501.10006", "2501.20006"}
    pool = _features(corpus, drop_vectors=no_vector)
    library = _features(corpus, {"2501.00000", "2501.00001"})
    got = recommend.recommend(recommend.train(library, pool), pool, limit=len(pool))
    positions = {r.arxiv_id: n for n, r in enumerate(got)}
    assert positions["2501.00006"] < positions["2501.10006"]
    assert positions["2501.00006"] < positions["2501.20006"]
    assert next(r for r in got if r.arxiv_id == "2501.00006").because_id in {"2501.00000", "2501.00001"}


def test_a_library_without_vectors_still_recommends_by_words(corpus):
    library = _features(corpus, {"2501.20000", "2501.20001"}, drop_vectors={"2501.20000", "2501.20001"})
    pool = _features(corpus)
    got = _ids(recommend.recommend(recommend.train(library, pool), pool, limit=10))
    assert all(_topic(i) == "robot" for i in got)


def test_training_is_deterministic(corpus):
    library = _features(corpus, {"2501.00000", "2501.10001", "2501.20002"})
    pool = _features(corpus)
    first = recommend.recommend(recommend.train(library, pool), pool, limit=30)
    second = recommend.recommend(recommend.train(library, pool), pool, limit=30)
    assert first == second


def test_new_papers_score_as_they_would_in_the_whole_pool(corpus):
    # Incremental use: a batch of arriving papers is scored alone, in one product,
    # with the model trained before they arrived.
    library = _features(corpus, {"2501.00000", "2501.00001"})
    pool = _features(corpus)
    model = recommend.train(library, pool)
    arriving = {"2501.00009", "2501.10009", "2501.20009"}
    alone = recommend.score(model, _features(corpus, arriving))
    whole = recommend.score(model, pool)[pool.rows(sorted(arriving))]
    np.testing.assert_allclose(alone, whole, rtol=1e-5)


def test_ties_are_broken_by_id_and_limit_is_respected(corpus):
    papers, vectors, keywords = corpus
    twins = [_paper("2501.90002", "graph"), _paper("2501.90001", "graph")]
    pool = Features.build(twins, {p.arxiv_id: vectors["2501.00005"] for p in twins}, keywords)
    library = _features(corpus, {"2501.00000"})
    got = recommend.recommend(recommend.train(library, pool), pool, limit=1)
    assert _ids(got) == ["2501.90001"]
    assert recommend.recommend(recommend.train(library, pool), pool, limit=0) == []


def test_an_empty_library_is_an_error(corpus):
    with pytest.raises(recommend.NothingSaved, match="save a paper"):
        recommend.train(_features(corpus, set()), _features(corpus))


@pytest.mark.parametrize("saved", [("2501.10000",), ("2501.10000", "2501.10001", "2501.20000")])
def test_a_model_and_its_vocabulary_keep_their_scores_through_bytes(corpus, saved):
    papers, vectors, keywords = corpus
    pool = _features(corpus)
    model = recommend.train(_features(corpus, list(saved)), pool)
    again = recommend.model_from_bytes(recommend.model_to_bytes(model))
    assert np.array_equal(recommend.score(model, pool), recommend.score(again, pool))
    assert recommend.recommend(again, pool) == recommend.recommend(model, pool)
    words = [recommend.paper_words(p) for p in papers]
    restored = Keywords.from_bytes(keywords.to_bytes())
    assert (restored.transform(words) != keywords.transform(words)).nnz == 0
