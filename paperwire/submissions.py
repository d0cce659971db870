"""Submissions: a signed-in reader puts a recent paper on today's community list.

This module owns the rule: what a submission may name (an arXiv id or URL,
`papers.parse_arxiv_id`), that an unknown paper is first fetched from arXiv (the
caller passes `fetch`, so tests use a loopback server and the app the real API),
and that only recent papers may be submitted (`window_days`, set by
PAPERWIRE_SUBMIT_WINDOW_DAYS): the list is for what is new, not for reviving old
favourites. The outcome is a value, never an exception; the store keeps the row
(store/community.py) and the web layer shows the message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Iterable

from paperwire import ingest
from paperwire.papers import InvalidArxivId, parse_arxiv_id
from paperwire.sources import Batch, FetchError, arxiv_api

log = logging.getLogger(__name__)

# What a submission can come to; "submitted" is the only one that changed anything.
OUTCOMES = ("submitted", "already-submitted", "invalid-id", "not-found", "too-old", "fetch-failed")


@dataclass(frozen=True)
class SubmitResult:
    """What became of a submission: `outcome` (one of OUTCOMES) and a sentence for the reader."""

    outcome: str
    message: str
    arxiv_id: str | None = None

    @property
    def is_submitted(self) -> bool:
        return self.outcome == "submitted"


def submit(
    store, text: str, *, user_id: int, now: datetime, window_days: int,
    fetch: Callable[[str], Iterable[Batch]],
) -> SubmitResult:
    """Put the paper `text` names on `now`'s day's community list for `user_id`, fetching
    it with `fetch(arxiv_id)` when the store does not have it yet."""
    try:
        arxiv_id, _ = parse_arxiv_id(text)
    except InvalidArxivId as error:
        return SubmitResult("invalid-id", str(error))
    paper = store.get_papers([arxiv_id]).get(arxiv_id)
    if paper is None:
        try:
            ingest.run(store, fetch(arxiv_id), source=arxiv_api.SOURCE)
        except FetchError as error:
            log.warning("submission of %s: fetching it failed: %s", arxiv_id, error)
            return SubmitResult("fetch-failed", f"arXiv could not be reached for {arxiv_id}; try again later",
                                arxiv_id)
        paper = store.get_papers([arxiv_id]).get(arxiv_id)
    if paper is None:
        return SubmitResult("not-found", f"arXiv has no paper {arxiv_id}; check the id", arxiv_id)
    if paper.published_at is None or paper.published_at < now - timedelta(days=window_days):
        return SubmitResult("too-old", f"{arxiv_id} was published more than {window_days} days ago; "
                            "only recent papers can be submitted", arxiv_id)
    if not store.submit(now.date(), arxiv_id, user_id, now=now):
        return SubmitResult("already-submitted", f"{arxiv_id} is on today's list already", arxiv_id)
    return SubmitResult("submitted", f"{arxiv_id} is on today's list", arxiv_id)
