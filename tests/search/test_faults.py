"""Search that isolates faults (issue #15): a record that cannot be indexed is skipped and
reported, and a saved index that cannot be read is discarded and rebuilt."""

import logging
import os
import random
from dataclasses import replace

import numpy as np
import pytest

from paperwire.search import keywords, vectors
from paperwire.search.engine import KEYWORDS_FOLDER, VECTORS_FILE, Indexes
from paperwire.search.service import SearchService
from paperwire.store import open_store
from paperwire.store.check import check
from tests.conftest import make_paper, paper_of
from tests.search.conftest import PAPERS


@pytest.fixture
def sqlite(sqlite_url):
    """SQLite alone: its JSON columns take a record of the wrong types when the schema is
    bypassed, as issue #15 found; PostgreSQL's typed columns refuse it at the write."""
    store = open_store(sqlite_url)
    yield store
    store.close()


def arxiv_ids(results) -> list[str]:
    return sorted(hit.paper.arxiv_id for hit in results.page.hits)


def test_a_record_that_cannot_be_indexed_is_skipped_and_later_changes_are_searchable(sqlite, tmp_path, caplog):
    # Issue #15: {"categories": [1]} went in through `ingest file` and stopped the follower
    # for good. Written through the store here, around the schema that now refuses it.
    sqlite.upsert_papers([make_paper(arxiv_id="2501.00001", title="Fine words")], source="test")
    sqlite.upsert_papers([replace(make_paper(arxiv_id="2501.00002", title="Broken words"), categories=(1,)),
                         make_paper(arxiv_id="2501.00003", title="Sibling words")], source="test")
    service = SearchService(tmp_path)
    with caplog.at_level(logging.WARNING, logger="paperwire.search.engine"):
        assert service.catch_up(sqlite) == 0
    assert arxiv_ids(service.search(sqlite, "words")) == ["2501.00001", "2501.00003"]
    assert "2501.00002" in caplog.text and "category 1 is int" in caplog.text
    assert service.state.skipped_count == 1

    sqlite.upsert_papers([make_paper(arxiv_id="2501.00004", title="Later words")], source="test")
    assert arxiv_ids(service.search(sqlite, "words")) == ["2501.00001", "2501.00003", "2501.00004"]

    # The count survives a save, and `paperwire db check` names the paper.
    service.save()
    assert Indexes.open(service.indexes.folder).lexical.skipped.keys() == service.indexes.lexical.skipped.keys()
    [problem] = check(sqlite, index_root=tmp_path).problems
    assert problem.startswith("1 papers could not be indexed for search (2501.00002: TypeError: category 1 is int")
    # A mended record is indexed, and leaves the skipped list.
    sqlite.upsert_papers([make_paper(arxiv_id="2501.00002", title="Mended words", version=2)], source="test")
    assert "2501.00002" in arxiv_ids(service.search(sqlite, "words"))
    assert service.state.skipped_count == 0


def test_fields_of_the_wrong_type_are_named():
    from paperwire.search.engine import _checked
    from paperwire.search.keywords import PaperFields

    with pytest.raises(TypeError, match=r"title is int 12345, not text"):
        _checked(PaperFields(1, 12345, "abstract"))
    with pytest.raises(TypeError, match=r"author 2 is NoneType None, not text"):
        _checked(PaperFields(1, "t", "a", authors=("Ada", None)))
    with pytest.raises(TypeError, match=r"day is str '2024-01-01', not a date"):
        _checked(PaperFields(1, "t", "a", day="2024-01-01"))
    assert _checked(PAPERS[0]) is PAPERS[0]


# --- corrupt saved indexes ----------------------------------------------------------

def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _zero(path):
    path.write_bytes(b"")


def _random(path):
    path.write_bytes(random.Random(15).randbytes(4096))


