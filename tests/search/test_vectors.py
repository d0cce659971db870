import numpy as np
import pytest

from paperwire.search import vectors
from paperwire.search.vectors import VectorIndex

DIM = 8


def unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


# Paper i points along axis i % DIM, tilted a little towards the next axis by i // DIM.
IDS = list(range(1, 25))
VECTORS = unit([np.eye(DIM)[i % DIM] + 0.1 * (i // DIM) * np.eye(DIM)[(i + 1) % DIM] for i in IDS])


@pytest.fixture(params=["exact", "graph"])
def mode(request, monkeypatch):
    if request.param == "graph":
        monkeypatch.setattr(vectors, "HNSW_MIN_COUNT", 10)
        monkeypatch.setattr(vectors, "EXACT_FILTER_MAX", 2)
    return request.param


def make_index():
    index = VectorIndex(DIM)
    index.add(IDS, VECTORS)
    return index


def ids(hits):
    return [pid for pid, _ in hits]


def test_search_finds_the_same_direction_first(mode):
    index = make_index()
    assert index.is_exact == (mode == "exact")
    hits = index.search(VECTORS[IDS.index(9)], limit=3)
    assert ids(hits) == [9, 17, 1]  # 9, then the papers on the same axis, nearest tilt first
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)


def test_add_replace_delete(mode):
    index = make_index()
    query = unit([np.eye(DIM)[3]])[0]
    assert ids(index.search(query, limit=1)) == [3]
    index.add([3], unit([np.eye(DIM)[4]]))  # replace: 3 now points along axis 4
    assert len(index) == len(IDS)
    assert 3 not in ids(index.search(query, limit=2))
    assert index.delete([11, 11, 999]) == 1
    assert 11 not in index and len(index) == len(IDS) - 1
    assert ids(index.search(query, limit=1)) == [19]
    index.add([11], VECTORS[IDS.index(11)][None])  # back again
    assert ids(index.search(query, limit=1)) == [11]
    index.add([100, 101], unit([np.eye(DIM)[3], np.eye(DIM)[5]]))  # growth past capacity is fine
    assert ids(index.search(query, limit=2)) == [100, 11]


def test_filtered_search(mode):
    index = make_index()
    allowed = np.zeros(30, dtype=bool)
    allowed[[2, 10, 18, 5]] = True
    query = VECTORS[IDS.index(2)]
    assert ids(index.search(query, limit=3, allowed=allowed)) == [2, 10, 18]
    assert ids(index.search(query, limit=3, allowed=np.zeros(30, dtype=bool))) == []


def test_rebuild_and_save_load(mode, tmp_path):
    index = make_index()
    index.delete([1, 2])
    index.model_id, index.change_seq = "model-x", 7
    path = tmp_path / "vectors.npz"
    index.save(path)
    index.save(path)  # a second save replaces the first and its graph file
    assert len(list(tmp_path.iterdir())) == (1 if mode == "exact" else 2)
    loaded = VectorIndex.load(path)
    assert (loaded.model_id, loaded.change_seq, len(loaded)) == ("model-x", 7, len(IDS) - 2)
    query = VECTORS[IDS.index(9)]
    assert ids(loaded.search(query, limit=5)) == ids(index.search(query, limit=5))
    loaded.add([1], VECTORS[:1])
    loaded.rebuild()
    assert len(loaded) == len(IDS) - 1
    assert np.allclose(loaded.vectors([1]), VECTORS[:1], atol=1e-6)


def test_rejects_bad_input():
    index = VectorIndex(DIM)
    with pytest.raises(ValueError, match="3 dimensions"):
        index.add([1], np.ones((1, 3)))
    with pytest.raises(ValueError, match="-5"):
        index.add([-5], VECTORS[:1])
    assert index.search(VECTORS[0]) == []
