"""Importing through HTTP: a BibTeX file with matched, unmatched and malformed entries, an
id list whose unknown arXiv id is fetched from a loopback arXiv API serving the recorded
answer, the report page, fixing a miss by naming the paper, and the limits."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from paperwire import config
from paperwire.library import imports
from paperwire.papers import Author
from paperwire.web.app import create_app
from tests.conftest import make_paper
from tests.sources.conftest import Reply, clock, fixture_bytes, upstream  # noqa: F401 (fixtures)
from tests.web.test_accounts import add_user, log_in, token_of
from tests.web.test_error_shape import assert_html_error

BIBTEX = b"""
@article{vaswani2017, title={Attention Is All You Need}, author={Vaswani, Ashish and Shazeer, Noam},
  eprint={1706.03762v5}, archivePrefix={arXiv}}
@inproceedings{devlin2019, title={{BERT}: Pre-training of Deep Bidirectional Transformers for Language
  Understanding}, author={Devlin, Jacob and Chang, Ming-Wei}, year={2019}}
@misc{doi-only, title={Something}, doi={https://doi.org/10.1023/A:1026654312961}}
@misc{nowhere, title={A Paper Nobody Has Written}, author={Nobody, Ada}}
@article{broken, title={Unbalanced {braces}
"""


@pytest.fixture
def client(sqlite_url, store, upstream, tmp_path):  # noqa: F811 (the imported fixture)
    store.upsert_papers([
        make_paper(arxiv_id="1706.03762", title="Attention Is All You Need",
                   authors=(Author("Ashish Vaswani"), Author("Noam Shazeer"))),
        make_paper(arxiv_id="1810.04805", title="BERT: Pre-training of Deep Bidirectional Transformers for "
                   "Language Understanding", authors=(Author("Jacob Devlin"), Author("Ming-Wei Chang"))),
        make_paper(arxiv_id="hep-th/9711200", title="The Large N Limit of Superconformal Field Theories",
                   doi="10.1023/A:1026654312961", authors=(Author("Juan Maldacena"),)),
        make_paper(arxiv_id="2503.00009", title="A Paper Nobody Has Written, Really"),
    ], source="test")
    settings = config.load({}, database_url=sqlite_url, harvest_enabled="false", embed_enabled="false",
                           arxiv_api_url=upstream.url + "/api/query", request_interval_seconds="0",
                           model_cache_dir=str(tmp_path / "cache"))
    add_user(store, "ada")
    client = TestClient(create_app(settings, store=store), follow_redirects=False)
    log_in(client, "ada")
    return client


def upload(client, name: str, data: bytes, **fields):
    token = token_of(client.get("/library"))
    return client.post("/library/import", data={"csrf_token": token, **fields}, files={"file": (name, data)})


def test_a_bibtex_import_reports_matched_missing_and_malformed_and_a_miss_is_fixed(client, store, upstream):  # noqa: F811
    response = upload(client, "refs.bib", BIBTEX)
    assert response.status_code == 303
    report_path = response.headers["location"]
    assert re.fullmatch(r"/library/import/\d+", report_path)
    ada = store.user_by_name("ada").id
    assert set(store.saved_ids(ada)) == {"1706.03762", "1810.04805", "hep-th/9711200"}
    assert upstream.requests == []  # no entry named an unknown arXiv id
    page = client.get(report_path).text
    assert "3 matched and saved into" in page and "1 not found" in page and "1 malformed" in page
    assert re.search(r"<strong>vaswani2017</strong> → .*by arxiv id", page)
    assert re.search(r"<strong>devlin2019</strong> → .*by title \(\d+%\)", page)
    assert re.search(r"<strong>doi-only</strong> → .*by doi", page)
    assert "<strong>nowhere</strong>: A Paper Nobody Has Written" in page
    assert re.search(r"<strong>line \d+</strong>: ", page)  # the broken entry, with its reason
    assert 'href="/search?q=A%20Paper%20Nobody%20Has%20Written"' in page
    # fix the miss by naming the paper
    token = token_of(client.get(report_path))
    bad = client.post(report_path + "/fix", data={"csrf_token": token, "key": "nowhere", "paper": "not an id"})
    assert_html_error(bad, 400, "arXiv id")
    fixed = client.post(report_path + "/fix", data={"csrf_token": token, "key": "nowhere",
                                                    "paper": "https://arxiv.org/abs/2503.00009v2"})
    assert fixed.status_code == 303
    assert "2503.00009" in store.saved_ids(ada)
    page = client.get(report_path).text
    assert "0 not found" in page and re.search(r"<strong>nowhere</strong> → .*by picked", page)
    again = client.post(report_path + "/fix", data={"csrf_token": token, "key": "nowhere", "paper": "2503.00009"})
    assert_html_error(again, 404, "no entry")


def test_an_unknown_arxiv_id_is_fetched_from_arxiv(client, store, upstream):  # noqa: F811
    upstream.script(Reply(fixture_bytes("arxiv_api_by_id.xml")))
    response = upload(client, "ids.txt", b"arXiv:2501.00005v1\n10.1023/a:1026654312961\n# a comment\nnonsense\n")
    assert upstream.params()[0]["id_list"] == "2501.00005"
    page = client.get(response.headers["location"]).text
    assert "2 matched" in page and "0 not found" in page and "1 malformed" in page
    assert "The Last Placeholder" in page and "looked up on arXiv" in page
    assert "2501.00005" in store.saved_ids(store.user_by_name("ada").id)


def test_arxiv_down_leaves_the_entry_to_fix(client, store, upstream):  # noqa: F811
    upstream.script(*[Reply(status=503, headers={"Retry-After": "0"})] * 5)
    page = client.get(upload(client, "ids.txt", b"2501.00005\n").headers["location"]).text
    assert "0 matched" in page and "1 not found" in page


def test_an_unreadable_file_imports_nothing_and_says_why(client, store):
    assert_html_error(upload(client, "refs.json", b'{"not": "a list"}'), 400, "not a list")
    assert_html_error(upload(client, "refs.bib", b"\xff\xfe\x00"), 400, "not UTF-8")
    token = token_of(client.get("/library"))
    assert_html_error(client.post("/library/import", data={"csrf_token": token}), 400, "choose a file")
    assert_html_error(upload(client, "refs.bib", BIBTEX, collection="nope"), 404, "no such collection")
    big = b"x" * (imports.MAX_FILE_BYTES + 1)
    assert_html_error(upload(client, "big.txt", big), 400, "at most")
    too_big = b"x" * (imports.MAX_FILE_BYTES + 200_000)
    assert upload(client, "big.txt", too_big).status_code == 413
    assert store.saved_ids(store.user_by_name("ada").id) == []


def test_another_users_report_is_not_found(client, store):
    path = upload(client, "refs.bib", BIBTEX).headers["location"]
    client.cookies.clear()
    add_user(store, "bob")
    log_in(client, "bob")
    assert_html_error(client.get(path), 404, "no import")
    assert_html_error(client.get("/library/import/abc"), 404, "no import")
