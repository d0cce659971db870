"""The API v1 against its OpenAPI document, by schemathesis: requests generated from
the document, on a seeded store of each engine, must never answer 5xx nor break
the schema the document gives for their status."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from paperwire import config
from paperwire.papers import Author
from paperwire.search.service import SearchService
from paperwire.feed import DailyEntry
from paperwire.web import openapi
from paperwire.web.app import create_app
from tests.conftest import make_paper

# About 10 s of CPU for both engines (more on a busy machine): over the default run's
# budget, so `slow` (CI runs it; locally, --run-slow).
pytestmark = pytest.mark.slow

POSITIVE_EXAMPLES = 20  # requests the document allows, per operation and engine
FINDING_EXAMPLES = 10  # per set of parameters that find papers (FINDING)
NEGATIVE_EXAMPLES = 10  # requests it does not allow (bad types, out of range): 4xx, never 5xx
# Deterministic: the same requests every run, so a failure reproduces.
SETTINGS = dict(derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))


def seed(store) -> None:
    """Papers over three days (one old-style id, one without dates) and a daily list."""
    papers = [
        make_paper(arxiv_id=f"2503.000{n:02d}", title=f"Paper {n} on diffusion and attention",
                   published_at=datetime(2025, 3, 1 + n % 3, 8 + n, tzinfo=timezone.utc),
                   authors=(Author(f"Author {n}"), Author("Ada Lovelace")), code_url="https://github.com/x/y")
        for n in range(1, 10)
    ]
    papers += [make_paper(arxiv_id="hep-th/9901001", title="Strings", published_at=None, updated_at=None,
                          versions=(), categories=("hep-th",), primary_category="hep-th")]
    store.upsert_papers(papers, source="test")
    store.upsert_daily_entries([
        DailyEntry(day=date(2025, 3, 2), arxiv_id="2503.00001", upvote_count=7, github_star_count=3,
                   seen_at=datetime(2025, 3, 2, 12, tzinfo=timezone.utc)),
    ])
    ada = store.create_user(username="ada", email="ada@example.org", password_hash="x",
                            now=datetime(2025, 3, 2, tzinfo=timezone.utc))
    top = store.add_comment("2503.00001", ada.id, body="*hi*", body_html="<p><em>hi</em></p>", render_version=1,
                            now=datetime(2025, 3, 2, tzinfo=timezone.utc))
    store.add_comment("2503.00001", ada.id, body="yes", body_html="<p>yes</p>", render_version=1,
                      now=datetime(2025, 3, 2, 1, tzinfo=timezone.utc), parent_id=top.id)
    run_id = store.start_job_run("harvest arxiv_api", now=datetime(2025, 3, 2, tzinfo=timezone.utc))
    store.finish_job_run(run_id, status="ok", summary="3 new", now=datetime(2025, 3, 2, tzinfo=timezone.utc))


@pytest.fixture(params=["sqlite", "postgres"])
def api_schema(request):
    """The document, loaded from the app on a seeded store of each engine (tests/web's
    `store` is SQLite; `postgres_store` is tests/conftest.py's)."""
    store = request.getfixturevalue("postgres_store" if request.param == "postgres" else "store")
    seed(store)
    app_settings = config.load({}, database_url=store.url, harvest_enabled="false", embed_enabled="false")
    app = create_app(app_settings, store=store, search=SearchService(None))
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


# One test per operation, each run through hypothesis with @given: schemathesis'
# own pytest plugin (schemathesis.pytest.from_fixture) fails on pytest 9 (it reads
# the node's private _nodeid), and this is its documented use in plain tests.
# Every operation: those that need a token are called without one here and must answer
# their documented 401 in the error shape (tests/web/test_api_tokens.py holds the rest).
OPERATIONS = [(path, method) for path, operations in openapi.PATHS.items() for method in operations]
# Operations whose parameters have a type or range to break (a bare path string has none).
CONSTRAINED = {f"{openapi.PREFIX}/days/{{day}}", f"{openapi.PREFIX}/search", f"{openapi.PREFIX}/trending"}
# Random paths and words rarely hit a paper of the seed, so each operation also runs
# with parameters that find some (the rest still generated), or its 200 answers would go untested.
P = openapi.PREFIX
FINDING = {
    f"{P}/papers/{{arxiv_id}}": [{"path_parameters": {"arxiv_id": "2503.00001"}},
                                 {"path_parameters": {"arxiv_id": "hep-th/9901001"}}],
    f"{P}/papers/{{arxiv_id}}/similar": [{"path_parameters": {"arxiv_id": "2503.00002"}}],
    f"{P}/days/{{day}}": [{"path_parameters": {"day": "2025-03-02"}}, {"path_parameters": {"day": "latest"}}],
    f"{P}/search": [{"query": {"q": "diffusion"}}, {"query": {"q": "author:lovelace", "page": 1}}],
    f"{P}/status": [],
    f"{P}/digest/subscription": [],
    f"{P}/trending": [{"query": {"window": "day"}}, {"query": {"window": "month"}}],
    f"{P}/authors/{{name}}": [{"path_parameters": {"name": "Ada Lovelace"}}],
    f"{P}/papers/{{arxiv_id}}/comments": [{"path_parameters": {"arxiv_id": "2503.00001"}}],
}
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.mark.parametrize("path, method", OPERATIONS)
def test_api_v1_keeps_to_its_openapi_document(api_schema, path, method):
    operation = api_schema[path][method.upper()]

    @given(case=operation.as_strategy(GenerationMode.POSITIVE))
    @settings(max_examples=POSITIVE_EXAMPLES, **SETTINGS)
    def valid_requests(case):
        case.call_and_validate(checks=POSITIVE_CHECKS)

    @given(case=operation.as_strategy(GenerationMode.NEGATIVE))
    @settings(max_examples=NEGATIVE_EXAMPLES, **SETTINGS)
    def invalid_requests(case):
        case.call_and_validate(checks=NEGATIVE_CHECKS)

    valid_requests()
    for fixed in FINDING.get(path, []) if method == "get" else []:
        @given(case=operation.as_strategy(GenerationMode.POSITIVE, **fixed))
        @settings(max_examples=FINDING_EXAMPLES, **SETTINGS)
        def finding_requests(case):
            response = case.call_and_validate(checks=POSITIVE_CHECKS)
            assert response.status_code in (200, 400, 404), response.text

        finding_requests()
    if path in CONSTRAINED:
        invalid_requests()
