"""The JSON endpoints: days, papers and status, in the shape the pages are built from."""

from __future__ import annotations

from datetime import date, datetime, timezone

from paperwire.papers import to_dict
from paperwire.feed import DailyEntry
from tests.conftest import make_paper

NOW = datetime(2025, 3, 3, 12, tzinfo=timezone.utc)


def seed(store):
    papers = [
        make_paper(arxiv_id="2503.00010", published_at=datetime(2025, 3, 3, 8, tzinfo=timezone.utc)),
        make_paper(arxiv_id="2503.00011", published_at=datetime(2025, 3, 3, 9, tzinfo=timezone.utc)),
        make_paper(arxiv_id="hep-th/9901001", published_at=datetime(2025, 3, 1, 9, tzinfo=timezone.utc)),
    ]
    store.upsert_papers(papers, source="test")
    store.upsert_daily_entries([DailyEntry(day=date(2025, 3, 3), arxiv_id="2503.00010", upvote_count=5,
                                           seen_at=NOW)])
    return {p.arxiv_id: store.get_paper(p.arxiv_id) for p in papers}


def test_day(client, store):
    papers = seed(store)
    body = client.get("/api/days/2025-03-03").json()
    assert {k: v for k, v in body.items() if k != "items"} == {
        "ok": True, "day": "2025-03-03", "page": 1, "page_count": 1, "paper_count": 2,
        "listed_count": 1, "previous_day": "2025-03-01", "next_day": None,
    }
    assert [item["paper"] for item in body["items"]] == [
        to_dict(papers["2503.00010"]), to_dict(papers["2503.00011"]),
    ]
    assert body["items"][0]["daily_entry"]["upvote_count"] == 5
    assert body["items"][0]["daily_entry"]["seen_at"] == "2025-03-03T12:00:00+00:00"
    assert body["items"][1]["daily_entry"] is None


def test_latest_day_is_the_newest(client, store):
    seed(store)
    assert client.get("/api/days/latest").json()["day"] == "2025-03-03"


def test_latest_day_of_an_empty_store_is_not_found(client):
    response = client.get("/api/days/latest")
    assert response.status_code == 404
    assert response.json() == {
        "ok": False, "status": 404,
        "error": "the store has no papers yet; bring some in with paperwire ingest",
    }


def test_paper_with_its_daily_entries(client, store):
    papers = seed(store)
    body = client.get("/api/papers/2503.00010").json()
    assert body["ok"] is True
    assert body["paper"] == to_dict(papers["2503.00010"])
    assert [(e["day"], e["upvote_count"]) for e in body["daily_entries"]] == [("2025-03-03", 5)]


def test_old_style_and_versioned_ids(client, store):
    seed(store)
    assert client.get("/api/papers/hep-th/9901001").json()["paper"]["arxiv_id"] == "hep-th/9901001"
    assert client.get("/api/papers/2503.00010v3").json()["paper"]["arxiv_id"] == "2503.00010"


def test_status(client, store):
    seed(store)
    run_id = store.start_job_run("harvest arxiv_api", now=NOW)
    store.finish_job_run(run_id, status="failed", summary="GET x answered 503", now=NOW)
    body = client.get("/api/status").json()
    assert body["ok"] is True
    assert body["stats"]["paper_count"] == 3
    assert body["stats"]["last_day"] == "2025-03-03"
    assert body["harvest"]["is_enabled"] is False and body["harvest"]["next_run_at"] is None
    assert body["job_runs"] == [{
        "job": "harvest arxiv_api", "started_at": NOW.isoformat(), "finished_at": NOW.isoformat(),
        "status": "failed", "summary": "GET x answered 503", "id": run_id,
    }]
