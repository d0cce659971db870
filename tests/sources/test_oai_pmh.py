from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from paperwire import ingest
from paperwire.papers import Author, Version
from paperwire.sources import FetchError, oai_pmh
from paperwire.sources.client import Retry

from .conftest import Reply, fixture_bytes

FAST_RETRY = Retry(attempts=3, backoff_seconds=1.0)
HARVEST = "oai:cs:2025-01-01:2025-01-09"
ALL_PAPERS = ["2501.00001", "2501.00002", "hep-th/9901001", "2501.00004", "2501.00005", "2501.00006"]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def page(name: str) -> Reply:
    return Reply(fixture_bytes(name), headers={"Content-Type": "text/xml"})


# --- parsing -----------------------------------------------------------------

def test_parse_page_with_token_and_deleted_record():
    batch = oai_pmh.parse(fixture_bytes("oai_arxiv_page1.xml"), harvest=HARVEST)
    assert [p.arxiv_id for p in batch.papers] == ["2501.00001", "2501.00002"]
    assert batch.deleted == ["2412.99999"]
    assert batch.checkpoint == (HARVEST, "6960524|3")
    assert batch.total_count == 8


def test_parse_arxiv_format_fields():
    paper = oai_pmh.parse(fixture_bytes("oai_arxiv_page1.xml")).papers[0]
    assert paper.authors == (Author("Ada Lovelace", ("Analytical Engines Ltd",)), Author("Alan M. Turing"))
    assert paper.title.startswith("$\\alpha$-Stable Processes and the {\\em Heavy} Tails of\n")
    assert (paper.primary_category, paper.categories) == ("cs.LG", ("cs.LG", "stat.ML"))
    # the arXiv format has no version number: unknown (0), with v1's date as history
    assert paper.version == 0
    assert paper.versions == (Version(1, utc(2025, 1, 1)),)
    assert (paper.published_at, paper.updated_at) == (utc(2025, 1, 1), utc(2025, 1, 8))
    assert paper.doi == "10.1000/xyz.123"
    assert paper.license == "http://creativecommons.org/licenses/by/4.0/"
    assert paper.source == "oai_pmh"


def test_parse_missing_optional_fields():
    paper = oai_pmh.parse(fixture_bytes("oai_arxiv_page1.xml")).papers[1]
    assert paper.comments is paper.doi is paper.journal_ref is paper.license is None
    assert paper.updated_at == paper.published_at == utc(2025, 1, 2)


def test_parse_skips_malformed_record_in_the_middle():
    batch = oai_pmh.parse(fixture_bytes("oai_arxiv_page2.xml"), harvest=HARVEST)
    assert [p.arxiv_id for p in batch.papers] == ["hep-th/9901001", "2501.00004"]
    assert [(s.record_id, s.reason) for s in batch.skipped] == [("2501.00003", "2501.00003 has no title")]
    old = batch.papers[0]
    assert old.authors == (Author("Edward Example Jr"),)
    assert old.categories == ("hep-th", "cs.IT")


def test_parse_last_page_clears_checkpoint():
    batch = oai_pmh.parse(fixture_bytes("oai_arxiv_page3.xml"), harvest=HARVEST)
    assert len(batch.papers) == 2
    assert batch.checkpoint == (HARVEST, None)


def test_parse_no_records_match_is_an_empty_last_page():
    batch = oai_pmh.parse(fixture_bytes("oai_no_records.xml"), harvest=HARVEST)
    assert batch.papers == [] and batch.deleted == [] and batch.skipped == []
    assert batch.checkpoint == (HARVEST, None)


def test_parse_bad_resumption_token_says_to_restart():
    with pytest.raises(FetchError, match="badResumptionToken|expired.*--restart"):
        oai_pmh.parse(fixture_bytes("oai_bad_token.xml"))


def test_parse_other_oai_error():
    body = fixture_bytes("oai_no_records.xml").replace(b'code="noRecordsMatch"', b'code="badArgument"')
    with pytest.raises(FetchError, match="OAI-PMH error badArgument"):
        oai_pmh.parse(body)


