"""The JSON API under /api: the same domain calls as the pages, as data.

Every answer is an object with `ok`; an error is `{"ok": false, "error": "...",
"status": 404}` with the same HTTP status, built by `error` (the app's error
handler calls it for every /api/ address). Papers are `papers.to_dict`.
"""

from __future__ import annotations

import dataclasses

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from paperwire.jobs.runner import Job, JobState
from paperwire.papers import to_dict
from paperwire.search.service import hit_to_dict, results_to_dict
from paperwire.feed import DailyEntry
from paperwire.store import JobRun
from paperwire.web import params
from paperwire.web.pages import (
    SEARCH_PAGE_SIZE, SIMILAR_COUNT, STATUS_RUN_COUNT, background_jobs, day_feed, harvest_state, run_search,
)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status)


def day(request: Request) -> JSONResponse:
    """`/api/days/YYYY-MM-DD` or `/api/days/latest`, with `?page=`."""
    wanted = latest_or_day(request)
    return JSONResponse(day_to_dict(day_feed(request, wanted)))


def latest_or_day(request: Request):
    """The day the path names (YYYY-MM-DD, or `latest`: the newest day with papers);
    raises HTTPException(404) for anything else, or for `latest` in an empty store."""
    text = request.path_params["day"]
    if text != "latest":
        return params.day(text)
    found = request.app.state.store.latest_day()
    if found is None:
        raise HTTPException(404, "the store has no papers yet; bring some in with paperwire ingest")
    return found


def day_to_dict(page) -> dict:
    """A page of a day (feed.DayFeed) as the API's JSON."""
    return {
        "ok": True,
        "day": page.day.isoformat(),
        "page": page.page,
        "page_count": page.page_count,
        "paper_count": page.paper_count,
        "listed_count": page.listed_count,
        "previous_day": _iso(page.previous_day),
        "next_day": _iso(page.next_day),
        "items": [
            {"paper": to_dict(item.paper), "daily_entry": _entry(item.entry)} for item in page.items
        ],
    }


def paper(request: Request) -> JSONResponse:
    """`/api/papers/<arxiv_id>`: the paper and its daily-list entries."""
    store = request.app.state.store
    arxiv_id = params.arxiv_id(request.path_params["arxiv_id"])
    found = store.get_paper(arxiv_id)  # NotFound becomes a 404 answer
    return JSONResponse({
        "ok": True,
        "paper": to_dict(found),
        "daily_entries": [_entry(e) for e in store.daily_entries_for(arxiv_id)],
    })


def search(request: Request) -> JSONResponse:
    """`/api/search?q=&mode=&sort=&cat=&from=&until=&has_code=&page=`: what /search shows, as data."""
    form = params.search_form(request)
    data = results_to_dict(run_search(request, form))
    return JSONResponse({**data, "q": form.text, "page": form.page, "page_size": SEARCH_PAGE_SIZE})


def similar(request: Request) -> JSONResponse:
    """`/api/papers/<arxiv_id>/similar`: papers like it, nearest first."""
    arxiv_id = params.arxiv_id(request.path_params["arxiv_id"])
    hits = request.app.state.search.similar(request.app.state.store, arxiv_id, k=SIMILAR_COUNT)
    return JSONResponse({"ok": True, "arxiv_id": arxiv_id, "hits": [hit_to_dict(hit) for hit in hits]})


def status(request: Request) -> JSONResponse:
    """`/api/status`: store counts, the harvest schedule, this process's background jobs and
    recent job runs."""
    store = request.app.state.store
    settings = request.app.state.settings
    harvest = harvest_state(request)
    stats = dataclasses.asdict(store.stats())
    stats.update(first_day=_iso(stats["first_day"]), last_day=_iso(stats["last_day"]))
    return JSONResponse({
        "ok": True,
        "stats": stats,
        "harvest": {
            "is_enabled": harvest is not None,
            "interval_minutes": settings.harvest_interval_minutes,
            "categories": settings.categories,
            "is_hf_daily_enabled": settings.harvest_hf_daily,
            "next_run_at": _iso(harvest.next_run_at) if harvest else None,
        },
        "jobs": [_job(job, state) for job, state in background_jobs(request)],
        "job_runs": [_job_run(r) for r in store.recent_job_runs(limit=STATUS_RUN_COUNT)],
        "search_index": {**dataclasses.asdict(request.app.state.search.state),
                         "is_building": request.app.state.search.state.is_building},
    })


def _entry(entry: DailyEntry | None) -> dict | None:
    if entry is None:
        return None
    data = dataclasses.asdict(entry)
    data.update(day=entry.day.isoformat(), seen_at=_iso(entry.seen_at))
    return data


def _job(job: Job, state: JobState) -> dict:
    return {
        "name": job.name, "is_shared": job.is_shared, "poll_seconds": job.poll_seconds,
        "looked_at": _iso(state.looked_at), "ran_at": _iso(state.ran_at), "summary": state.summary,
        "next_run_at": _iso(state.next_run_at),
    }


def _job_run(run: JobRun) -> dict:
    data = dataclasses.asdict(run)
    data.update(started_at=_iso(run.started_at), finished_at=_iso(run.finished_at))
    return data


def _iso(value) -> str | None:
    return value.isoformat() if value else None
