"""arXiv's OAI-PMH interface: harvest `ListRecords` page by page, resumably.

This module owns the protocol (https://www.openarchives.org/OAI/openarchivesprotocol.html)
and arXiv's two metadata formats: `arXiv` (the default; latest version only)
and `arXivRaw` (adds every version with its date). Each page's Batch carries
its resumptionToken as a checkpoint, which `ingest.run` saves only after the
page is stored; a harvest started again from that token picks up where the
last one stopped. Pacing and retries (503 + Retry-After) are `client`'s.
"""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Iterator
from xml.etree.ElementTree import Element

import httpx

from paperwire.papers import Author, InvalidArxivId, Paper, Version, parse_arxiv_id, parse_time
from paperwire.sources import Batch, FetchError, Skipped
from paperwire.sources.client import RETRY, Pacing, Retry, get, open_client
from paperwire.sources.safexml import parse_xml

log = logging.getLogger(__name__)

SOURCE = "oai_pmh"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"
METADATA_PREFIXES = ("arXiv", "arXivRaw")
MAX_PAGES = 100_000  # a harvest that pages longer than this is looping on a token

# "A, B and C"; commas inside parentheses belong to an affiliation.
_AUTHOR_SEPARATOR = re.compile(r",\s*(?:and\s+)?(?![^()]*\))|\s+and\s+(?![^()]*\))")
_AFFILIATION = re.compile(r"\s*\(([^()]*)\)\s*$")


def harvest_name(*, set_spec: str | None, from_day: date | None, until_day: date | None,
                 metadata_prefix: str = "arXiv") -> str:
    """The checkpoint name of one harvest, e.g. `oai:cs:2025-01-01:2025-01-31`."""
    name = f"oai:{set_spec or '*'}:{from_day or ''}:{until_day or ''}"
    return name if metadata_prefix == "arXiv" else f"{name}:{metadata_prefix}"


def parse(data: bytes, *, harvest: str = "oai") -> Batch:
    """The papers and deletions of one ListRecords page. Its checkpoint is
    (`harvest`, the resumptionToken), with None on the last page; `noRecordsMatch`
    is an empty last page. Raises FetchError for other OAI-PMH errors and bad XML."""
    root = parse_xml(data, what="OAI-PMH response")
    error = root.find(f"{OAI}error")
    if error is not None:
        return _error_batch(error, harvest)
    records = root.find(f"{OAI}ListRecords")
    if records is None:
        raise FetchError("the OAI-PMH response has neither ListRecords nor an error; "
                         "check that the URL is an OAI-PMH endpoint")
    batch = Batch()
    for record in records.iterfind(f"{OAI}record"):
        _add_record(batch, record)
    token = records.find(f"{OAI}resumptionToken")
    value = (token.text or "").strip() if token is not None else ""
    batch.checkpoint = (harvest, value or None)
    if token is not None and (token.get("completeListSize") or "").isdigit():
        batch.total_count = int(token.get("completeListSize"))
    return batch


def _error_batch(error: Element, harvest: str) -> Batch:
    code = error.get("code") or "unknown"
    message = " ".join((error.text or "").split())
    if code == "noRecordsMatch":
        return Batch(checkpoint=(harvest, None))
    if code == "badResumptionToken":
        raise FetchError(f"OAI-PMH refused the resumption token ({message or code}); it has "
                         "probably expired: start the harvest again with --restart")
    raise FetchError(f"OAI-PMH error {code}: {message or 'no message'}; check set, dates and format")


def _add_record(batch: Batch, record: Element) -> None:
    header = record.find(f"{OAI}header")
    identifier = (header.findtext(f"{OAI}identifier") or "").strip() if header is not None else ""
    identifier = identifier.removeprefix("oai:arXiv.org:")
    try:
        if header is not None and header.get("status") == "deleted":
            batch.deleted.append(parse_arxiv_id(identifier)[0])
            return
        metadata = record.find(f"{OAI}metadata")
        arxiv = metadata.find(f"{ARXIV}arXiv") if metadata is not None else None
        raw = metadata.find(f"{ARXIV_RAW}arXivRaw") if metadata is not None else None
        if arxiv is not None:
            batch.papers.append(parse_arxiv(arxiv))
        elif raw is not None:
            batch.papers.append(parse_arxiv_raw(raw))
        else:
            batch.skipped.append(Skipped(identifier or "record without identifier",
                                         "no arXiv or arXivRaw metadata"))
    except (ValueError, TypeError, InvalidArxivId) as error:
        batch.skipped.append(Skipped(identifier or "record without identifier", str(error)))


def parse_arxiv(element: Element) -> Paper:
    """An `arXiv`-format record. The format names no version number, so `version` is 0
    (unknown) and the history holds v1's date; raises ValueError for unusable fields."""
    ns = ARXIV
    arxiv_id, version = parse_arxiv_id(_text(element, f"{ns}id") or "")
    created_at = parse_time(_text(element, f"{ns}created"))
    categories = tuple((_text(element, f"{ns}categories") or "").split())
    return Paper(
        arxiv_id=arxiv_id,
        title=_required(element, f"{ns}title", arxiv_id),
        abstract=_text(element, f"{ns}abstract") or "",
        authors=tuple(_author(a) for a in element.iterfind(f"{ns}authors/{ns}author")),
        version=version or 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        published_at=created_at,
        updated_at=parse_time(_text(element, f"{ns}updated")) or created_at,
        doi=_text(element, f"{ns}doi"),
        journal_ref=_text(element, f"{ns}journal-ref"),
        comments=_text(element, f"{ns}comments"),
        license=_text(element, f"{ns}license"),
        versions=(Version(1, created_at),) if created_at else (),
        source=SOURCE,
    )


