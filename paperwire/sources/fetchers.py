"""Fetchers built from settings: the one place that turns Settings into source calls.

The CLI's `ingest` commands and the background harvest both read upstream
services; this module gives each source its endpoint and pacing from the
settings, so the rules (arXiv's interval, Hugging Face's gentler one) live
once. What a source fetches and how is still its own module's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable, Iterator

from paperwire.config import Settings
from paperwire.sources import Batch, arxiv_api, hf_daily, oai_pmh
from paperwire.sources.client import Pacing


def arxiv_pacing(settings: Settings) -> Pacing:
    """arXiv's terms ask for one request every 3 s (PAPERWIRE_REQUEST_INTERVAL_SECONDS)."""
    return Pacing(settings.request_interval_seconds)


def hf_pacing(settings: Settings) -> Pacing:
    """Hugging Face asks less than arXiv; an interval set below HF's own (0 for a local
    mirror, as in tests) applies to it too."""
    return Pacing(min(hf_daily.REQUEST_INTERVAL_SECONDS, settings.request_interval_seconds))


def arxiv(settings: Settings, query: arxiv_api.Query, *, max_results: int | None = None) -> Iterator[Batch]:
    """Pages of an arXiv API query (see arxiv_api.fetch)."""
    return arxiv_api.fetch(query, base_url=settings.arxiv_api_url, max_results=max_results,
                           pacing=arxiv_pacing(settings))


def oai(settings: Settings, **harvest) -> Iterator[Batch]:
    """Pages of an OAI-PMH harvest; `harvest` takes oai_pmh.fetch's set, days, format and token."""
    return oai_pmh.fetch(base_url=settings.oai_pmh_url, pacing=arxiv_pacing(settings), **harvest)


def hf(settings: Settings, days: Iterable[date], *, now: datetime | None = None) -> Iterator[Batch]:
    """Pages of the Hugging Face daily lists of `days` (see hf_daily.fetch)."""
    return hf_daily.fetch(days, base_url=settings.hf_url, now=now, pacing=hf_pacing(settings))
