"""Fetchers built from settings: the one place that turns Settings into source calls.

The CLI's `ingest` commands and the background harvest both read upstream
services; this module gives each source its endpoint and pacing from the
settings, so the rules (arXiv's interval, Hugging Face's gentler one) live
once, and keeps each host's pace across processes (a ledger file per host under
PAPERWIRE_CACHE_DIR/pacing). What a source fetches and how is still its own module's.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Iterable, Iterator

from paperwire.config import Settings
from paperwire.sources import Batch, arxiv_api, hf_daily, oai_pmh
from paperwire.sources.client import Pacing, ledger_path


PACING_FOLDER = "pacing"  # under PAPERWIRE_CACHE_DIR: one ledger file per upstream host


def arxiv_pacing(settings: Settings, url: str | None = None) -> Pacing:
    """arXiv's terms ask for one request every 3 s (PAPERWIRE_REQUEST_INTERVAL_SECONDS),
    kept across commands through a ledger for `url`'s host."""
    return _shared_pacing(settings, settings.request_interval_seconds, url or settings.arxiv_api_url)


def hf_pacing(settings: Settings) -> Pacing:
    """Hugging Face asks less than arXiv; an interval set below HF's own (0 for a local
    mirror, as in tests) applies to it too."""
    interval = min(hf_daily.REQUEST_INTERVAL_SECONDS, settings.request_interval_seconds)
    return _shared_pacing(settings, interval, settings.hf_url)


def _shared_pacing(settings: Settings, interval: float, url: str) -> Pacing:
    ledger = ledger_path(settings.cache_path / PACING_FOLDER, url)
    return Pacing(interval, clock=time.time, ledger=ledger)


def arxiv(settings: Settings, query: arxiv_api.Query, *, max_results: int | None = None,
          start: int = 0) -> Iterator[Batch]:
    """Pages of an arXiv API query from result `start` (see arxiv_api.fetch)."""
    return arxiv_api.fetch(query, base_url=settings.arxiv_api_url, max_results=max_results,
                           start=start, pacing=arxiv_pacing(settings))


def oai(settings: Settings, **harvest) -> Iterator[Batch]:
    """Pages of an OAI-PMH harvest; `harvest` takes oai_pmh.fetch's set, days, format and token."""
    return oai_pmh.fetch(base_url=settings.oai_pmh_url,
                         pacing=arxiv_pacing(settings, settings.oai_pmh_url), **harvest)


def hf(settings: Settings, days: Iterable[date], *, now: datetime | None = None) -> Iterator[Batch]:
    """Pages of the Hugging Face daily lists of `days` (see hf_daily.fetch)."""
    return hf_daily.fetch(days, base_url=settings.hf_url, now=now, pacing=hf_pacing(settings))
