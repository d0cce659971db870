"""arXiv's OAI-PMH interface: harvest `ListRecords` page by page, resumably.

This module owns the protocol (https://www.openarchives.org/OAI/openarchivesprotocol.html)
and three metadata formats: arXiv's `arXiv` (the default; latest version only)
and `arXivRaw` (adds every version with its date and size), and `oai_dc`,
the Dublin Core format every OAI-PMH repository must offer (protocol section 3.4). Each page's Batch carries
its resumptionToken as a checkpoint, which `ingest.run` saves only after the
page is stored; a harvest started again from that token picks up where the
last one stopped. Pacing and retries (503 + Retry-After) are `client`'s.
"""

from __future__ import annotations

import bisect
import logging
import re
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Iterator
from xml.etree.ElementTree import Element

import httpx

from paperwire.papers import (
    Author, Paper, Version, is_withdrawal_comment, parse_arxiv_id, parse_time, parse_version,
)
from paperwire.sources import Batch, FetchError, Skipped, schema, taxonomy
from paperwire.sources.client import RETRY, Pacing, Retry, get, open_client
from paperwire.sources.safexml import parse_xml

log = logging.getLogger(__name__)

SOURCE = "oai_pmh"
OAI = "{http://www.openarchives.org/OAI/2.0/}"
ARXIV = "{http://arxiv.org/OAI/arXiv/}"
ARXIV_RAW = "{http://arxiv.org/OAI/arXivRaw/}"
OAI_DC = "{http://www.openarchives.org/OAI/2.0/oai_dc/}"
DC = "{http://purl.org/dc/elements/1.1/}"
METADATA_PREFIXES = ("arXiv", "arXivRaw", "oai_dc")
MAX_PAGES = 100_000  # a harvest that pages longer than this is looping on a token

# "A, B and C"; a separator inside parentheses (next parenthesis a closing one) belongs
# to an affiliation. Told apart by looking up the next parenthesis, not by a regex
# lookahead: that rescanned the rest of the string at every comma, so 8,000 authors
# took 10 s and a 1 MB author string hours (issue #15).
_AUTHOR_SEPARATOR = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
_PARENTHESIS = re.compile(r"[()]")
_AFFILIATION = re.compile(r"\s*\(([^()]*)\)\s*$")
_SIZE = re.compile(r"\s*(\d+)\s*kb\s*", re.IGNORECASE)


class BadResumptionToken(FetchError):
    """The repository refused the saved resumption token (it expires); only a fresh start helps."""

    resumes = False


def harvest_name(*, set_spec: str | None, from_day: date | None, until_day: date | None,
                 metadata_prefix: str = "arXiv") -> str:
    """The checkpoint name of one harvest, e.g. `oai:cs:2025-01-01:2025-01-31`."""
    name = f"oai:{set_spec or '*'}:{from_day or ''}:{until_day or ''}"
    return name if metadata_prefix == "arXiv" else f"{name}:{metadata_prefix}"


