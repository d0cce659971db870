"""Fuzzing every source parser (issue #15): whatever a JSONL line, an Atom page, an
OAI-PMH page (arXiv, arXivRaw, oai_dc) or a Hugging Face page holds, the parser
raises nothing but its documented FetchError (for a whole page), accounts for every
record, skips a bad one with a reason a person can read, and every paper and daily
entry it returns passes the schema unchanged."""

from __future__ import annotations

import gzip
import io
import json
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from hypothesis import given, strategies as st

from paperwire.papers import to_dict
from paperwire.sources import FetchError, arxiv_api, files, hf_daily, oai_pmh, schema
from tests.conftest import make_paper

from .conftest import fuzz
from .strategies import NASTY, json_values, records, xml_text

DATA = Path(__file__).parent.parent / "data"
# Words of Python's own messages: a reason that holds one leaked an internal error.
INTERNALS = ("object has no attribute", "NoneType", "not subscriptable", "unpack", "invalid literal",
             "unexpected keyword", "Traceback", "not iterable", "unhashable")


def assert_sound(batch) -> None:
    for paper in batch.papers:
        assert schema.check(paper) == paper
    for entry in batch.daily_entries:
        assert schema.check_entry(entry) == entry
    for skipped in batch.skipped:
        assert skipped.reason and not any(word in skipped.reason for word in INTERNALS), skipped
        assert skipped.record_id.isprintable() and skipped.reason.isprintable()
        assert len(skipped.record_id) <= 101 and len(skipped.reason) <= 301


# --- JSONL files: our export, plain JSONL, the arXiv snapshot ------------------------

OWN = json.loads(json.dumps(to_dict(make_paper())))
PLAIN = {"id": "2501.00001v2", "title": "t", "abstract": "a", "summary": "s", "authors": ["A B"],
         "categories": ["cs.LG"], "published": "2025-01-02", "updated": "2025-01-03T04:05:06Z",
         "comment": "c", "comments": "c", "doi": "10.1/x", "journal_ref": "j", "license": "l"}
SNAPSHOT = json.loads((DATA / "papers_snapshot.jsonl").read_text().splitlines()[0])
line_records = st.one_of(records(list(OWN), OWN), records(list(PLAIN), PLAIN),
                         records(list(SNAPSHOT), SNAPSHOT), json_values)


def _encoded(record, how: int) -> bytes:
    if how == 0:
        return json.dumps(record).encode()
    # raw UTF-8, where a lone surrogate becomes bytes that are not UTF-8
    return json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogatepass")


lines = st.lists(
    st.one_of(st.builds(_encoded, line_records, st.integers(0, 1)), st.binary(max_size=40),
              st.sampled_from([b"[" * 5000, b'{"id": "2501.00001"', b"{}", b"null", b"  "])),
    max_size=6,
)


@fuzz(1)
@given(lines)
def test_file_lines_never_raise_and_every_paper_passes_the_schema(chunk):
    batch = files.parse_lines(chunk, origin="fuzz.jsonl")
    assert len(batch.papers) + len(batch.skipped) == sum(1 for line in chunk if line.strip())
    assert_sound(batch)


@fuzz(0.3)
@given(st.lists(st.builds(_encoded, line_records, st.just(0)), max_size=8),
       st.sampled_from(["plain", "gzip", "cut gzip"]), st.integers(1, 4), st.floats(0, 1))
def test_file_fetch_raises_only_fetch_errors_and_keeps_every_readable_line(chunk, shape, chunk_lines, cut):
    content = b"\n".join(chunk)
    if shape != "plain":
        content = gzip.compress(content)
    if shape == "cut gzip":
        content = content[: int(len(content) * cut)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "fuzz.jsonl")
        path.write_bytes(content)
        batches = []
        try:
            for batch in files.fetch([path], chunk_lines=chunk_lines):
                batches.append(batch)
        except FetchError as error:
            assert "cannot read" in str(error) or "is a paper record" in str(error)
    for batch in batches:
        assert len(batch.papers) + len(batch.skipped) <= chunk_lines
        assert_sound(batch)
    if shape == "plain":
        assert sum(len(b.papers) + len(b.skipped) for b in batches) == sum(1 for line in chunk if line.strip())