def test_parse_arxiv_raw_has_full_version_history():
    paper = oai_pmh.parse(fixture_bytes("oai_arxivraw.xml")).papers[0]
    assert paper.arxiv_id == "0704.0001"
    assert paper.version == 2
    assert paper.versions == (Version(1, utc(2007, 4, 2, 19, 18, 42)), Version(2, utc(2007, 7, 24, 20, 10, 27)))
    assert (paper.published_at, paper.updated_at) == (utc(2007, 4, 2, 19, 18, 42), utc(2007, 7, 24, 20, 10, 27))
    assert paper.authors == (
        Author("C. Bal\\'azs"), Author("E. L. Example", ("Argonne, USA",)),
        Author("P. M. Placeholder"), Author("C.-P. Yuan"),
    )
    assert paper.journal_ref == "Phys.Rev.D76:013009,2007"


@pytest.mark.parametrize("text, names", [
    ("Ann One", ["Ann One"]),
    ("Ann One and Bob Two", ["Ann One", "Bob Two"]),
    ("Ann One, Bob Two, and Cy Three", ["Ann One", "Bob Two", "Cy Three"]),
    ("Ann One (MIT, USA), Bob Two (ETH)", ["Ann One", "Bob Two"]),
    ("", []),
])
def test_split_authors(text, names):
    assert [a.name for a in oai_pmh.split_authors(text)] == names


def test_parse_refuses_billion_laughs():
    with pytest.raises(FetchError, match="forbidden XML"):
        oai_pmh.parse(fixture_bytes("billion_laughs.xml"))


@pytest.mark.parametrize("options, name", [
    (dict(set_spec="cs", from_day=date(2025, 1, 1), until_day=date(2025, 1, 9)), HARVEST),
    (dict(set_spec=None, from_day=None, until_day=None), "oai:*::"),
    (dict(set_spec="physics:hep-th", from_day=date(2025, 1, 1), until_day=None, metadata_prefix="arXivRaw"),
     "oai:physics:hep-th:2025-01-01::arXivRaw"),
])
def test_harvest_name(options, name):
    assert oai_pmh.harvest_name(**options) == name


# --- fetching over HTTP --------------------------------------------------------

def harvest(upstream, clock, *, token=None):
    return oai_pmh.fetch(
        base_url=upstream.url + "/oai", set_spec="cs", from_day=date(2025, 1, 1),
        until_day=date(2025, 1, 9), resumption_token=token, pacing=clock.pacing(), retry=FAST_RETRY,
    )


def test_fetch_follows_resumption_tokens_sent_alone(upstream, clock):
    upstream.script(
        page("oai_arxiv_page1.xml"),
        Reply(b"<html>busy</html>", 503, {"Retry-After": "20"}),
        page("oai_arxiv_page2.xml"),
        page("oai_arxiv_page3.xml"),
    )
    batches = list(harvest(upstream, clock))
    assert [p.arxiv_id for b in batches for p in b.papers] == ALL_PAPERS
    assert [b.checkpoint for b in batches] == [
        (HARVEST, "6960524|3"), (HARVEST, "6960524|6"), (HARVEST, None)]
    assert upstream.params() == [
        {"verb": "ListRecords", "metadataPrefix": "arXiv", "set": "cs",
         "from": "2025-01-01", "until": "2025-01-09"},
        {"verb": "ListRecords", "resumptionToken": "6960524|3"},
        {"verb": "ListRecords", "resumptionToken": "6960524|3"},
        {"verb": "ListRecords", "resumptionToken": "6960524|6"},
    ]
    assert 20.0 in clock.sleeps
    arrivals = [r.at for r in upstream.requests]
    assert all(later - earlier >= 3.0 for earlier, later in zip(arrivals, arrivals[1:]))


def test_fetch_no_records_yields_one_empty_final_batch(upstream, clock):
    upstream.script(page("oai_no_records.xml"))
    batches = list(harvest(upstream, clock))
    assert len(batches) == 1 and batches[0].papers == [] and batches[0].checkpoint == (HARVEST, None)


def test_fetch_rejects_unknown_metadata_format(upstream, clock):
    with pytest.raises(ValueError, match="marc21.*arXiv, arXivRaw, oai_dc"):
        list(oai_pmh.fetch(base_url=upstream.url, metadata_prefix="marc21", pacing=clock.pacing()))


