"""Issue #15's ingest reproductions, each as it was reported: one bad record never stops
ingest or search, never loses its chunk, and is skipped alone with a reason a person
can read; reading a file is bounded; a file with nothing usable fails the command."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from paperwire.cli import cli
from paperwire.sources import FetchError, arxiv_api, files, hf_daily, oai_pmh, schema

from .conftest import fixture_bytes, stored_ids

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc)
INTERNALS = ("object has no attribute", "NoneType", "not subscriptable", "unpack", "invalid literal")


def good_line(number: int, **overrides) -> str:
    record = {"id": f"2501.{number:05d}", "title": f"Paper {number}", "abstract": "Text.",
              "categories": ["cs.LG"], "published": "2025-01-02"} | overrides
    return json.dumps(record)


def chunk_with(bad_line: str, *, size: int = files.CHUNK_LINES) -> bytes:
    """A chunk of `size` lines with `bad_line` in the middle."""
    lines = [good_line(n) for n in range(1, size)]
    lines.insert(size // 2, bad_line)
    return "\n".join(lines).encode()


def reasons(batch) -> list[str]:
    return [s.reason for s in batch.skipped]


# --- item 2: one record never costs its chunk ------------------------------------

BAD_LINES = {
    "a lone surrogate in the id": ('{"id": "2501.99999\\ud800", "title": "t"}', "is not an arXiv id"),
    "published before year 1 in UTC": (good_line(99999, published="0001-01-01T00:00:00+01:00"),
                                       "out of range in UTC"),
    "a version overflow": (good_line(99999, id="2501.99999v99999999999999999999"), "never numbers"),
    "a number as doi": (good_line(99999, doi=12345), "doi is a number (12345), not a string"),
    "100,000 nested brackets": ('{"id": "2501.99999", "title": "t", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
                                "nested deeper"),
    "a number as abstract": (good_line(99999, abstract=1.5), "abstract is a number (1.5), not a string"),
    "a number as category": (good_line(99999, categories=[1]), "categories item 1 is a number (1)"),
    "authors as an object": (good_line(99999, authors={"a": 1}), "authors is an object, not a list"),
    "a 10 MB abstract": (good_line(99999, abstract="x" * 10 * 2**20),
                         "abstract is 10,485,760 characters long; the limit is 20,000"),
    "dated 9999-12-31": (good_line(99999, published="9999-12-31"), "is outside 1991-01-01"),
    "a title of spaces": (good_line(99999, title="   "), "no title"),
    "month 99 in the id": (good_line(99999, id="2599.00006"), "is not an arXiv id"),
}


@pytest.mark.parametrize("bad_line, reason", BAD_LINES.values(), ids=BAD_LINES.keys())
def test_a_bad_line_is_skipped_alone_and_the_chunk_is_kept(bad_line, reason):
    batch = files.parse(chunk_with(bad_line), origin="f.jsonl")
    assert len(batch.papers) == files.CHUNK_LINES - 1
    assert len(batch.skipped) == 1 and reason in batch.skipped[0].reason, reasons(batch)
    assert not any(internal in batch.skipped[0].reason for internal in INTERNALS)
    assert len(batch.skipped[0].reason) <= 301 and len(batch.skipped[0].record_id) <= 101


def test_a_lone_surrogate_in_text_is_stripped_and_the_paper_kept():
    batch = files.parse(chunk_with(good_line(99999, title="Broken \ud800 text")))
    assert len(batch.papers) == files.CHUNK_LINES and batch.skipped == []
    assert next(p for p in batch.papers if p.arxiv_id == "2501.99999").title == "Broken  text"


def test_categories_as_one_string_in_our_own_format_are_split():
    line = json.dumps({"arxiv_id": "2501.00001", "title": "t", "abstract": "",
                       "categories": "cs.CL cs.LG", "primary_category": "cs.CL"})
    (paper,) = files.parse(line.encode()).papers
    assert (paper.primary_category, paper.categories) == ("cs.CL", ("cs.CL", "cs.LG"))


def test_a_title_of_spaces_in_our_own_format_is_refused():
    line = json.dumps({"arxiv_id": "2501.00001", "title": "   ", "abstract": ""})
    assert reasons(files.parse(line.encode())) == ["no title"]


# --- item 6: text that hurts when shown ------------------------------------------

def test_nul_control_and_bidi_characters_are_stripped():
    title = "A\x00B\x1b[31mC\u202eD\x9b2J\u2066E\u2069"
    (paper,) = files.parse(good_line(1, title=title, abstract="line one\nline\ttwo\x07").encode()).papers
    assert paper.title == "AB[31mCD2JE"
    assert paper.abstract == "line one\nline\ttwo"  # tab and line breaks are text


def test_text_is_stored_in_nfc():
    (paper,) = files.parse(good_line(1, title="Bala\u0301zs").encode()).papers
    assert paper.title == "Bal\u00e1zs"


def test_skip_reasons_and_ids_are_printable_and_short():
    batch = files.parse(json.dumps({"id": "\x1b[2J" + "9" * 1000, "title": "t"}).encode())
    (skipped,) = batch.skipped
    assert skipped.record_id.isprintable() and "\\x1b" in skipped.record_id
    assert len(skipped.record_id) <= 101 and len(skipped.reason) <= 301


def test_a_future_date_is_refused_by_the_clock_passed_in():
    paper = files.parse(good_line(1, published="2025-03-06").encode()).papers[0]
    with pytest.raises(schema.InvalidRecord, match="published_at 2025-03-06"):
        schema.check(paper, now=NOW)
    assert schema.check(paper, now=datetime(2025, 3, 4, 1, tzinfo=timezone.utc)) is paper


# --- the other parsers: one bad record in a page ---------------------------------

def test_arxiv_api_entry_dated_before_year_one_is_skipped_alone():
    page = fixture_bytes("arxiv_api_page1.xml").replace(
        b"<published>2025-01-01T18:00:00Z</published>", b"<published>0001-01-01T00:00:00+01:00</published>")
    batch = arxiv_api.parse(page)
    assert [p.arxiv_id for p in batch.papers] == ["hep-th/9901001"]
    assert "out of range in UTC" in batch.skipped[0].reason


def test_arxiv_raw_version_overflow_is_skipped_alone():
    page = fixture_bytes("oai_arxivraw.xml")
    start, end = page.index(b"<record>"), page.index(b"</record>") + len(b"</record>")
    page = page[:end] + page[start:end].replace(b"0704.0001", b"0704.0002") + page[end:]
    whole = oai_pmh.parse(page)
    batch = oai_pmh.parse(page.replace(b'version="v2"', b'version="v99999999999999999999"', 1))
    assert batch.papers == whole.papers[1:] and [p.arxiv_id for p in batch.papers] == ["0704.0002"]
    assert [s.record_id for s in batch.skipped] == ["0704.0001"]
    assert "is not a version arXiv numbers" in batch.skipped[0].reason


def test_hf_item_with_huge_upvotes_or_a_script_link_is_skipped_alone():
    items = json.loads(fixture_bytes("hf_daily_2025-01-03_p0.json"))
    items += json.loads(fixture_bytes("hf_daily_2025-01-03_p1.json"))
    whole = hf_daily.parse(json.dumps(items).encode(), day=NOW.date())
    items[0]["paper"]["upvotes"] = 10**30
    items[1]["paper"]["githubRepo"] = "javascript:alert(1)"
    batch = hf_daily.parse(json.dumps(items).encode(), day=NOW.date())
    assert batch.papers == whole.papers[2:] and len(batch.daily_entries) == len(whole.papers) - 2
    assert "upvotes 1000" in reasons(batch)[0] and "is not an http(s) URL" in reasons(batch)[1]


def test_hf_page_nested_past_the_recursion_limit_is_a_fetch_error():
    with pytest.raises(FetchError, match="not JSON"):
        hf_daily.parse(b"[" * 100_000 + b"]" * 100_000)


# --- reading files: bounded, truncation reported -----------------------------------

def test_a_truncated_gzip_keeps_every_decodable_line(tmp_path):
    whole = gzip.compress("\n".join(good_line(n) for n in range(1, 5001)).encode() + b"\n")
    cut = whole[: len(whole) * 7 // 10]
    decodable = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(cut)
    kept = []
    with pytest.raises(FetchError, match=f"cannot read .*cut.jsonl.gz past line {decodable:,}"):
        for batch in files.fetch([path]):
            kept.extend(batch.papers)
    assert decodable > files.CHUNK_LINES and len(kept) == decodable


def test_a_file_without_line_breaks_stops_with_flat_memory(tmp_path):
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="has no line break in its first 128 MiB"):
            list(files.fetch(["/dev/zero"]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * files.MAX_LINE_BYTES


def test_an_over_long_line_is_skipped_and_reading_goes_on(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_bytes(good_line(1).encode() + b"\n" + b"x" * (files.MAX_LINE_BYTES + 10) + b"\n"
                     + good_line(2).encode() + b"\n")
    (batch,) = files.fetch([path])
    assert [p.arxiv_id for p in batch.papers] == ["2501.00001", "2501.00002"]
    assert [(s.record_id, s.reason) for s in batch.skipped] == [
        ("long.jsonl line 2", "longer than 8 MiB, the limit for one record")]


# --- through the CLI ---------------------------------------------------------------

@pytest.mark.parametrize("content", [
    bytes(range(256)) * 40,  # a binary file
    json.dumps([json.loads(good_line(1))], indent=2).encode(),  # a pretty-printed JSON array
], ids=["binary", "json-array"])
def test_ingest_file_with_nothing_valid_exits_non_zero(paperwire, tmp_path, content):
    path = tmp_path / "papers.data"
    path.write_bytes(content)
    result = paperwire("ingest", "file", str(path))
    assert result.exit_code == 1, result.output
    assert "is a paper record: paperwire reads JSONL" in result.output


def test_ingest_file_dev_zero_stops_with_a_clear_error(paperwire):
    result = paperwire("ingest", "file", "/dev/zero")
    assert result.exit_code == 1 and "has no line break" in result.output, result.output


def test_ingest_file_keeps_the_chunk_around_each_reproduction(paperwire, sqlite_url, tmp_path):
    lines = [good_line(n) for n in range(1, 2001)]
    for position, (bad_line, _) in enumerate(BAD_LINES.values()):
        lines.insert(position * 150, bad_line)
    path = tmp_path / "papers.jsonl"
    path.write_text("\n".join(lines))
    result = paperwire("ingest", "file", str(path))
    assert result.exit_code == 0, result.output
    assert f"file: 2000 new, 0 updated, 0 unchanged, {len(BAD_LINES)} skipped" in result.output
    assert len(stored_ids(sqlite_url)) == 2000
    again = paperwire("ingest", "file", str(path))  # re-runs no longer stop at the same place
    assert f"0 new, 0 updated, 2000 unchanged, {len(BAD_LINES)} skipped" in again.output


def test_search_still_answers_after_a_bad_category_record(cache_settings, sqlite_url, tmp_path):
    path = tmp_path / "papers.jsonl"
    path.write_text('{"id":"2501.00006","title":"t","categories":[1]}\n' + good_line(7, title="t") + "\n")
    runner = CliRunner(env={"PAPERWIRE_CACHE_DIR": cache_settings.model_cache_dir})
    ingest = runner.invoke(cli, ["--database-url", sqlite_url, "ingest", "file", str(path)])
    assert ingest.exit_code == 0 and "categories item 1 is a number (1)" in ingest.output, ingest.output
    search = runner.invoke(cli, ["--database-url", sqlite_url, "search", "t", "--mode", "lexical"])
    assert search.exit_code == 0, search.output
    assert "2501.00007" in search.stdout and "2501.00006" not in search.stdout