def parse(data: bytes, *, harvest: str = "oai") -> Batch:
    """The papers and deletions of one ListRecords page, each paper past `schema.check`
    (a record that fails is skipped alone). Its checkpoint is
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
        raise BadResumptionToken(
            f"OAI-PMH refused the saved resumption token ({message or code}); it has probably "
            "expired, so this harvest cannot resume: run the command again with --restart "
            "(pages stored so far are kept)")
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
        dublin_core = metadata.find(f"{OAI_DC}dc") if metadata is not None else None
        if arxiv is not None:
            batch.papers.append(schema.check(parse_arxiv(arxiv)))
        elif raw is not None:
            batch.papers.append(schema.check(parse_arxiv_raw(raw)))
        elif dublin_core is not None:
            batch.papers.append(schema.check(parse_oai_dc(dublin_core, identifier=identifier)))
        else:
            batch.skipped.append(Skipped(identifier or "record without identifier",
                                         "no arXiv, arXivRaw or oai_dc metadata"))
    except ValueError as error:  # InvalidRecord and InvalidArxivId are ValueErrors
        batch.skipped.append(Skipped(identifier or "record without identifier", str(error)))


def parse_arxiv(element: Element) -> Paper:
    """An `arXiv`-format record; raises ValueError for unusable fields.

    The format names no version number. `created` is v1's date and `updated` the
    latest version's, present only once there is a second version; so a record
    without `updated` is v1, and one with it is of unknown version dated `updated`.
    """
    ns = ARXIV
    arxiv_id, version = parse_arxiv_id(_text(element, f"{ns}id") or "")
    created_at = parse_time(_text(element, f"{ns}created"))
    updated_at = parse_time(_text(element, f"{ns}updated"))
    categories, subject_classes = _classes(element, ns)
    comments = _text(element, f"{ns}comments")
    return Paper(
        arxiv_id=arxiv_id,
        title=_required(element, f"{ns}title", arxiv_id),
        abstract=_text(element, f"{ns}abstract") or "",
        authors=tuple(_author(a) for a in element.iterfind(f"{ns}authors/{ns}author")),
        version=version or (0 if updated_at else 1),
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=created_at,
        updated_at=updated_at or created_at,
        doi=_text(element, f"{ns}doi"),
        journal_ref=_text(element, f"{ns}journal-ref"),
        comments=comments,
        license=_text(element, f"{ns}license"),
        versions=(Version(1, created_at),) if created_at else (),
        source=SOURCE,
        is_withdrawn=is_withdrawal_comment(comments),
    )


def parse_arxiv_raw(element: Element) -> Paper:
    """An `arXivRaw` record, with its full version history; raises ValueError for unusable fields.

    A latest version of size 0 is a withdrawal: arXiv withdraws a paper by
    announcing a new version without a file (https://info.arxiv.org/help/withdraw.html).
    """
    ns = ARXIV_RAW
    arxiv_id, _ = parse_arxiv_id(_text(element, f"{ns}id") or "")
    sized = sorted(
        (
            (parse_version(v.get("version") or ""), parse_rfc2822(v.findtext(f"{ns}date")),
             v.findtext(f"{ns}size"))
            for v in element.iterfind(f"{ns}version")
        ),
        key=lambda v: v[0],
    )
    versions = tuple(Version(number, at) for number, at, _ in sized)
    categories, subject_classes = _classes(element, ns)
    comments = _text(element, f"{ns}comments")
    empty_latest = bool(sized) and _is_empty_size(sized[-1][2])
    return Paper(
        arxiv_id=arxiv_id,
        title=_required(element, f"{ns}title", arxiv_id),
        abstract=_text(element, f"{ns}abstract") or "",
        authors=split_authors(_text(element, f"{ns}authors") or ""),
        version=versions[-1].number if versions else 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=versions[0].submitted_at if versions else None,
        updated_at=versions[-1].submitted_at if versions else None,
        doi=_text(element, f"{ns}doi"),
        journal_ref=_text(element, f"{ns}journal-ref"),
        comments=comments,
        license=_text(element, f"{ns}license"),
        versions=versions,
        source=SOURCE,
        is_withdrawn=empty_latest or is_withdrawal_comment(comments),
    )


def parse_oai_dc(element: Element, *, identifier: str = "") -> Paper:
    """An `oai_dc` (Dublin Core) record; raises ValueError for unusable fields.

    Dublin Core says less than arXiv's formats: `dc:creator` is "Last, First",
    `dc:subject` names categories in words (mapped back through the taxonomy,
    unknown names kept as subject classes), the first `dc:description` is the
    abstract and one starting "Comment:" the comments, `dc:date` lists each
    version's day (the first is v1, the last the text's), and `dc:identifier`
    holds the abs URL, DOI and journal reference.
    """
    links = _texts(element, f"{DC}identifier")
    abs_url = next((v for v in links if "arxiv.org/abs/" in v), identifier)
    arxiv_id, version = parse_arxiv_id(abs_url)
    descriptions = _texts(element, f"{DC}description")
    comments = next((d.removeprefix("Comment:").strip() for d in descriptions if d.startswith("Comment:")), None)
    abstract = next((d for d in descriptions if not d.startswith("Comment:")), "")
    days = sorted(parse_time(d) for d in _texts(element, f"{DC}date"))
    subjects = _texts(element, f"{DC}subject")
    named = [taxonomy.category_of_subject(s) or s for s in subjects]
    categories, subject_classes = taxonomy.split_classes(None, named)
    dois = [v.removeprefix("doi:").strip() for v in links if v.lower().startswith("doi:")]
    return Paper(
        arxiv_id=arxiv_id,
        title=_required(element, f"{DC}title", arxiv_id),
        abstract=abstract,
        authors=tuple(Author(_name_first(c)) for c in _texts(element, f"{DC}creator")),
        version=version or (1 if len(days) == 1 else 0),
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=days[0] if days else None,
        updated_at=days[-1] if days else None,
        doi=dois[0] if dois else None,
        comments=comments,
        versions=(Version(1, days[0]),) if days else (),
        source=SOURCE,
        is_withdrawn=is_withdrawal_comment(comments),
    )


def _classes(element: Element, ns: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(categories, subject classes) of an arXiv or arXivRaw record: `categories` is
    space-separated, primary first; `msc-class` and `acm-class` are other schemes."""
    terms = (_text(element, f"{ns}categories") or "").split()
    extra = [_text(element, f"{ns}msc-class") or "", _text(element, f"{ns}acm-class") or ""]
    return taxonomy.split_classes(terms[0] if terms else None, [*terms, *extra])


