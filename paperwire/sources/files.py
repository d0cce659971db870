"""JSONL files of papers, plain or gzipped, read in chunks so memory stays flat.

Three shapes are recognised line by line:

- our own export (`papers.to_dict` output): has `arxiv_id`;
- the arXiv metadata snapshot (Kaggle, `arxiv-metadata-oai-snapshot.json`): has
  `authors_parsed` or a `versions` list, and `categories` as one string;
- plain JSONL with common names: `id`, `title`, `abstract` (or `summary`),
  `authors` (list of names), `categories` (list or string), `published`,
  and optional `updated`, `comment(s)`, `doi`, `journal_ref`, `license`.
  `abs_url`/`pdf_url` are not kept: a paper's links follow from its id.

In every shape, category strings that are not arXiv categories (MSC `94A29`,
ACM `I.2.7; I.2.6`, which crawled listings mix in) become subject classes.

A line that cannot be used becomes a `Skipped` with its id (or line number) and
the reason; the rest of the chunk is kept. This is the bulk path, so each line
costs one `json.loads` and dictionary look-ups; dates repeat a lot and are cached.
Re-reading a file the store has seen is cheaper still: given `seen`, `fetch`
hashes each raw line and parses only the lines the store does not know.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Sequence

from paperwire.export import DAILY_ENTRY_KIND
from paperwire.feed import entry_from_dict
from paperwire.papers import (
    Author, InvalidArxivId, Paper, Version, from_dict, is_withdrawal_comment, parse_arxiv_id, parse_time,
)
from paperwire.sources import Batch, FetchError, Skipped, taxonomy
from paperwire.sources.oai_pmh import parse_rfc2822, split_authors

SOURCE = "file"
CHUNK_LINES = 2_000
GZIP_MAGIC = b"\x1f\x8b"


def parse(data: bytes, *, origin: str = "", first_line: int = 1) -> Batch:
    """The papers in a chunk of JSONL; `origin` (a file name) and `first_line` only
    label skipped lines. Blank lines are ignored."""
    return parse_lines(data.splitlines(), origin=origin, first_line=first_line)


def parse_lines(
    lines: Sequence[bytes | str],
    *,
    origin: str = "",
    first_line: int = 1,
    record_hashes: Sequence[str] | None = None,
    known: frozenset[str] | set[str] = frozenset(),
) -> Batch:
    """Like `parse`, over lines already split. With `record_hashes` (one per line), a
    line whose hash is in `known` is counted unchanged without being parsed, and each
    parsed paper's hash goes into `batch.record_hashes`."""
    batch = Batch()
    papers, skipped = batch.papers, batch.skipped
    label = f"{origin} line " if origin else "line "
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        if record_hashes is not None and record_hashes[index] in known:
            batch.unchanged_count += 1
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            skipped.append(Skipped(f"{label}{first_line + index}", f"not JSON: {error}"))
            continue
        if isinstance(record, dict) and record.get("kind") == DAILY_ENTRY_KIND:
            _add_daily_entry(batch, record, f"{label}{first_line + index}")
            continue
        try:
            paper = parse_record(record)
        except (ValueError, KeyError, TypeError, AttributeError, InvalidArxivId) as error:
            record_id = record.get("arxiv_id") or record.get("id") if isinstance(record, dict) else None
            skipped.append(Skipped(str(record_id) if record_id else f"{label}{first_line + index}",
                                   _reason(error)))
            continue
        if "arxiv_id" in record:  # our own export: restore what it carries besides the paper
            hashes = record.get("record_hashes") or {}
            if not isinstance(hashes, dict):
                skipped.append(Skipped(paper.arxiv_id, f"record_hashes is a JSON {type(hashes).__name__}, "
                                                       "not an object of source: hash"))
                continue
            papers.append(paper)
            _restore(batch, paper, hashes, is_deleted=record.get("is_deleted") is True)
            continue
        papers.append(paper)
        if record_hashes is not None:
            batch.record_hashes[paper.arxiv_id] = record_hashes[index]
    return batch


def _restore(batch: Batch, paper: Paper, hashes: dict, *, is_deleted: bool) -> None:
    """An exported paper keeps its recorded source, what each source last sent for it,
    and whether it was deleted (export.py)."""
    batch.kept_sources[paper.arxiv_id] = paper.source
    batch.source_hashes.extend((paper.arxiv_id, str(s), str(h)) for s, h in sorted(hashes.items()))
    if hashes.get(paper.source):
        batch.record_hashes[paper.arxiv_id] = str(hashes[paper.source])
    if is_deleted:
        batch.deleted.append(paper.arxiv_id)


def _add_daily_entry(batch: Batch, record: dict, label: str) -> None:
    try:
        entry = entry_from_dict(record)
        entry = replace(entry, arxiv_id=parse_arxiv_id(entry.arxiv_id)[0])
    except (ValueError, KeyError, TypeError, InvalidArxivId) as error:
        batch.skipped.append(Skipped(str(record.get("arxiv_id") or label), f"daily entry: {_reason(error)}"))
        return
    batch.daily_entries.append(entry)


def record_hash(line: bytes | str) -> str:
    """The identity of one raw line: equal lines (ignoring surrounding blanks) hash equal."""
    data = line.strip()
    return hashlib.blake2b(data.encode() if isinstance(data, str) else data, digest_size=16).hexdigest()


