"""A filtered vector search over an HNSW graph scans the allowed papers exactly from their
int8 codes in the graph (issue #9: reading them out of hnswlib made `author:` searches take
0.5-1 s), and a fork shares the graph without changing what the index it came from finds."""

import numpy as np

from paperwire.search import vectors
from paperwire.search.vectors import VectorIndex


def _unit(rng, n, dim):
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_exact_or_graph_by_their_cost():
    """A scan of the allowed papers when they are few, the graph when a small over-fetch finds
    enough of them: at 2.7M papers and 100 wanted, the two cost alike near 52,000 allowed."""
    assert vectors.exact_is_cheaper(5_000, 100, 2_700_000) and vectors.exact_is_cheaper(50_000, 100, 2_700_000)
    assert not vectors.exact_is_cheaper(60_000, 100, 2_700_000)
    assert not vectors.exact_is_cheaper(544_000, 100, 2_700_000)  # author:wang: 1,000 candidates suffice
    assert vectors.exact_is_cheaper(0, 100, 2_700_000)


def test_a_filter_is_asked_only_what_the_search_needs(monkeypatch):
    """The graph path checks its candidates and never lists every allowed paper; the exact
    path lists them once. Both find the brute force's best here (the graph at this size
    finds them all)."""
    monkeypatch.setattr(vectors, "HNSW_MIN_COUNT", 1000)
    rng = np.random.default_rng(3)
    matrix = _unit(rng, 3000, 16)
    index = VectorIndex(16)
    index.add(list(range(3000)), matrix)
    query = _unit(rng, 1, 16)[0]
    scores = matrix @ query
    for share in (0.5, 0.02):
        mask = rng.random(3000) < share
        listed = []
        allowed = vectors.Allowed(int(mask.sum()), vectors.Allowed.mask(mask).passes,
                                  lambda: listed.append(1) or np.flatnonzero(mask))
        found = [pid for pid, _ in index.search(query, limit=10, allowed=allowed)]
        best = np.flatnonzero(mask)[np.argsort(-scores[mask], kind="stable")][:10].tolist()
        assert len(set(found) & set(best)) >= 9 and all(mask[found])
        assert len(listed) == (0 if share == 0.5 else 1)


def test_a_filtered_graph_search_matches_a_brute_force_scan(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "HNSW_MIN_COUNT", 1000)  # graph mode at a test's size
    rng = np.random.default_rng(9)
    matrix = _unit(rng, 2000, 16)
    index = VectorIndex(16)
    index.add(list(range(1500)), matrix[:1500])
    index.add(list(range(1500, 2000)), matrix[1500:])  # and papers added beside the graph later
    assert not index.is_exact
    allowed = np.zeros(2000, dtype=bool)
    allowed[rng.choice(2000, 300, replace=False)] = True
    query = _unit(rng, 1, 16)[0]
    scores = matrix @ query
    expected = [int(i) for i in np.flatnonzero(allowed)[np.argsort(-scores[allowed], kind="stable")][:20]]
    for loaded in (index, index.save(tmp_path / "v.npz") or VectorIndex.load(tmp_path / "v.npz")):
        found = loaded.search(query, limit=20, allowed=allowed)
        assert [pid for pid, _ in found] == expected
        assert np.allclose([s for _, s in found], scores[expected], atol=2e-3)
        assert np.allclose(loaded.vectors([5, 1700]), matrix[[5, 1700]], atol=1e-2)  # int8 codes: steps of max/127


def test_a_fork_takes_changes_while_the_index_it_came_from_finds_what_it_did(tmp_path, monkeypatch):
    """The search snapshot rule (search/service.py): updates go to a fork, and the published
    index, whose graph the fork shares, answers as before, even once the fork folds its
    changes into a graph (copied, never changed in place) and saves."""
    monkeypatch.setattr(vectors, "HNSW_MIN_COUNT", 100)
    monkeypatch.setattr(vectors, "TAIL_MAX_COUNT", 50)
    rng = np.random.default_rng(4)
    matrix = _unit(rng, 400, 16)
    index = VectorIndex(16)
    index.add(list(range(300)), matrix[:300])
    queries = _unit(rng, 5, 16)
    before = [index.search(q, limit=10) for q in queries]
    fork = index.fork()
    fork.delete(list(range(0, 300, 3)))
    fork.add(list(range(300, 400)), matrix[300:])  # past TAIL_MAX_COUNT: folded into the graph
    fork.save(tmp_path / "v.npz")
    assert [index.search(q, limit=10) for q in queries] == before
    assert len(index) == 300 and len(fork) == 300
    for q in queries:
        scores = matrix @ q
        alive = np.array([i for i in range(400) if i >= 300 or i % 3], dtype=np.int64)
        best = set(alive[np.argsort(-scores[alive])[:10]].tolist())
        found = {pid for pid, _ in fork.search(q, limit=10)}
        assert len(found & best) >= 8  # the int8 graph's recall, not an exact scan
        assert not found & set(range(0, 300, 3))


def test_a_filter_that_passes_most_papers_is_asked_about_the_best_first():
    """An exact scan (a small index, or the tail beside a graph) asks the filter about its
    best-scoring papers first, in chunks, and stops once enough pass; a filter allowing
    fewer papers than the scan holds lists them instead. Both give the brute force's best."""
    rng = np.random.default_rng(8)
    matrix = _unit(rng, 3000, 16)
    index = VectorIndex(16)
    index.add(list(range(3000)), matrix)
    assert index.is_exact
    query = _unit(rng, 1, 16)[0]
    scores = matrix @ query
    for share, most_asked, lists in ((0.5, 64, 0), (0.01, 0, 1)):
        mask = rng.random(3000) < share
        asked, listed = [], []

        def passes(ids, mask=mask, asked=asked):
            asked.append(len(ids))
            return vectors.Allowed.mask(mask).passes(ids)

        allowed = vectors.Allowed(int(mask.sum()), passes, lambda mask=mask, listed=listed: listed.append(1) or np.flatnonzero(mask))
        found = index.search(query, limit=10, allowed=allowed)
        best = np.flatnonzero(mask)[np.argsort(-scores[mask], kind="stable")][:10].tolist()
        assert [pid for pid, _ in found] == best
        assert sum(asked) <= most_asked and len(listed) == lists