def parse_arxiv_raw(element: Element) -> Paper:
    """An `arXivRaw` record, with its full version history; raises ValueError for unusable fields."""
    ns = ARXIV_RAW
    arxiv_id, _ = parse_arxiv_id(_text(element, f"{ns}id") or "")
    versions = tuple(sorted(
        (
            Version(int((v.get("version") or "").lstrip("v")), parse_rfc2822(v.findtext(f"{ns}date")))
            for v in element.iterfind(f"{ns}version")
        ),
        key=lambda v: v.number,
    ))
    categories = tuple((_text(element, f"{ns}categories") or "").split())
    return Paper(
        arxiv_id=arxiv_id,
        title=_required(element, f"{ns}title", arxiv_id),
        abstract=_text(element, f"{ns}abstract") or "",
        authors=split_authors(_text(element, f"{ns}authors") or ""),
        version=versions[-1].number if versions else 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        published_at=versions[0].submitted_at if versions else None,
        updated_at=versions[-1].submitted_at if versions else None,
        doi=_text(element, f"{ns}doi"),
        journal_ref=_text(element, f"{ns}journal-ref"),
        comments=_text(element, f"{ns}comments"),
        license=_text(element, f"{ns}license"),
        versions=versions,
        source=SOURCE,
    )


def split_authors(text: str) -> tuple[Author, ...]:
    """Authors from arXiv's one-string form, `A. One (MIT, USA), B. Two and C. Three`."""
    authors = []
    for part in _AUTHOR_SEPARATOR.split(" ".join(text.split())):
        match = _AFFILIATION.search(part)
        name = part[: match.start()] if match else part
        if name.strip():
            authors.append(Author(name.strip(), (match.group(1).strip(),) if match else ()))
    return tuple(authors)


def parse_rfc2822(text: str | None) -> datetime | None:
    """`Mon, 2 Apr 2007 19:18:42 GMT` as an aware UTC datetime; raises ValueError if unreadable."""
    if not text or not text.strip():
        return None
    parsed = parsedate_to_datetime(text.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def fetch(
    *,
    base_url: str,
    pacing: Pacing,
    set_spec: str | None = None,
    from_day: date | None = None,
    until_day: date | None = None,
    metadata_prefix: str = "arXiv",
    resumption_token: str | None = None,
    retry: Retry = RETRY,
    client: httpx.Client | None = None,
) -> Iterator[Batch]:
    """Yield one Batch per ListRecords page, starting from `resumption_token` when given
    (a saved checkpoint). Raises FetchError when a page cannot be read."""
    if metadata_prefix not in METADATA_PREFIXES:
        raise ValueError(f"metadata format {metadata_prefix!r} is not supported; "
                         f"use one of {', '.join(METADATA_PREFIXES)}")
    name = harvest_name(set_spec=set_spec, from_day=from_day, until_day=until_day,
                        metadata_prefix=metadata_prefix)
    params = _first_params(set_spec, from_day, until_day, metadata_prefix)
    own_client = client is None
    client = client or open_client()
    try:
        token = resumption_token
        for _ in range(MAX_PAGES):
            # With a token the spec allows no other argument besides the verb (section 3.5).
            page_params = {"verb": "ListRecords", "resumptionToken": token} if token else params
            response = get(client, base_url, params=page_params, pacing=pacing, retry=retry)
            batch = parse(response.content, harvest=name)
            yield batch
            token = batch.checkpoint[1]
            if token is None:
                return
        raise FetchError(f"OAI-PMH harvest {name} did not finish within {MAX_PAGES} pages")
    finally:
        if own_client:
            client.close()


def _first_params(set_spec, from_day, until_day, metadata_prefix) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": metadata_prefix}
    if set_spec:
        params["set"] = set_spec
    if from_day:
        params["from"] = from_day.isoformat()
    if until_day:
        params["until"] = until_day.isoformat()
    return params


def _author(element: Element) -> Author:
    ns = ARXIV
    parts = (_text(element, f"{ns}forenames"), _text(element, f"{ns}keyname"),
             _text(element, f"{ns}suffix"))
    return Author(
        " ".join(p for p in parts if p),
        tuple(a.text.strip() for a in element.iterfind(f"{ns}affiliation") if a.text),
    )


def _required(element: Element, path: str, arxiv_id: str) -> str:
    value = _text(element, path)
    if not value:
        raise ValueError(f"{arxiv_id} has no {path.rsplit('}', 1)[-1]}")
    return value


def _text(element: Element, path: str) -> str | None:
    value = element.findtext(path)
    return value.strip() or None if value is not None else None