def parse_record(record: dict) -> Paper:
    """One decoded line in whichever of the three shapes it has; raises ValueError,
    KeyError or TypeError when a required field is missing or unusable."""
    if not isinstance(record, dict):
        raise ValueError(f"a line holds a JSON {type(record).__name__}, not an object")
    if "arxiv_id" in record:
        return _own(record)
    if "authors_parsed" in record or isinstance(record.get("versions"), list):
        return _snapshot(record)
    return _plain(record)


def fetch(
    paths: Iterable[str | Path],
    *,
    chunk_lines: int = CHUNK_LINES,
    seen: Callable[[list[str]], set[str]] | None = None,
) -> Iterator[Batch]:
    """Yield one Batch per `chunk_lines` lines of each file, gzipped or not (told by its
    first bytes). `seen` (e.g. `store.seen_records` for this source) names the line
    hashes already stored, which are then not parsed again. Raises FetchError for a
    file that cannot be opened or read."""
    for path in map(Path, paths):
        try:
            with _open(path) as stream:
                number = 1
                while lines := list(islice(stream, chunk_lines)):
                    yield _chunk(lines, origin=path.name, first_line=number, seen=seen)
                    number += len(lines)
        except (OSError, EOFError, zlib.error) as error:
            raise FetchError(f"cannot read {path}: {error}") from None


def _chunk(lines: list[bytes], *, origin: str, first_line: int, seen) -> Batch:
    if seen is None:
        return parse_lines(lines, origin=origin, first_line=first_line)
    hashes = [record_hash(line) for line in lines]
    return parse_lines(lines, origin=origin, first_line=first_line, record_hashes=hashes,
                       known=seen(hashes))


def _open(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if is_gzip else open(path, "rb")


def _own(record: dict) -> Paper:
    paper = from_dict(record)
    arxiv_id, _ = parse_arxiv_id(paper.arxiv_id)
    if not paper.title:
        raise ValueError("no title")
    categories, others = taxonomy.split_classes(paper.primary_category, paper.categories)
    subject_classes = tuple(dict.fromkeys((*paper.subject_classes, *others)))
    if (arxiv_id, categories, subject_classes) == (paper.arxiv_id, paper.categories, paper.subject_classes):
        return paper
    return replace(paper, arxiv_id=arxiv_id, categories=categories, subject_classes=subject_classes,
                   primary_category=categories[0] if categories else None)


def _plain(record: dict) -> Paper:
    arxiv_id, version = parse_arxiv_id(record["id"])
    title = record.get("title")
    if not title:
        raise ValueError("no title")
    terms = record.get("categories") or ()
    terms = terms.split() if isinstance(terms, str) else terms
    categories, subject_classes = taxonomy.split_classes(None, terms)
    comments = record.get("comment") or record.get("comments") or None
    return Paper(
        arxiv_id=arxiv_id,
        title=title.strip(),
        abstract=(record.get("abstract") or record.get("summary") or "").strip(),
        authors=_authors(record.get("authors")),
        version=version or 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=_time(record, "published"),
        updated_at=_time(record, "updated"),
        doi=record.get("doi") or None,
        journal_ref=record.get("journal_ref") or None,
        comments=comments,
        license=record.get("license") or None,
        source=SOURCE,
        is_withdrawn=is_withdrawal_comment(comments),
    )


def _snapshot(record: dict) -> Paper:
    arxiv_id, _ = parse_arxiv_id(record["id"])
    title = record.get("title")
    if not title:
        raise ValueError("no title")
    versions = tuple(sorted(
        (Version(int(v["version"].lstrip("v")), parse_rfc2822(v.get("created")))
         for v in record.get("versions") or ()),
        key=lambda v: v.number,
    ))
    terms = (record.get("categories") or "").split()
    categories, subject_classes = taxonomy.split_classes(
        terms[0] if terms else None, [*terms, record.get("msc-class") or "", record.get("acm-class") or ""]
    )
    comments = record.get("comments") or None
    parsed = record.get("authors_parsed")
    return Paper(
        arxiv_id=arxiv_id,
        title=title.strip(),
        abstract=(record.get("abstract") or "").strip(),
        authors=_parsed_authors(parsed) if parsed else _authors_from_string(record.get("authors")),
        version=versions[-1].number if versions else 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=versions[0].submitted_at if versions else None,
        updated_at=versions[-1].submitted_at if versions else _time(record, "update_date"),
        doi=record.get("doi") or None,
        journal_ref=record.get("journal-ref") or None,
        comments=comments,
        license=record.get("license") or None,
        versions=versions,
        source=SOURCE,
        is_withdrawn=is_withdrawal_comment(comments),
    )


def _authors(value) -> tuple[Author, ...]:
    if not value:
        return ()
    if isinstance(value, str):
        return _authors_from_string(value)
    return tuple(
        Author(a) if isinstance(a, str) else Author(a["name"], tuple(a.get("affiliations") or ()))
        for a in value
    )


def _authors_from_string(value: str | None) -> tuple[Author, ...]:
    return split_authors(value or "")


def _parsed_authors(parsed: list) -> tuple[Author, ...]:
    """`[["Last", "First", "Jr"], ...]` as "First Last Jr"."""
    return tuple(
        Author(" ".join(p for p in (first, last, *rest) if p))
        for last, first, *rest in parsed
    )


@lru_cache(maxsize=8192)
def _cached_time(value: str) -> datetime | None:
    return parse_time(value)


def _time(record: dict, name: str) -> datetime | None:
    value = record.get(name)
    if not value:
        return None
    try:
        return _cached_time(value)
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"{name} {value!r} is not an ISO date or time") from None


def _reason(error: Exception) -> str:
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    return str(error) or type(error).__name__
