"""The arXiv API (Atom 1.0): build queries, page through results, parse entries into papers.

This module owns the API's wire format and its quirks (spurious empty pages,
the one-entry error feed); pacing and retries are `client`'s, merging is the
store's. API reference: https://info.arxiv.org/help/api/user-manual.html

Categories: a paper's `categories` are arXiv categories only (`cs.LG`, `hep-th`,
`physics.ed-ph`), primary first. The feed also lists MSC and ACM classes as
`category` terms (`03B70, 68Q99`, `F.4.1; F.4.m`); those become the paper's
`subject_classes` (see `taxonomy`), so category filters and counts mean one thing.

A page that stays empty where `totalResults` promises more is an `EmptyPages`
error, raised after the pages before it are stored and checkpointed: the same
command asked again resumes at that page.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator
from urllib.parse import quote_plus, urlencode
from xml.etree.ElementTree import Element

import httpx

from paperwire.papers import (
    Author, Paper, Version, is_withdrawal_comment, parse_arxiv_id, parse_time,
)
from paperwire.sources import Batch, FetchError, Skipped, schema, taxonomy
from paperwire.sources.client import RETRY, Pacing, Retry, get, open_client
from paperwire.sources.safexml import parse_xml

log = logging.getLogger(__name__)

SOURCE = "arxiv_api"
PAGE_SIZE = 100
MAX_PAGE_SIZE = 2_000  # the API's largest slice
MAX_RESULTS = 30_000  # the API serves no further into one query's results
EMPTY_PAGE_RETRIES = 3  # the API sometimes answers an empty page by mistake

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"

SORT_BY = ("relevance", "lastUpdatedDate", "submittedDate")
SORT_ORDER = ("ascending", "descending")
_FIELD_PREFIX = re.compile(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all):")


class EmptyPages(FetchError):
    """A page stayed empty on every try although `totalResults` promised more papers."""


@dataclass(frozen=True)
class Query:
    """What to ask the API for; the parts given are combined with AND.

    `terms` without a field prefix means every word anywhere (`all:`); with one
    (`ti:transformer AND au:smith`) it is passed on as written.
    """

    categories: tuple[str, ...] = ()
    submitted_from: date | None = None
    submitted_until: date | None = None
    ids: tuple[str, ...] = ()
    terms: str | None = None
    sort_by: str = "submittedDate"
    sort_order: str = "descending"


def build_params(query: Query, *, start: int = 0, max_results: int = PAGE_SIZE) -> dict[str, str]:
    """The request parameters for one page of `query`; raises ValueError for a query
    that asks for nothing or names an unknown sort."""
    if query.sort_by not in SORT_BY or query.sort_order not in SORT_ORDER:
        raise ValueError(
            f"sort {query.sort_by!r} {query.sort_order!r} is not supported; "
            f"use one of {', '.join(SORT_BY)} and ascending or descending"
        )
    parts = []
    if query.categories:
        cats = " OR ".join(f"cat:{c}" for c in query.categories)
        parts.append(f"({cats})" if len(query.categories) > 1 else cats)
    if query.submitted_from or query.submitted_until:
        low = query.submitted_from.strftime("%Y%m%d0000") if query.submitted_from else "000001010000"
        high = query.submitted_until.strftime("%Y%m%d2359") if query.submitted_until else "999912312359"
        parts.append(f"submittedDate:[{low} TO {high}]")
    if query.terms and query.terms.strip():
        terms = query.terms.strip()
        parts.append(
            f"({terms})" if _FIELD_PREFIX.search(terms)
            else " AND ".join(f"all:{word}" for word in terms.split())
        )
    if not parts and not query.ids:
        raise ValueError("an arXiv query needs categories, dates, ids or search terms")
    params = {}
    if parts:
        params["search_query"] = " AND ".join(parts)
    if query.ids:
        params["id_list"] = ",".join(query.ids)
    params.update(
        start=str(start), max_results=str(max_results),
        sortBy=query.sort_by, sortOrder=query.sort_order,
    )
    return params


def query_url(base_url: str, params: dict[str, str]) -> str:
    # The API documents spaces as '+'; keep the query syntax characters readable.
    return f"{base_url}?{urlencode(params, quote_via=quote_plus, safe=':,[]()')}"


def parse(data: bytes) -> Batch:
    """The papers of one Atom page, with `total_count` = opensearch:totalResults. Each
    paper passes `schema.check`; an entry that does not is skipped alone.

    Raises FetchError for the API's error feed or for a document that is not XML.
    """
    feed = parse_xml(data, what="arXiv API response")
    entries = feed.findall(f"{ATOM}entry")
    _raise_for_error_feed(entries)
    batch = Batch(total_count=_int(feed.findtext(f"{OPENSEARCH}totalResults")))
    for entry in entries:
        try:
            batch.papers.append(schema.check(parse_entry(entry)))
        except ValueError as error:  # InvalidRecord and InvalidArxivId are ValueErrors
            entry_id = (entry.findtext(f"{ATOM}id") or "").strip() or "entry without id"
            batch.skipped.append(Skipped(entry_id, str(error)))
    return batch


def parse_entry(entry: Element) -> Paper:
    """One Atom entry as a paper; raises ValueError when the id, title or dates are unusable."""
    arxiv_id, version = parse_arxiv_id(entry.findtext(f"{ATOM}id") or "")
    title = _text(entry, f"{ATOM}title")
    if not title:
        raise ValueError(f"{arxiv_id} has no title")
    published_at = parse_time(_text(entry, f"{ATOM}published"))
    updated_at = parse_time(_text(entry, f"{ATOM}updated")) or published_at
    version = version or 1
    versions = (Version(1, published_at),)
    if version > 1:  # the API names only v1's date and the latest version's
        versions += (Version(version, updated_at),)
    primary = entry.find(f"{ARXIV}primary_category")
    primary_category = primary.get("term") if primary is not None else None
    categories, subject_classes = taxonomy.split_classes(
        primary_category, (c.get("term") or "" for c in entry.findall(f"{ATOM}category"))
    )
    comments = _text(entry, f"{ARXIV}comment")
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=_text(entry, f"{ATOM}summary") or "",
        authors=tuple(
            Author(
                _text(author, f"{ATOM}name") or "",
                tuple(a.text.strip() for a in author.findall(f"{ARXIV}affiliation") if a.text),
            )
            for author in entry.findall(f"{ATOM}author")
        ),
        version=version,
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=published_at,
        updated_at=updated_at,
        doi=_text(entry, f"{ARXIV}doi") or _doi_from_links(entry),
        journal_ref=_text(entry, f"{ARXIV}journal_ref"),
        comments=comments,
        versions=versions,
        source=SOURCE,
        is_withdrawn=is_withdrawal_comment(comments),
    )


def checkpoint_name(query: Query) -> str:
    """The checkpoint name of `query`'s run, e.g. `arxiv:cat:cs.LO|submittedDate descending`;
    its value is the offset of the first result not yet stored."""
    params = build_params(query)
    return "arxiv:" + "|".join(
        value for value in (params.get("search_query"), params.get("id_list"),
                            f"{query.sort_by} {query.sort_order}") if value
    )


def fetch(
    query: Query,
    *,
    base_url: str,
    pacing: Pacing,
    max_results: int | None = None,
    start: int = 0,
    page_size: int = PAGE_SIZE,
    retry: Retry = RETRY,
    client: httpx.Client | None = None,
) -> Iterator[Batch]:
    """Yield one Batch per page of `query`, from result `start` (a saved checkpoint), until
    the results, `max_results` or the API's 30,000 limit run out. Each batch's checkpoint
    is the next offset, None on the last page. Raises EmptyPages when a page stays empty
    short of `totalResults`, and FetchError when a page cannot be read."""
    page_size = min(page_size, MAX_PAGE_SIZE, max_results or MAX_PAGE_SIZE)
    limit = min(max_results or MAX_RESULTS, MAX_RESULTS)
    name = checkpoint_name(query)
    own_client = client is None
    client = client or open_client()
    try:
        total, resumed = None, start > 0
        while start < (limit if total is None else min(limit, total)):
            size = min(page_size, limit - start)
            batch = _read_page(client, base_url, query, start=start, size=size,
                               pacing=pacing, retry=retry)
            count = len(batch.papers) + len(batch.skipped)
            if count == 0:
                # An empty page's own totalResults is often the API's spurious 0: what
                # earlier pages promised stands.
                _raise_if_short(batch.total_count if total is None else total, start=start, limit=limit)
                if resumed:  # the saved offset is past the end now: clear it
                    yield Batch(checkpoint=(name, None))
                break
            if batch.total_count is not None:
                total = batch.total_count
                batch.total_count = min(batch.total_count, limit)
            start += count
            done = start >= (limit if total is None else min(limit, total))
            batch.checkpoint = (name, None if done else str(start))
            yield batch
        if total is not None and total > MAX_RESULTS and limit == MAX_RESULTS:
            log.warning("query matched %d papers but the arXiv API serves only the first %d; "
                        "narrow it by dates or categories", total, MAX_RESULTS)
    finally:
        if own_client:
            client.close()


def _raise_if_short(total: int | None, *, start: int, limit: int) -> None:
    """An empty page is the end only when totalResults says so; otherwise papers are
    missing and the run must not pass for complete (issue #8)."""
    expected = min(limit, total or 0)
    if start < expected:
        raise EmptyPages(
            f"the arXiv API answered an empty page at start={start} {EMPTY_PAGE_RETRIES + 1} times "
            f"although totalResults={total}; {expected - start} papers were not read, "
            "try again later"
        )


def _read_page(client, base_url, query, *, start, size, pacing, retry) -> Batch:
    """One page, asked again up to EMPTY_PAGE_RETRIES times while it is empty: fetch only
    asks for pages it expects to hold results, so an empty one is the API's mistake
    until it repeats itself."""
    url = query_url(base_url, build_params(query, start=start, max_results=size))
    for attempt in range(1, EMPTY_PAGE_RETRIES + 2):
        # A bad query gets 400 with an error feed; parse() turns that into its message.
        response = get(client, url, pacing=pacing, retry=retry, accept=frozenset({400}))
        try:
            batch = parse(response.content)
        except FetchError as error:
            raise FetchError(f"GET {url} answered {response.status_code}: {error}") from None
        if response.status_code != 200:
            raise FetchError(f"GET {url} answered {response.status_code} without an error message")
        if batch.papers or batch.skipped or attempt > EMPTY_PAGE_RETRIES:
            break
        log.warning("GET %s: empty page (totalResults=%s) where results were expected; "
                    "asking again (%d/%d)", url, batch.total_count, attempt, EMPTY_PAGE_RETRIES)
    return batch


def _raise_for_error_feed(entries: list[Element]) -> None:
    if len(entries) == 1 and (entries[0].findtext(f"{ATOM}title") or "").strip() == "Error":
        message = " ".join((entries[0].findtext(f"{ATOM}summary") or "unknown error").split())
        raise FetchError(f"the arXiv API rejected the query: {message}; check the ids and query syntax")


def _doi_from_links(entry: Element) -> str | None:
    for link in entry.findall(f"{ATOM}link"):
        href = link.get("href") or ""
        if link.get("title") == "doi" and "doi.org/" in href:
            return href.split("doi.org/", 1)[1]
    return None


def _text(element: Element, path: str) -> str | None:
    """The stripped text at `path`, or None when absent or blank; inner wrapping is kept."""
    value = element.findtext(path)
    return value.strip() or None if value is not None else None


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
