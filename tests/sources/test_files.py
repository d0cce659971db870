from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

import pytest

from paperwire import ingest
from paperwire.papers import Author, Paper, Version, to_dict
from paperwire.sources import FetchError, files

from .conftest import DATA, fixture_bytes

PLAIN_KEPT = ["2503.11677", "2503.11685", "quant-ph/9501002", "2606.28729"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def test_plain_jsonl_keeps_good_lines_and_skips_bad_ones_with_reasons():
    batch = files.parse(fixture_bytes("papers_plain.jsonl"), origin="papers_plain.jsonl")
    assert [p.arxiv_id for p in batch.papers] == PLAIN_KEPT
    expected = [
        ("papers_plain.jsonl line 3", "not JSON"),
        ("2503.11691", "no title"),
        ("2503.116", "'2503.116' is not an arXiv id"),
        ("2503.11692", "published '2025-02-30' is not an ISO date or time"),
        ("papers_plain.jsonl line 7", "a line holds a JSON list, not an object"),
    ]
    assert [s.record_id for s in batch.skipped] == [record_id for record_id, _ in expected]
    for skipped, (_, reason) in zip(batch.skipped, expected):
        assert reason in skipped.reason


def test_plain_jsonl_fields():
    first, second, old, crawl = files.parse(fixture_bytes("papers_plain.jsonl")).papers
    assert first.title == "Simulation of Placeholder Vision"
    assert first.abstract == "Objective. A placeholder abstract\nwrapped over two lines."
    assert first.authors == (Author("Jungyeon Park"), Author("Anna Kochnev Goldstein"))
    assert (first.primary_category, first.categories) == ("cs.HC", ("cs.HC", "cs.CV"))
    assert first.published_at == utc(2025, 3, 18)
    assert first.version == 0 and first.comments is None and first.source == "file"
    assert (second.comments, second.doi) == ("Accepted at a placeholder venue", "10.1000/cordic")
    assert second.updated_at == utc(2025, 3, 20, 10)
    assert old.authors == () and old.published_at == utc(1995, 1, 9)
    # the daily crawl's own shape: `summary` for the abstract and no published day
    assert crawl.abstract.startswith("The daily crawl calls") and crawl.published_at is None


def test_snapshot_format():
    batch = files.parse(fixture_bytes("papers_snapshot.jsonl"))
    paper, knot = batch.papers
    assert paper.arxiv_id == "0704.0001"
    assert paper.authors == (Author("C. Balázs"), Author("E. L. Example"), Author("P. M. Placeholder"),
                             Author("C. -P. Yuan Jr"))
    assert paper.version == 2
    assert paper.versions == (Version(1, utc(2007, 4, 2, 19, 18, 42)), Version(2, utc(2007, 7, 24, 20, 10, 27)))
    assert (paper.published_at, paper.updated_at) == (utc(2007, 4, 2, 19, 18, 42), utc(2007, 7, 24, 20, 10, 27))
    assert (paper.journal_ref, paper.doi) == ("Phys.Rev.D76:013009,2007", "10.1103/PhysRevD.76.013009")
    assert paper.abstract == "A placeholder abstract with two versions."
    assert (knot.arxiv_id, knot.version, knot.categories) == ("math/0309136", 1, ("math.GT", "math.AT"))
    assert knot.license == "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
    assert [s.record_id for s in batch.skipped] == ["0704.0003"]


def test_snapshot_without_authors_parsed_splits_the_author_string():
    line = json.loads(fixture_bytes("papers_snapshot.jsonl").splitlines()[0])
    del line["authors_parsed"]
    paper = files.parse_record(line)
    assert [a.name for a in paper.authors] == ["C. Bal\\'azs", "E. L. Example", "P. M. Placeholder", "C.-P. Yuan"]


def sample_paper() -> Paper:
    return Paper(
        arxiv_id="2501.00001", title="Own Format", abstract="Round trip.",
        authors=(Author("Ada Lovelace", ("Analytical Engines Ltd",)),), version=3,
        primary_category="cs.LG", categories=("cs.LG", "stat.ML"),
        published_at=utc(2025, 1, 1, 18), updated_at=utc(2025, 1, 8, 10),
        code_url="https://github.com/placeholder-org/heavy-tails",
        versions=(Version(1, utc(2025, 1, 1, 18)), Version(3, utc(2025, 1, 8, 10))),
        source="arxiv_api",
    )


def test_own_export_format_round_trips():
    paper = sample_paper()
    batch = files.parse((json.dumps(to_dict(paper)) + "\n").encode())
    assert batch.papers == [paper]


def test_own_export_format_with_bad_id_is_skipped():
    record = to_dict(sample_paper()) | {"arxiv_id": "arXiv 2501"}
    batch = files.parse(json.dumps(record).encode())
    assert batch.papers == [] and batch.skipped[0].record_id == "arXiv 2501"


def test_gzip_is_detected_by_content_not_name(tmp_path):
    hidden = tmp_path / "papers.data"
    hidden.write_bytes(gzip.compress(fixture_bytes("papers_plain.jsonl")))
    misnamed = tmp_path / "papers.jsonl.gz"
    misnamed.write_bytes(fixture_bytes("papers_snapshot.jsonl"))
    batches = list(files.fetch([hidden, misnamed]))
    assert [p.arxiv_id for b in batches for p in b.papers] == PLAIN_KEPT + ["0704.0001", "math/0309136"]


def test_fetch_reads_in_chunks_and_numbers_lines_across_them():
    batches = list(files.fetch([DATA / "papers_plain.jsonl"], chunk_lines=2))
    assert len(batches) == 5  # 10 lines
    assert [p.arxiv_id for b in batches for p in b.papers] == PLAIN_KEPT
    skipped = [s.record_id for b in batches for s in b.skipped]
    assert skipped[0] == "papers_plain.jsonl line 3" and skipped[-1] == "papers_plain.jsonl line 7"


def test_fetch_truncated_gzip_raises_after_the_good_chunks(tmp_path):
    path = tmp_path / "cut.jsonl.gz"
    whole = gzip.compress(fixture_bytes("papers_plain.jsonl") * 50)
    path.write_bytes(whole[: len(whole) * 3 // 4])
    seen = []
    with pytest.raises(FetchError, match="cannot read .*cut.jsonl.gz"):
        for batch in files.fetch([path], chunk_lines=100):
            seen.append(batch)
    assert seen and all(b.papers for b in seen)


def test_fetch_unreadable_path_raises(tmp_path):
    with pytest.raises(FetchError, match="cannot read"):
        list(files.fetch([tmp_path]))


def test_ingest_file_into_store(store, tmp_path):
    path = tmp_path / "papers.jsonl.gz"
    path.write_bytes(gzip.compress(fixture_bytes("papers_plain.jsonl")))
    report = ingest.run(store, files.fetch([path]), source="file")
    assert (report.new_count, report.skipped_count) == (4, 5)
    assert store.get_paper("quant-ph/9501002").title == "An Old Quantum Placeholder"
    again = ingest.run(store, files.fetch([path]), source="file")
    assert (again.new_count, again.updated_count, again.unchanged_count) == (0, 0, 4)


def test_parse_lines_skips_known_hashes_unparsed_and_records_the_rest():
    lines = fixture_bytes("papers_plain.jsonl").splitlines()
    hashes = [files.record_hash(line) for line in lines]
    batch = files.parse_lines(lines, record_hashes=hashes, known={hashes[0], hashes[2]})
    assert [p.arxiv_id for p in batch.papers] == PLAIN_KEPT[1:]
    assert batch.unchanged_count == 2
    assert [s.record_id for s in batch.skipped][0] == "2503.11691"  # line 3 (bad JSON) was known
    assert batch.record_hashes["2503.11685"] == hashes[1]


def test_record_hash_ignores_surrounding_blanks():
    assert files.record_hash(b'{"id": 1}\n') == files.record_hash('{"id": 1}') != files.record_hash(b'{"id": 2}')


def test_reingest_skips_stored_lines_and_reads_changed_ones(store, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_bytes(fixture_bytes("papers_plain.jsonl"))

    def seen(hashes):
        return store.seen_records(files.SOURCE, hashes)

    first = ingest.run(store, files.fetch([path], seen=seen), source="file")
    assert (first.new_count, first.skipped_count) == (4, 5)
    path.write_bytes(fixture_bytes("papers_plain.jsonl").replace(b"CORDIC Is All", b"CORDIC Was All"))
    again = ingest.run(store, files.fetch([path], seen=seen), source="file")
    assert (again.new_count, again.updated_count, again.unchanged_count) == (0, 1, 3)
    assert store.get_paper("2503.11685").title == "CORDIC Was All You Need"