def _is_empty_size(size: str | None) -> bool:
    match = _SIZE.fullmatch(size or "")
    return bool(match) and int(match.group(1)) == 0


def _name_first(creator: str) -> str:
    """Dublin Core's "Last, First" as "First Last"; a name without a comma stays as it is."""
    last, comma, first = creator.partition(",")
    return f"{first.strip()} {last.strip()}".strip() if comma else creator.strip()


def _texts(element: Element, path: str) -> list[str]:
    return [t.strip() for t in (e.text or "" for e in element.iterfind(path)) if t.strip()]


def split_authors(text: str) -> tuple[Author, ...]:
    """Authors from arXiv's one-string form, `A. One (MIT, USA), B. Two and C. Three`."""
    authors = []
    for part in _split_outside_parentheses(" ".join(text.split())):
        match = _AFFILIATION.search(part)
        name = part[: match.start()] if match else part
        if name.strip():
            authors.append(Author(name.strip(), (match.group(1).strip(),) if match else ()))
    return tuple(authors)


def _split_outside_parentheses(text: str) -> list[str]:
    """`text` split at each author separator whose next parenthesis is not a closing one."""
    parentheses = [(m.start(), m.group()) for m in _PARENTHESIS.finditer(text)]
    starts = [start for start, _ in parentheses]
    parts, begin = [], 0
    for separator in _AUTHOR_SEPARATOR.finditer(text):
        following = bisect.bisect_left(starts, separator.end())
        if following < len(parentheses) and parentheses[following][1] == ")":
            continue
        parts.append(text[begin:separator.start()])
        begin = separator.end()
    parts.append(text[begin:])
    return parts


def parse_rfc2822(text: str | None) -> datetime | None:
    """`Mon, 2 Apr 2007 19:18:42 GMT` as an aware UTC datetime; raises ValueError if unreadable."""
    if not text or not text.strip():
        return None
    try:
        parsed = parsedate_to_datetime(text.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except (TypeError, ValueError, OverflowError, IndexError):  # each is some malformed date
        shown = repr(text) if len(text) <= 60 else repr(text[:60]) + "…"
        raise ValueError(f"{shown} is not an RFC 2822 date such as 'Mon, 2 Apr 2007 19:18:42 GMT'") from None


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
