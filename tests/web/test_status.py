"""The status page: the harvest schedule, recent job runs with failures in plain view, the store."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.conftest import make_paper

NOW = datetime(2025, 3, 3, 12, tzinfo=timezone.utc)


def record(store, job: str, status: str, summary: str, *, at: datetime) -> None:
    run_id = store.start_job_run(job, now=at)
    store.finish_job_run(run_id, status=status, summary=summary, now=at + timedelta(seconds=75))


def test_failed_run_is_in_plain_view(client, store):
    store.upsert_papers([make_paper()], source="test")
    record(store, "harvest arxiv_api", "ok", "3 new, 0 updated", at=NOW - timedelta(hours=6))
    record(store, "harvest arxiv_api", "failed", "GET https://export.arxiv.org/api/query answered 503",
           at=NOW)
    html = client.get("/status").text
    assert ('<p class="alert">The last <strong>harvest arxiv_api</strong> run failed '
            "(2025-03-03 12:00 UTC): GET https://export.arxiv.org/api/query answered 503</p>") in html
    assert '<span class="badge failed">failed</span>' in html
    assert '<span class="badge ok">ok</span>' in html and "3 new, 0 updated" in html
    assert "1 min 15 s" in html
    assert "<dt>Papers</dt><dd>1</dd>" in html


def test_failure_followed_by_success_is_no_alert(client, store):
    record(store, "harvest hf_daily", "failed", "boom", at=NOW - timedelta(hours=6))
    record(store, "harvest hf_daily", "ok", "1 new", at=NOW)
    html = client.get("/status").text
    assert 'class="alert"' not in html
    assert '<span class="badge failed">failed</span>' in html


def test_harvest_off_is_said(client):
    html = client.get("/status").text
    assert "Off: this server was started with <code>--no-harvest</code>" in html
    assert "No job has run yet." in html
