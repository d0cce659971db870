"""Hugging Face Daily Papers: the community's daily list, as papers plus daily entries.

`GET /api/daily_papers?date=YYYY-MM-DD&p=N&limit=100` answers a JSON array of
items, each wrapping a `paper`. This module turns an item into a `Paper` (what
HF knows of the arXiv paper, with code and project links) and a `DailyEntry`
(its place on that day's list: upvotes, comments, submitter, organisation,
GitHub stars). A `withdrawnAt` time marks the paper withdrawn. The list day is
the day we asked for, or `submittedOnDailyAt` when parsing without one; never
the arXiv date (hub-docs#2065). HF does not say which arXiv version it read,
so its papers have version 0 and only fill what arXiv sources leave empty.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Iterable, Iterator

import httpx

from paperwire.papers import Author, InvalidArxivId, Paper, parse_arxiv_id, parse_time
from paperwire.periods import days_between  # noqa: F401 -- hf_daily.days_between: the days a fetch asks for
from paperwire.sources import Batch, FetchError, Skipped, schema
from paperwire.sources.client import RETRY, Pacing, Retry, get, open_client
from paperwire.feed import DailyEntry
from paperwire.sources.schema import InvalidRecord

log = logging.getLogger(__name__)

SOURCE = "hf_daily"
PATH = "/api/daily_papers"
PAGE_SIZE = 100  # the API's largest `limit`
MAX_PAGES_PER_DAY = 50  # a day's list is a few dozen papers; more means a paging loop
REQUEST_INTERVAL_SECONDS = 1.0  # HF allows about 500 requests per 5 minutes


def parse(data: bytes, *, day: date | None = None, seen_at: datetime | None = None) -> Batch:
    """Papers and daily entries of one page, each past `schema.check`/`check_entry`. `day`
    is the list day asked for (else each item's `submittedOnDailyAt`). An item that is
    unusable is skipped alone; raises FetchError when the page is not a JSON array."""
    try:
        items = json.loads(data)
    except (ValueError, RecursionError) as error:  # RecursionError: brackets nested past the limit
        raise FetchError(f"the Hugging Face daily papers page is not JSON ({type(error).__name__}: "
                         f"{str(error)[:200]})") from None
    if not isinstance(items, list):
        raise FetchError(f"the Hugging Face daily papers page is {schema.kind(items)}, "
                         "not a JSON array; check PAPERWIRE_HF_URL")
    batch = Batch()
    for position, item in enumerate(items, 1):
        try:
            paper_record, entry = parse_item(item, day=day, seen_at=seen_at)
        except ValueError as error:  # InvalidRecord and InvalidArxivId are ValueErrors
            batch.skipped.append(Skipped(_item_id(item) or f"item {position}", str(error)))
            continue
        batch.papers.append(paper_record)
        batch.daily_entries.append(entry)
    return batch


def parse_item(item: object, *, day: date | None = None,
               seen_at: datetime | None = None) -> tuple[Paper, DailyEntry]:
    """One list item as (paper, daily entry); raises InvalidRecord when it has no arXiv id,
    no title or no list day, or breaks the schema."""
    paper = item.get("paper") if isinstance(item, dict) else None
    if not isinstance(paper, dict):
        raise InvalidRecord("item has no paper object")
    raw_id = paper.get("id")
    try:
        arxiv_id, _ = parse_arxiv_id(raw_id if isinstance(raw_id, str) else "")
    except InvalidArxivId:
        raise InvalidRecord(f"paper id {schema.shown(raw_id)} is not an arXiv id") from None
    title = (schema.text(paper, "title") or schema.text(item, "title") or "").strip()
    if not title:
        raise InvalidRecord(f"{arxiv_id} has no title")
    listed_at = _time(paper, "submittedOnDailyAt")
    list_day = day or (listed_at.date() if listed_at else None)
    if list_day is None:
        raise InvalidRecord(f"{arxiv_id} has no submittedOnDailyAt and no day was asked for")
    record = Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=(schema.text(paper, "summary") or schema.text(item, "summary") or "").strip(),
        authors=tuple(
            Author(name.strip()) for name in (
                schema.text(a, "name") for a in schema.objects(paper, "authors")
            ) if name and name.strip()
        ),
        version=0,
        published_at=_time(paper, "publishedAt"),
        code_url=schema.text(paper, "githubRepo"),
        project_url=schema.text(paper, "projectPage"),
        source=SOURCE,
        is_withdrawn=bool(paper.get("withdrawnAt")),
    )
    organization = paper.get("organization") or item.get("organization") or {}
    if not isinstance(organization, dict):
        organization = {}
    entry = DailyEntry(
        day=list_day,
        arxiv_id=arxiv_id,
        source=SOURCE,
        upvote_count=schema.integer(paper, "upvotes") or 0,
        comment_count=schema.integer(item, "numComments") or 0,
        submitted_by=_user(paper.get("submittedOnDailyBy")) or _user(item.get("submittedBy")),
        organization=schema.text(organization, "name"),
        organization_name=schema.text(organization, "fullname"),
        github_repo=schema.text(paper, "githubRepo"),
        github_star_count=schema.integer(paper, "githubStars"),
        project_url=schema.text(paper, "projectPage"),
        thumbnail_url=schema.text(item, "thumbnail"),
        ai_summary=schema.text(paper, "ai_summary"),
        seen_at=seen_at,
    )
    return schema.check(record), schema.check_entry(entry)


def fetch(
    days: Iterable[date],
    *,
    base_url: str,
    pacing: Pacing,
    now: datetime | None = None,
    page_size: int = PAGE_SIZE,
    retry: Retry = RETRY,
    client: httpx.Client | None = None,
) -> Iterator[Batch]:
    """Yield one Batch per page of each day's list. A page leads to the next through
    its `Link: rel="next"` header, or, without one, while pages come back full.
    Raises FetchError when a page cannot be read."""
    own_client = client is None
    client = client or open_client()
    try:
        for day in days:
            yield from _fetch_day(client, day, base_url=base_url, pacing=pacing, now=now,
                                  page_size=page_size, retry=retry)
    finally:
        if own_client:
            client.close()


def _fetch_day(client, day, *, base_url, pacing, now, page_size, retry) -> Iterator[Batch]:
    url = base_url.rstrip("/") + PATH
    params: dict | None = {"date": day.isoformat(), "p": "0", "limit": str(page_size)}
    for page in range(MAX_PAGES_PER_DAY):
        response = get(client, url, params=params, pacing=pacing, retry=retry)
        batch = parse(response.content, day=day, seen_at=now)
        count = len(batch.papers) + len(batch.skipped)
        if count == 0:  # past the end of the list
            return
        yield batch
        next_url = response.links.get("next", {}).get("url")
        if next_url:
            url, params = str(response.url.join(next_url)), None
        elif count >= page_size:
            url = base_url.rstrip("/") + PATH
            params = {"date": day.isoformat(), "p": str(page + 1), "limit": str(page_size)}
        else:
            return
    log.warning("daily papers for %s still had pages after %d; stopped there", day, MAX_PAGES_PER_DAY)


def _user(value: object) -> str | None:
    """A user's handle: `user` inside a paper, `name` in an item's `submittedBy`."""
    return (schema.text(value, "user") or schema.text(value, "name")) if isinstance(value, dict) else None


def _item_id(item: object) -> str | None:
    paper = item.get("paper") if isinstance(item, dict) else None
    value = paper.get("id") if isinstance(paper, dict) else None
    return value if isinstance(value, str) and value.strip() else None


def _time(record: dict, name: str) -> datetime | None:
    value = schema.text(record, name)
    try:
        if value and len(value) > 40:  # no ISO time is longer; don't parse megabytes
            raise ValueError("too long")
        return parse_time(value)
    except ValueError as error:
        raise InvalidRecord(f"{name} {schema.shown(value)} is not an ISO time ({error})") from None
