"""paperwire.export: every paper as JSONL, checked by reading it back with sources.files."""

import gzip
import io

import pytest

from paperwire import export
from paperwire.sources import files
from paperwire.store import open_store
from tests.conftest import make_paper


@pytest.fixture
def stored(sqlite_url):
    """A store holding three papers (an old-style id, a title beyond ASCII), and the papers."""
    papers = [make_paper(arxiv_id="2503.00001"), make_paper(arxiv_id="hep-th/9901001", doi="10.1/x"),
              make_paper(arxiv_id="2503.00002", title="Ünïcode — “quotes” and a\nline break")]
    store = open_store(sqlite_url)
    store.upsert_papers(papers, source="test")
    yield store, papers
    store.close()


def _read_back(path) -> list:
    return [paper for batch in files.fetch([path]) for paper in batch.papers]


@pytest.mark.parametrize("name", ["papers.jsonl", "papers.jsonl.gz"])
def test_a_file_read_back_holds_every_paper_as_stored(tmp_path, stored, name):
    store, papers = stored
    assert export.write(store, tmp_path / name) == 3
    read = sorted(_read_back(tmp_path / name), key=lambda p: p.arxiv_id)
    assert read == sorted(papers, key=lambda p: p.arxiv_id)


def test_gz_suffix_means_gzip_and_any_other_means_plain(tmp_path, stored):
    store, _ = stored
    export.write(store, tmp_path / "a.jsonl.gz")
    export.write(store, str(tmp_path / "a.jsonl"))
    assert gzip.decompress((tmp_path / "a.jsonl.gz").read_bytes()) == (tmp_path / "a.jsonl").read_bytes()


def test_a_stream_is_written_and_left_open(stored):
    store, _ = stored
    out = io.StringIO()
    assert export.write(store, out) == 3
    assert not out.closed and len(out.getvalue().splitlines()) == 3


def test_an_empty_store_writes_an_empty_file_and_reports_zero(tmp_path, sqlite_url):
    store = open_store(sqlite_url)
    reported = []
    assert export.write(store, tmp_path / "empty.jsonl", on_progress=reported.append) == 0
    store.close()
    assert (tmp_path / "empty.jsonl").read_bytes() == b"" and reported == [0]


def test_progress_is_reported_every_thousand_papers_and_at_the_end(tmp_path, sqlite_url):
    store = open_store(sqlite_url)
    store.upsert_papers([make_paper(arxiv_id=f"2503.{n:05d}") for n in range(1, 2002)], source="test")
    reported = []
    assert export.write(store, io.StringIO(), on_progress=reported.append) == 2001
    store.close()
    assert reported == [1000, 2000, 2001]


def test_a_folder_that_does_not_exist_raises_os_error_naming_the_path(tmp_path, stored):
    store, _ = stored
    with pytest.raises(FileNotFoundError) as raised:
        export.write(store, tmp_path / "missing" / "papers.jsonl")
    assert raised.value.filename == str(tmp_path / "missing" / "papers.jsonl")