@fuzz(1)
@given(st.binary(max_size=300), st.integers(1, 5))
def test_file_reader_loses_no_byte_and_keeps_chunks_bounded(content, chunk_lines):
    chunks = list(files._chunks(io.BytesIO(content), chunk_lines=chunk_lines, first_line=1))
    assert all(fault is None and 0 < len(lines) <= chunk_lines for lines, fault in chunks)
    assert b"".join(line for lines, _ in chunks for line in lines) == content


# --- the arXiv API's Atom ----------------------------------------------------------

ATOM_FIELDS = ["id", "updated", "published", "title", "summary", "doi", "comment", "journal_ref", "primary",
               "categories", "authors"]
ATOM_BASE = {"id": "http://arxiv.org/abs/2501.00001v2", "updated": "2025-01-08T10:00:00Z",
             "published": "2025-01-01T18:00:00Z", "title": "T", "summary": "S", "doi": "10.1/x", "comment": "c",
             "journal_ref": "j", "primary": "cs.LG", "categories": ["cs.LG", "68T05"], "authors": ["A B"]}
ARXIV_NS = 'xmlns:arxiv="http://arxiv.org/schemas/atom"'


def _element(tag: str, value) -> str:
    return "" if value is None else f"<{tag}>{escape(str(value))}</{tag}>"


def atom_entry(fields: dict) -> str:
    def listed(name: str) -> list:
        return fields[name] if isinstance(fields.get(name), list) else [fields.get(name)]

    return "".join([
        "<entry>",
        *(_element(tag, fields.get(tag)) for tag in ("id", "updated", "published", "title", "summary")),
        *(f"<author>{_element('name', name)}</author>" for name in listed("authors")),
        *(f"<category term={quoteattr(str(term))}/>" for term in listed("categories") if term is not None),
        f"<arxiv:primary_category {ARXIV_NS} term={quoteattr(str(fields.get('primary')))}/>",
        *(f"<arxiv:{tag} {ARXIV_NS}>{escape(str(fields[tag]))}</arxiv:{tag}>"
          for tag in ("doi", "comment", "journal_ref") if fields.get(tag) is not None),
        "</entry>",
    ])


atom_values = st.one_of(st.none(), xml_text, st.lists(xml_text, max_size=3))
atom_entries = st.dictionaries(st.sampled_from(ATOM_FIELDS), atom_values, max_size=4).map(
    lambda f: {**ATOM_BASE, **f})


@fuzz(1)
@given(st.lists(atom_entries, max_size=4))
def test_atom_pages_never_raise_and_every_paper_passes_the_schema(entries):
    page = ('<feed xmlns="http://www.w3.org/2005/Atom">' + "".join(map(atom_entry, entries)) + "</feed>")
    try:
        batch = arxiv_api.parse(page.encode())
    except FetchError as error:  # the API's one-entry error feed
        assert len(entries) == 1 and "rejected the query" in str(error)
        return
    assert len(batch.papers) + len(batch.skipped) == len(entries)
    assert_sound(batch)


# --- OAI-PMH: arXiv, arXivRaw, oai_dc ------------------------------------------------

OAI_FIELDS = ["id", "created", "updated", "title", "abstract", "categories", "comments", "doi", "license",
              "authors", "version", "date", "size", "creator", "subject", "description", "identifier"]
OAI_BASE = {"id": "2501.00001", "created": "2025-01-01", "updated": "2025-01-08", "title": "T", "abstract": "A",
            "categories": "cs.LG stat.ML", "comments": "c", "doi": "10.1/x", "license": "l", "authors": "A B and C D",
            "version": "v1", "date": "Mon, 2 Apr 2007 19:18:42 GMT", "size": "10kb", "creator": "Last, First",
            "subject": "Computer Science - Machine Learning", "description": "A",
            "identifier": "http://arxiv.org/abs/2501.00001"}
FORMATS = {
    "arXiv": ('<arXiv xmlns="http://arxiv.org/OAI/arXiv/">', "</arXiv>"),
    "arXivRaw": ('<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/">', "</arXivRaw>"),
    "oai_dc": ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
               'xmlns:dc="http://purl.org/dc/elements/1.1/">', "</oai_dc:dc>"),
}