def _flip(path):
    data = bytearray(path.read_bytes())
    for at in range(len(data) // 3, len(data) // 3 + 64):
        data[at] ^= 0xFF
    path.write_bytes(bytes(data))


DAMAGE = {"truncated": _truncate, "zero bytes": _zero, "random bytes": _random, "flipped bytes": _flip}


@pytest.fixture
def saved(sqlite, tmp_path, embedder):
    """A store of the ten papers and a service whose indexes (words and vectors) are saved."""
    from paperwire.search import pipeline

    sqlite.upsert_papers([paper_of(p) for p in PAPERS], source="test")
    pipeline.embed_pending(sqlite, embedder)
    service = SearchService(tmp_path / "indexes", embedder=embedder)
    service.catch_up(sqlite)
    service.save()
    return sqlite, service.indexes.folder


# The keyword side's damage goes to tantivy's own metadata (every segment is listed there).
KEYWORD_FILE = f"{KEYWORDS_FOLDER}/meta.json"


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
@pytest.mark.parametrize("side", ["keywords", "vectors"])
def test_a_damaged_saved_index_is_discarded_and_rebuilt(saved, tmp_path, embedder, caplog, side, damage):
    store, folder = saved
    name = KEYWORD_FILE if side == "keywords" else VECTORS_FILE
    DAMAGE[damage](folder / name)
    service = SearchService(tmp_path / "indexes", embedder=embedder)
    with caplog.at_level(logging.WARNING, logger="paperwire.search.engine"):
        results = service.search(store, "diffusion")
    assert [h.paper.title for h in results.page.hits][0] == "Denoising diffusion probabilistic models"
    assert results.is_semantic_ready and len(service.indexes.vectors) == 10
    assert f"{name.split('/')[0]} cannot be read" in caplog.text and "rebuilding" in caplog.text
    service.save()  # and the rebuilt index replaces the damaged file
    assert len(Indexes.open(folder, embedder=embedder).lexical) == 10


@pytest.mark.parametrize("side", ["keywords", "vectors"])
def test_a_saved_index_of_another_version_is_rebuilt(saved, tmp_path, embedder, caplog, side, monkeypatch):
    store, folder = saved
    module, name = (keywords, KEYWORDS_FOLDER) if side == "keywords" else (vectors, VECTORS_FILE)
    # An index written by a later paperwire: its format number is one more than ours.
    indexes = Indexes.open(folder, embedder=embedder)
    monkeypatch.setattr(module, "FORMAT_VERSION", module.FORMAT_VERSION + 1)
    target = indexes.lexical if side == "keywords" else indexes.vectors
    target.save(folder / name)
    monkeypatch.undo()
    service = SearchService(tmp_path / "indexes", embedder=embedder)
    with caplog.at_level(logging.WARNING, logger="paperwire.search.engine"):
        assert service.search(store, "diffusion").page.hits
    assert "format" in caplog.text and len(service.indexes.lexical) == 10


def test_a_damaged_graph_file_is_refused_before_it_is_mapped(tmp_path, monkeypatch):
    monkeypatch.setattr(vectors, "HNSW_MIN_COUNT", 100)  # a graph at a test's size
    index = vectors.VectorIndex(8)
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(300, 8)).astype(np.float32)
    index.add(list(range(300)), matrix / np.linalg.norm(matrix, axis=1, keepdims=True))
    assert not index.is_exact
    index.save(tmp_path / VECTORS_FILE)
    (graph_file,) = tmp_path.glob("*.usearch")
    for damage in DAMAGE.values():
        index.save(tmp_path / VECTORS_FILE)
        (graph_file,) = tmp_path.glob("*.usearch")
        damage(graph_file)
        with pytest.raises(ValueError, match="graph file"):
            vectors.VectorIndex.load(tmp_path / VECTORS_FILE)
    os.remove(graph_file)
    with pytest.raises((ValueError, OSError)):
        vectors.VectorIndex.load(tmp_path / VECTORS_FILE)
