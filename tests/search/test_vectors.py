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
        monkeypatch.setattr(vectors, "GRAPH_TO_EXACT_COST", 0)  # filtered searches over-fetch from the graph
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


# --- the int8 graph, mapped from its file (issue #9) ---------------------------
@pytest.fixture
def graph_mode(monkeypatch):
    monkeypatch.setattr(vectors, "HNSW_MIN_COUNT", 10)


def random_units(count, dim, seed):
    return unit(np.random.default_rng(seed).standard_normal((count, dim)))


def test_saved_graph_is_mapped_and_takes_changes_in_its_tail(graph_mode, tmp_path):
    index = make_index()
    path = tmp_path / "vectors.npz"
    index.save(path)
    assert index.is_mapped  # the saver maps what it wrote, like every reader
    loaded = VectorIndex.load(path)
    assert loaded.is_mapped and not loaded.is_exact
    query = VECTORS[IDS.index(3)]
    loaded.add([3], unit([np.eye(DIM)[4]]))  # replaced: masked in the graph, exact in the tail
    loaded.delete([11])
    loaded.add([200], query[None])
    assert loaded.is_mapped and len(loaded) == len(IDS)
    assert ids(loaded.search(query, limit=2)) == [200, 19]
    assert 11 not in loaded and 3 in loaded
    assert np.allclose(loaded.vectors([3]), unit([np.eye(DIM)[4]]))
    loaded.save(path)  # folds the tail into a new graph file, maps it, drops the old one
    assert [f.name for f in sorted(tmp_path.iterdir())] == ["vectors.npz", "vectors.npz.2.usearch"]
    again = VectorIndex.load(path)
    assert sorted(again.paper_ids()) == sorted(set(IDS) - {11} | {200})
    assert ids(again.search(query, limit=2)) == [200, 19]


def test_tail_is_folded_when_it_grows(graph_mode, monkeypatch, tmp_path):
    monkeypatch.setattr(vectors, "TAIL_MAX_COUNT", 4)
    index = make_index()
    index.save(tmp_path / "vectors.npz")
    extra = random_units(5, DIM, seed=1)
    index.add([300, 301, 302], extra[:3])
    assert index.is_mapped  # 3 changes: still in the tail
    index.add([303], extra[3:4])
    assert not index.is_mapped and len(index) == len(IDS) + 4  # folded into a private copy
    assert ids(index.search(extra[3], limit=1)) == [303]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "missing"])
def test_damaged_graph_file_is_rejected(graph_mode, tmp_path, damage):
    path = tmp_path / "vectors.npz"
    make_index().save(path)
    graph_file = tmp_path / "vectors.npz.1.usearch"
    if damage == "truncate":
        graph_file.write_bytes(graph_file.read_bytes()[:-100])
    elif damage == "garbage":
        graph_file.write_bytes(b"\x00not a graph" * 50)
    else:
        graph_file.unlink()
    with pytest.raises(ValueError, match="rebuild"):
        VectorIndex.load(path)


def test_damaged_graph_file_is_dropped_for_a_rebuild(graph_mode, tmp_path, embedder):
    from paperwire.search.engine import VECTORS_FILE, Indexes

    index = VectorIndex(embedder.dim, model_id=embedder.model_id)
    index.add(list(range(12)), random_units(12, embedder.dim, seed=2))
    index.save(tmp_path / VECTORS_FILE)
    graph_file = next(tmp_path.glob("*.usearch"))
    graph_file.write_bytes(graph_file.read_bytes()[: graph_file.stat().st_size // 2])
    opened = Indexes.open(tmp_path, embedder=embedder)
    assert len(opened.vectors) == 0 and opened.vectors.change_seq == 0  # sync fills it again


def test_int8_graph_finds_what_an_exact_float_scan_finds(graph_mode):
    # Oracle: the exact float32 top 10 of 2,000 random unit vectors; queries near papers.
    data = random_units(2_000, 32, seed=3)
    index = VectorIndex(32)
    index.add(list(range(len(data))), data)
    assert not index.is_exact
    rng = np.random.default_rng(4)
    recalls = []
    for paper in rng.choice(len(data), 50, replace=False):
        query = unit([data[paper] + rng.standard_normal(32) * 0.1])[0]
        want = set(np.argsort(-(data @ query))[:10].tolist())
        hits = index.search(query, limit=10)
        recalls.append(len(want & set(ids(hits))) / 10)
        exact = {int(i): float(s) for i, s in enumerate(data @ query)}
        assert all(abs(score - exact[pid]) < 0.02 for pid, score in hits)  # int8 codes: cosines within 0.02
    assert np.mean(recalls) >= 0.95


def test_quantise_keeps_direction():
    data = random_units(100, 384, seed=5)
    codes = vectors.quantise(data)
    assert codes.dtype == np.int8 and np.abs(codes).max(axis=1).min() == 127
    cosines = np.sum(unit(codes.astype(np.float32)) * data, axis=1)
    assert cosines.min() > 0.999
    assert not vectors.quantise(np.zeros((1, 4))).any()


def test_usearch_and_onnxruntime_load_in_either_order():
    # usearch 2.26.6 made `import onnxruntime` crash the process when imported after it
    # (pyproject.toml pins usearch below it); the web app imports both, in no set order.
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", "import usearch.index, onnxruntime"], capture_output=True)
    assert run.returncode == 0, run.stderr.decode()[-2000:]


def test_a_process_saves_after_another_replaced_its_graph_file(graph_mode, tmp_path):
    # Web processes share the folder: one saves (under a lease) while another still maps the old file.
    path = tmp_path / "vectors.npz"
    make_index().save(path)
    first, second = VectorIndex.load(path), VectorIndex.load(path)
    first.add([400], VECTORS[:1])
    first.save(path)  # writes .2, removes .1, which `second` still maps
    second.add([401], VECTORS[1:2])
    assert ids(second.search(VECTORS[1], limit=2)) == [2, 401]  # paper 2's vector, and its copy
    second.save(path)
    assert 401 in VectorIndex.load(path) and len(list(tmp_path.glob("*.usearch"))) == 1