def oai_record(form: str, fields: dict, deleted: bool) -> str:
    value = fields.get
    if form == "arXiv":
        body = "".join(_element(tag, value(tag)) for tag in
                       ("id", "created", "updated", "title", "abstract", "categories", "comments", "doi", "license"))
        body += f"<authors><author>{_element('keyname', value('authors'))}{_element('forenames', value('title'))}" \
                "</author></authors>"
    elif form == "arXivRaw":
        body = "".join(_element(tag, value(tag)) for tag in ("id", "title", "abstract", "categories", "authors"))
        body += f"<version version={quoteattr(str(value('version')))}>{_element('date', value('date'))}" \
                f"{_element('size', value('size'))}</version>"
    else:
        body = "".join(_element(f"dc:{tag}", value(tag)) for tag in
                       ("title", "creator", "subject", "description", "identifier"))
        body += _element("dc:date", value("created")) + _element("dc:date", value("updated"))
    start, end = FORMATS[form]
    status = ' status="deleted"' if deleted else ""
    identifier = escape(f"oai:arXiv.org:{value('id')}")
    return (f"<record><header{status}><identifier>{identifier}</identifier></header>"
            f"<metadata>{start}{body}{end}</metadata></record>")


oai_records = st.builds(
    oai_record, st.sampled_from(list(FORMATS)),
    st.dictionaries(st.sampled_from(OAI_FIELDS), st.one_of(st.none(), xml_text), max_size=4).map(
        lambda f: {**OAI_BASE, **f}),
    st.booleans(),
)


@fuzz(1)
@given(st.lists(oai_records, max_size=4), st.one_of(st.none(), xml_text))
def test_oai_pages_never_raise_and_every_paper_passes_the_schema(records_, token):
    resumption = "" if token is None else f"<resumptionToken>{escape(token)}</resumptionToken>"
    page = ('<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>'
            + "".join(records_) + resumption + "</ListRecords></OAI-PMH>")
    batch = oai_pmh.parse(page.encode())
    assert len(batch.papers) + len(batch.skipped) + len(batch.deleted) == len(records_)
    assert_sound(batch)


# --- any XML fixture, mutated byte by byte ---------------------------------------------

XML_FIXTURES = sorted(p.name for p in DATA.glob("*.xml"))
mutations = st.lists(st.tuples(st.floats(0, 1), st.integers(0, 8),
                               st.sampled_from([b"", b"<", b">", b"&", b"&amp;", b"\xff", b"\x00", b"]]>",
                                                b"v99999999999999999999", b"0001-01-01T00:00:00+01:00",
                                                b"<entry>", b"</record>", b"<record>", "\u202e".encode()])),
                     min_size=1, max_size=4)


@fuzz(1)
@given(st.sampled_from(XML_FIXTURES), mutations)
def test_mutated_xml_pages_raise_only_fetch_errors(name, edits):
    page = (DATA / name).read_bytes()
    for at, cut, insert in edits:
        position = int(at * len(page))
        page = page[:position] + insert + page[position + cut:]
    parse = arxiv_api.parse if name.startswith(("arxiv", "merge_arxiv")) else oai_pmh.parse
    try:
        batch = parse(page)
    except FetchError:
        return
    assert_sound(batch)


# --- Hugging Face daily papers -----------------------------------------------------------

HF_ITEMS = json.loads((DATA / "hf_daily_2025-01-03_p0.json").read_text())
HF_PAPER = HF_ITEMS[0]["paper"]
hf_items = st.one_of(
    st.builds(lambda item, paper: {**item, "paper": paper},
              records(list(HF_ITEMS[0]), HF_ITEMS[0]), records(list(HF_PAPER), HF_PAPER)),
    json_values,
)


@fuzz(1)
@given(st.lists(hf_items, max_size=4), st.sampled_from([None, "2025-01-03"]))
def test_hf_pages_never_raise_and_every_record_passes_the_schema(items, day):
    from datetime import date

    batch = hf_daily.parse(json.dumps(items).encode(), day=date.fromisoformat(day) if day else None)
    assert len(batch.papers) + len(batch.skipped) == len(items) and len(batch.papers) == len(batch.daily_entries)
    assert_sound(batch)


@fuzz(0.5)
@given(st.one_of(json_values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=60),
                 st.sampled_from([s.encode("utf-8", "surrogatepass") for s in NASTY])))
def test_hf_any_page_is_a_batch_or_a_fetch_error(page):
    try:
        batch = hf_daily.parse(page)
    except FetchError as error:
        assert "Hugging Face daily papers page" in str(error)
        return
    assert_sound(batch)
