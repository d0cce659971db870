"""The tantivy keyword index: its analyzer against the Python one (text.py) in a table, its folder (commits, the
change_seq beside them, reopening), and one writer per folder with the others following.

Its matching semantics are pinned by test_exact.py (against a brute-force scan)
and test_ranking.py."""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from paperwire.search import keyword_query, keywords, text
from paperwire.search.keywords import KeywordIndex, PaperFields
from paperwire.search.query import parse
from tests.search.conftest import PAPERS


def ranked(index, text):
    query = parse(text)
    return [pid for pid, _ in index.search(query, allowed=index.filter_mask(query))]


@pytest.mark.parametrize(
    "written, both",
    [
        ("The Networks are TRAINING on images!", ["network", "train", "imag"]),
        ("test-time scaling", ["test", "time", "scale"]),
        ("ﬁne-tuning", ["fine", "tune"]),  # NFKC before tantivy: the ligature is two letters
        ("GPT-4o and o1", ["gpt", "4o", "o1"]),
        ("Schrödinger équation", ["schrödinger", "équation"]),
        ("x²+y²", ["x2", "y2"]),
        ("3.5 ms", ["3", "5", "ms"]),
        ("日本語", ["日本語"]),
        ("αβγ-decay", ["αβγ", "decay"]),
        ("Ⅳ", ["iv"]),
        ("", []),
    ],
)
def test_the_analyzers_agree(written, both):
    assert text.analyse(written) == both and keyword_query.analyse(written) == both


@pytest.mark.parametrize(
    "written, by_python, by_tantivy",
    [
        # Python's \w keeps "_" in a word; tantivy's tokenizer splits at it.
        ("snake_case names", ["snake_cas", "name"], ["snake", "case", "name"]),
        # Vowel signs are marks (not \w) to Python, alphabetic to Rust.
        ("हिन्दी भाषा", ["ह", "न", "द", "भ", "ष"], ["हिन", "दी", "भाषा"]),
        # Python lower-cases a final capital sigma to ς, Rust to σ.
        ("ΣΑΣ", ["σας"], ["σασ"]),
    ],
)
def test_where_the_analyzers_differ(written, by_python, by_tantivy):
    assert text.analyse(written) == by_python and keyword_query.analyse(written) == by_tantivy


def test_a_commit_is_reopened_with_its_change_seq_and_skipped_papers(tmp_path):
    index = KeywordIndex.open(tmp_path / "keywords")
    index.add(PAPERS)
    index.skipped[11] = "2501.00011: TypeError: title is int"
    index.change_seq = 42
    index.commit()
    again = KeywordIndex.open(tmp_path / "keywords")
    assert again.change_seq == 42 and len(again) == 10 and again.id_bound == 11
    assert again.skipped == {11: "2501.00011: TypeError: title is int"}
    assert ranked(again, "attention") == ranked(index, "attention") == [6, 1, 5, 9]
    assert again.suggest("difusion") == "diffusion"  # the vocabulary file came along


def test_another_format_is_refused(tmp_path):
    KeywordIndex.open(tmp_path / "keywords").commit()
    index = KeywordIndex.open(tmp_path / "keywords")
    index.add(PAPERS[:1])
    index.commit()
    meta = tmp_path / "keywords" / keywords.META_FILE
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format": keywords.FORMAT_VERSION + 1}))
    with pytest.raises(ValueError, match="format"):
        KeywordIndex.open(tmp_path / "keywords")
    assert len(KeywordIndex.create(tmp_path / "keywords")) == 0


def test_one_writer_per_folder_and_the_other_follows(tmp_path):
    writer, reader = KeywordIndex.open(tmp_path), KeywordIndex.open(tmp_path)
    assert writer.begin()
    assert not reader.begin()  # tantivy's lock on the folder: one writer
    writer.add(PAPERS[:5])
    writer.change_seq = 5
    writer.commit()
    assert reader.change_seq == 0 and len(reader) == 0  # its snapshot, until it reloads
    reader.reload()
    assert reader.change_seq == 5 and len(reader) == 5 and ranked(reader, "diffusion") == [4]
    assert reader.begin()  # the writer committed and let go
    reader.delete([4])
    reader.commit()
    writer.reload()
    assert ranked(writer, "diffusion") == []


def test_a_snapshot_does_not_change_under_a_search(tmp_path):
    published = KeywordIndex.open(tmp_path)
    published.add(PAPERS)
    published.commit()
    fork = published.fork()
    fork.delete([4])
    fork.commit()
    assert ranked(published, "diffusion") == [4] and ranked(fork, "diffusion") == []


WRITE_IN_ANOTHER_PROCESS = """
import sys
from paperwire.search.keywords import KeywordIndex
from tests.search.conftest import PAPERS
index = KeywordIndex.open(sys.argv[1])
assert index.begin()
index.add(PAPERS)
index.change_seq = 10
index.commit()
"""


def test_a_commit_of_another_process_is_followed(tmp_path):
    reader = KeywordIndex.open(tmp_path)
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", WRITE_IN_ANOTHER_PROCESS, str(tmp_path)], check=True, cwd=root)
    assert len(reader) == 0
    reader.reload()
    assert reader.change_seq == 10 and ranked(reader, "attention") == [6, 1, 5, 9]


def test_equal_scores_keep_one_order_over_segments_and_deletions():
    """`ranked` leaves ties in tantivy's order (score, then document address): whatever the
    depth, over several segments and deleted documents, each list is a prefix of the deepest,
    so pages by relevance neither repeat nor skip a paper (test_exact.py pages through it)."""
    rng = random.Random(5)
    index = KeywordIndex.open(None)
    next_id = 0
    for batch in range(5):  # one segment per commit
        assert index.begin()
        papers = []
        for _ in range(150):
            next_id += 1
            papers.append(PaperFields(next_id, rng.choice(["alpha beta", "alpha gamma"]), rng.choice(["x y", "x", "q"])))
        index.add(papers)
        if batch == 2:
            index.delete(list(range(1, 120, 3)))
        index.change_seq = batch + 1
        index.commit()
    query = parse("alpha x")
    count, deepest = index.ranked(query, depth=10_000)
    assert count == len(deepest) == len({pid for pid, _ in deepest}) == 750 - 40
    assert len({score for _, score in deepest}) < 10  # mostly ties
    assert [s for _, s in deepest] == sorted((s for _, s in deepest), reverse=True)
    for depth in [*range(1, 60), 100, 333, 709, 710, 2000]:
        assert index.ranked(query, depth=depth)[1] == deepest[:depth]
