"""topicmap.build: papers of known subjects land in one topic each, named by their words,
whether they are placed by vectors, by words or by both; the layout keeps topics apart."""

from __future__ import annotations

import random

import numpy as np
import pytest

from paperwire import topicmap
from tests.conftest import make_paper

SUBJECTS = {  # subject -> words only its papers use
    "protein": "protein folding residues enzyme",
    "galaxy": "galaxy redshift telescope stellar",
    "quantum": "qubit entanglement decoherence photon",
}
PER_SUBJECT = 25  # 75 papers: topic_count gives 3 topics


def _papers():
    papers, subject_of = [], {}
    for s, (subject, words) in enumerate(SUBJECTS.items()):
        for n in range(PER_SUBJECT):
            arxiv_id = f"2503.{s}{n:04d}"
            picked = " ".join(words.split()[k % 4] for k in range(n, n + 3))
            papers.append(make_paper(arxiv_id=arxiv_id, title=f"On {subject} number {n}",
                                     abstract=f"We study the {picked} of {subject} systems in case {n}."))
            subject_of[arxiv_id] = subject
    return papers, subject_of


def _vectors(papers, subject_of, *, only=lambda i: True):
    """A vector per subject direction (plus a little noise), for the papers `only` picks."""
    rng = np.random.default_rng(1)
    directions = {s: rng.standard_normal(16) for s in SUBJECTS}
    return {p.arxiv_id: (directions[subject_of[p.arxiv_id]] + 0.1 * rng.standard_normal(16)).astype(np.float32)
            for i, p in enumerate(papers) if only(i)}


def _topic_subjects(made, subject_of):
    return [{subject_of[i] for i in topic.arxiv_ids} for topic in made.topics]


@pytest.mark.parametrize("which", ["vectors", "words", "half"])
def test_each_subject_is_one_topic_named_by_its_words(which):
    papers, subject_of = _papers()
    vectors = {"vectors": _vectors(papers, subject_of), "words": {},
               "half": _vectors(papers, subject_of, only=lambda i: i % 2 == 0)}[which]
    made = topicmap.build(papers, vectors)
    assert made.basis == {"vectors": "embeddings", "words": "words", "half": "embeddings and words"}[which]
    assert sorted(map(sorted, _topic_subjects(made, subject_of))) == [["galaxy"], ["protein"], ["quantum"]]
    for topic in made.topics:
        subject = subject_of[topic.arxiv_ids[0]]
        assert set(topic.terms) <= set(SUBJECTS[subject].split()) | {subject}, topic.terms
        assert len(topic.terms) == topicmap.LABEL_TERM_COUNT


def test_every_paper_is_one_point_in_the_unit_square_and_in_its_topic():
    papers, subject_of = _papers()
    made = topicmap.build(papers, _vectors(papers, subject_of))
    assert sorted(p.arxiv_id for p in made.points) == sorted(subject_of)
    assert sorted(i for t in made.topics for i in t.arxiv_ids) == sorted(subject_of)
    for point in made.points:
        assert 0 <= point.x <= 1 and 0 <= point.y <= 1
        assert point.arxiv_id in made.topics[point.topic].arxiv_ids
    assert [len(t.arxiv_ids) for t in made.topics] == sorted((len(t.arxiv_ids) for t in made.topics), reverse=True)


@pytest.mark.parametrize("which", ["vectors", "words"])
def test_topics_do_not_overlap_on_the_map(which):
    """For every pair of topics, the circles around their points (centre: their mean, radius:
    the farthest point) do not overlap."""
    papers, subject_of = _papers()
    made = topicmap.build(papers, _vectors(papers, subject_of) if which == "vectors" else {})
    circles = []
    for topic in made.topics:
        xy = np.array([(p.x, p.y) for p in made.points if p.topic == topic.number])
        centre = xy.mean(axis=0)
        circles.append((centre, np.linalg.norm(xy - centre, axis=1).max()))
    for i, (a, ra) in enumerate(circles):
        for b, rb in circles[i + 1:]:
            assert np.linalg.norm(a - b) >= ra + rb - 1e-9


def test_same_papers_in_any_order_give_the_same_map():
    papers, subject_of = _papers()
    vectors = _vectors(papers, subject_of, only=lambda i: i % 3 != 0)
    shuffled = papers[:]
    random.Random(7).shuffle(shuffled)
    assert topicmap.build(shuffled, vectors) == topicmap.build(papers, vectors)


@pytest.mark.parametrize("papers", [
    [],
    [make_paper(arxiv_id="2503.00001")],
    [make_paper(arxiv_id="2503.00001"), make_paper(arxiv_id="2503.00002")],  # the same words
    [make_paper(arxiv_id=f"2503.0000{n}", title="The of and", abstract="") for n in range(1, 4)],  # stop words only
])
def test_few_or_wordless_papers_still_give_a_map(papers):
    made = topicmap.build(papers, {})
    assert made.paper_count == len(papers)
    assert len(made.topics) == (1 if papers else 0)
    assert all(0 <= p.x <= 1 and 0 <= p.y <= 1 for p in made.points)


@pytest.mark.parametrize("paper_count, expected", [
    (0, 1), (1, 1), (2, 1), (37, 1), (38, 2), (75, 3), (200, 8), (249, 10), (2035, 10),
])
def test_topic_count(paper_count, expected):
    assert topicmap.topic_count(paper_count) == expected
