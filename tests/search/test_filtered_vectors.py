"""A filtered vector search over an HNSW graph scans the allowed papers exactly from the
float16 copy (issue #9: reading them out of hnswlib made `author:` searches take 0.5-1 s)."""

import numpy as np

from paperwire.search.vectors import VectorIndex


def _unit(rng, n, dim):
    rows = rng.normal(size=(n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_a_filtered_graph_search_matches_a_brute_force_scan(tmp_path):
    rng = np.random.default_rng(9)
    matrix = _unit(rng, 2000, 16)
    index = VectorIndex(16)
    index.add(list(range(1500)), matrix[:1500])
    index._build_graph(index._ids, index._matrix)  # graph mode at a test's size
    index.add(list(range(1500, 2000)), matrix[1500:])  # and papers added to the graph later
    allowed = np.zeros(2000, dtype=bool)
    allowed[rng.choice(2000, 300, replace=False)] = True
    query = _unit(rng, 1, 16)[0]
    scores = matrix @ query
    expected = [int(i) for i in np.flatnonzero(allowed)[np.argsort(-scores[allowed], kind="stable")][:20]]
    for loaded in (index, index.save(tmp_path / "v.npz") or VectorIndex.load(tmp_path / "v.npz")):
        found = loaded.search(query, limit=20, allowed=allowed)
        assert [pid for pid, _ in found] == expected
        assert np.allclose([s for _, s in found], scores[expected], atol=2e-3)
        assert np.allclose(loaded.vectors([5, 1700]), matrix[[5, 1700]], atol=1e-3)