def test_killed_harvest_resumes_from_checkpoint_without_loss_or_duplicates(upstream, clock, store):
    upstream.script(
        page("oai_arxiv_page1.xml"),
        page("oai_arxiv_page2.xml"),
        *[Reply(b"internal error", 500)] * FAST_RETRY.attempts,  # the harvest dies on page 3
    )
    with pytest.raises(FetchError, match="failed 3 times"):
        ingest.run(store, harvest(upstream, clock), source="oai_pmh")
    assert store.get_checkpoint(HARVEST) == "6960524|6"
    assert sorted(store.get_papers(ALL_PAPERS)) == sorted(ALL_PAPERS[:4])

    upstream.requests.clear()
    upstream.script(page("oai_arxiv_page3.xml"))
    report = ingest.run(store, harvest(upstream, clock, token=store.get_checkpoint(HARVEST)),
                        source="oai_pmh")
    assert upstream.params() == [{"verb": "ListRecords", "resumptionToken": "6960524|6"}]
    assert report.new_count == 2
    stored = [p.arxiv_id for p in store.iter_papers()]
    assert sorted(stored) == sorted(ALL_PAPERS)  # each exactly once
    assert store.get_checkpoint(HARVEST) is None


def test_rerun_of_a_stored_page_changes_nothing(upstream, clock, store):
    upstream.script(page("oai_arxiv_page3.xml"), page("oai_arxiv_page3.xml"))
    ingest.run(store, harvest(upstream, clock, token="6960524|6"), source="oai_pmh")
    report = ingest.run(store, harvest(upstream, clock, token="6960524|6"), source="oai_pmh")
    assert (report.new_count, report.updated_count, report.unchanged_count) == (0, 0, 2)


def test_deleted_record_removes_a_stored_paper(upstream, clock, store):
    upstream.script(page("oai_arxivraw.xml"))
    ingest.run(store, oai_pmh.fetch(base_url=upstream.url, metadata_prefix="arXivRaw",
                                    pacing=clock.pacing()), source="oai_pmh")
    deletion = fixture_bytes("oai_arxiv_page1.xml").replace(b"2412.99999", b"0704.0001")
    upstream.script(Reply(deletion), page("oai_arxiv_page2.xml"), page("oai_arxiv_page3.xml"))
    report = ingest.run(store, harvest(upstream, clock), source="oai_pmh")
    assert report.deleted_count == 1
    assert "0704.0001" not in store.get_papers(["0704.0001"])


def test_arxiv_record_without_updated_is_v1_and_with_it_is_of_unknown_version():
    papers = {p.arxiv_id: p for p in oai_pmh.parse(fixture_bytes("oai_arxiv_page1.xml")).papers}
    assert (papers["2501.00002"].version, papers["2501.00001"].version) == (1, 0)
    assert papers["2501.00001"].updated_at == utc(2025, 1, 8)


def test_arxiv_record_keeps_msc_class_apart_from_categories():
    paper = oai_pmh.parse(fixture_bytes("merge_oai_arxiv.xml")).papers[0]
    assert paper.categories == ("cs.AI", "cs.LG") and paper.subject_classes == ("94A29",)


def test_parse_oai_dc_record():
    paper = oai_pmh.parse(fixture_bytes("merge_oai_dc.xml")).papers[0]
    assert paper.arxiv_id == "2501.00042" and paper.title == "Answers to Everything: the Fifth Revision"
    assert [a.name for a in paper.authors] == ["Deep Thought", "Ford Prefect"]
    assert paper.abstract.startswith("We compute the answer") and paper.comments == "Fifth revision, 43 pages"
    assert (paper.categories, paper.subject_classes) == (("cs.AI", "cs.LG"), ("Improbability Studies",))
    assert (paper.published_at, paper.updated_at, paper.version) == (utc(2025, 1, 1), utc(2025, 1, 12), 0)
    assert paper.versions == (Version(1, utc(2025, 1, 1)),) and paper.doi == "10.1000/answer.42"


def test_parse_arxivraw_size_zero_latest_version_is_withdrawn():
    paper = oai_pmh.parse(fixture_bytes("oai_arxivraw_withdrawn.xml")).papers[0]
    assert paper.is_withdrawn and paper.version == 2
    assert not oai_pmh.parse(fixture_bytes("oai_arxivraw.xml")).papers[0].is_withdrawn


def test_bad_resumption_token_is_not_resumable():
    with pytest.raises(oai_pmh.BadResumptionToken) as caught:
        oai_pmh.parse(fixture_bytes("oai_bad_token.xml"))
    assert caught.value.resumes is False and "--restart" in str(caught.value)
