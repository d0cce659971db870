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
the reason, and every paper passes `schema.check`; whatever one line holds, the
rest of its chunk is kept (issue #15: a lone surrogate or 100,000 nested brackets
lost a 2,000-line chunk). Reading is bounded: a line over MAX_LINE_BYTES is
skipped, a file with no line break within MAX_SKIP_BYTES (a binary file,
/dev/zero) stops with a FetchError, and a chunk ends at CHUNK_BYTES. A file in
which no line is a paper (a binary file, a pretty-printed JSON array) is a
FetchError once every file is read, so the command exits non-zero. A gzip file
cut short keeps every line before the cut, then reports the cut.

This is the bulk path, so each line costs one `json.loads` and dictionary
look-ups; dates repeat a lot and are cached. Re-reading a file the store has
seen is cheaper still: given `seen`, `fetch` hashes each raw line and parses
only the lines the store does not know.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import zlib
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator, Sequence

from paperwire.export import DAILY_ENTRY_KIND
from paperwire.feed import entry_from_dict
from paperwire.papers import (
    Author, Paper, Version, is_withdrawal_comment, parse_arxiv_id, parse_time, parse_version,
)
from paperwire.sources import Batch, FetchError, Skipped, schema, taxonomy
from paperwire.sources.oai_pmh import parse_rfc2822, split_authors
from paperwire.sources.schema import InvalidRecord

SOURCE = "file"
CHUNK_LINES = 2_000
# The longest line in the 74,728-paper crawl (a paper with 3,303 authors) is 56 KB;
# a line 150 times that is no paper record. Memory stays near CHUNK_BYTES +
# MAX_LINE_BYTES whatever the file holds (`ingest file /dev/zero` grew to 2.8 GB).
MAX_LINE_BYTES = 8 * 2**20
MAX_SKIP_BYTES = 16 * MAX_LINE_BYTES  # read this far without a line break: not JSONL
CHUNK_BYTES = 64 * 2**20
GZIP_MAGIC = b"\x1f\x8b"
_MAX_TIME_CHARS = 40
_JSON_TYPES = {list: "list", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}  # the longest ISO time, 2025-03-18T20:00:00.123456+05:30, is 32


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
    parsed paper's hash goes into `batch.record_hashes`. Never raises for a line."""
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
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            skipped.append(Skipped(f"{label}{first_line + index}", _not_json(error)))
            continue
        if isinstance(record, dict) and record.get("kind") == DAILY_ENTRY_KIND:
            _add_daily_entry(batch, record, f"{label}{first_line + index}")
            continue
        try:
            paper = schema.check(parse_record(record))
        except ValueError as error:  # InvalidRecord and InvalidArxivId are ValueErrors
            skipped.append(Skipped(_record_id(record) or f"{label}{first_line + index}", str(error)))
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
    """A daily-list line of an export, checked like every source's entries."""
    try:
        entry = entry_from_dict(record)
        entry = schema.check_entry(replace(entry, arxiv_id=parse_arxiv_id(entry.arxiv_id)[0]))
    except KeyError as error:
        reason = f"missing field {error.args[0]!r}"
    except (ValueError, TypeError, AttributeError) as error:  # InvalidRecord, InvalidArxivId: ValueErrors
        reason = str(error) or type(error).__name__
    else:
        batch.daily_entries.append(entry)
        return
    record_id = record.get("arxiv_id")
    batch.skipped.append(Skipped(str(record_id) if isinstance(record_id, str) else label, f"daily entry: {reason}"))


def record_hash(line: bytes | str) -> str:
    """The identity of one raw line: equal lines (ignoring surrounding blanks) hash equal."""
    data = line.strip()
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data,
                           digest_size=16).hexdigest()


def parse_record(record: object) -> Paper:
    """One decoded line in whichever of the three shapes it has; raises InvalidRecord
    (or InvalidArxivId) naming the field that is missing or unusable."""
    if not isinstance(record, dict):
        raise InvalidRecord(f"a line holds a JSON {_JSON_TYPES.get(type(record), 'value')}, not an object")
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
    file that cannot be opened or read to its end (after the lines before the fault),
    and, once every file is read, for files in which no line was a paper."""
    useless = []
    for path in map(Path, paths):
        kept_count, first_skip = 0, None
        for batch in _read(path, chunk_lines=chunk_lines, seen=seen):
            kept_count += len(batch.papers) + batch.unchanged_count
            first_skip = first_skip or (batch.skipped[0] if batch.skipped else None)
            yield batch
        if first_skip and not kept_count:
            useless.append(f"{path} ({first_skip.record_id}: {first_skip.reason})")
    if useless:
        raise FetchError(
            f"no line of {'; '.join(useless)} is a paper record: paperwire reads JSONL, one JSON "
            "object per line (its own export, plain JSONL or the arXiv snapshot)"
        )


def _read(path: Path, *, chunk_lines: int, seen) -> Iterator[Batch]:
    try:
        stream = _open(path)
    except OSError as error:
        raise FetchError(f"cannot read {path}: {error}") from None
    with stream:
        number = 1
        for lines, fault in _chunks(stream, chunk_lines=chunk_lines, first_line=number):
            if lines:
                yield _chunk(lines, origin=path.name, first_line=number, seen=seen)
            number += len(lines)
            if fault and fault.startswith("line "):  # no line breaks: the file is not JSONL
                raise FetchError(f"{path}: {fault}")
            if fault:
                raise FetchError(f"cannot read {path} past line {number - 1:,}: {fault}; "
                                 "every line before it was read")


def _chunks(stream: BinaryIO, *, chunk_lines: int, first_line: int) -> Iterator[tuple[list, str | None]]:
    """The file's lines in chunks, each with None or what stopped the reading after it
    (a gzip stream cut short, a file without line breaks). A line over MAX_LINE_BYTES
    is None in its chunk."""
    lines: list[bytes | None] = []
    size = 0
    while True:
        try:
            line = stream.readline(MAX_LINE_BYTES + 1)
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                fault = _skip_line(stream)
                if fault:
                    yield [*lines, None], f"line {first_line + len(lines):,} {fault}"
                    return
                line = None
        except (OSError, EOFError, zlib.error) as error:  # a .gz cut short or corrupt
            yield lines, str(error) or type(error).__name__
            return
        if line == b"":
            break
        lines.append(line)
        size += len(line or b"")
        if len(lines) >= chunk_lines or size >= CHUNK_BYTES:
            yield lines, None
            first_line += len(lines)
            lines, size = [], 0
    if lines:
        yield lines, None


def _skip_line(stream: BinaryIO) -> str | None:
    """Read past the rest of an over-long line, a megabyte at a time; what went wrong
    when no line break comes within MAX_SKIP_BYTES."""
    skipped = MAX_LINE_BYTES
    while skipped < MAX_SKIP_BYTES:
        piece = stream.readline(2**20)
        if not piece or piece.endswith(b"\n"):
            return None
        skipped += len(piece)
    return (f"has no line break in its first {MAX_SKIP_BYTES // 2**20} MiB: paperwire reads JSONL, "
            "one JSON object per line; is this a binary file?")


def _chunk(lines: list[bytes | None], *, origin: str, first_line: int, seen) -> Batch:
    readable = [b"" if line is None else line for line in lines]
    if seen is None:
        batch = parse_lines(readable, origin=origin, first_line=first_line)
    else:
        hashes = [record_hash(line) for line in readable]
        batch = parse_lines(readable, origin=origin, first_line=first_line, record_hashes=hashes,
                            known=seen(hashes))
    batch.skipped.extend(
        Skipped(f"{origin} line {first_line + index}",
                f"longer than {MAX_LINE_BYTES // 2**20} MiB, the limit for one record")
        for index, line in enumerate(lines) if line is None
    )
    return batch


def _open(path: Path) -> BinaryIO:
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if is_gzip else open(path, "rb")


def _not_json(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "not JSON paperwire can read: nested deeper than Python's recursion limit"
    if isinstance(error, UnicodeDecodeError):
        return f"not JSON: not UTF-8 text ({error.reason} at byte {error.start})"
    return f"not JSON: {error}"


def _record_id(record: object) -> str | None:
    """The record's id for messages, when it has a usable one."""
    if not isinstance(record, dict):
        return None
    value = record.get("arxiv_id") or record.get("id")
    return value if isinstance(value, str) and value.strip() else None


def _required(record: dict, name: str) -> str:
    value = schema.text(record, name)
    if value is None or not value.strip():
        raise InvalidRecord(f"no {name}")
    return value


def _own(record: dict) -> Paper:
    arxiv_id, _ = parse_arxiv_id(_required(record, "arxiv_id"))
    # Categories may come as one string, "cs.CL cs.LG" (issue #15 stored 11 one-letter ones).
    categories, others = taxonomy.split_classes(schema.text(record, "primary_category"),
                                                schema.terms(record, "categories"))
    return Paper(
        arxiv_id=arxiv_id,
        title=_required(record, "title"),
        abstract=schema.text(record, "abstract") or "",
        authors=_authors(record.get("authors")),
        version=schema.integer(record, "version") or 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=tuple(dict.fromkeys((*schema.texts(record, "subject_classes"), *others))),
        published_at=_time(record, "published_at"),
        updated_at=_time(record, "updated_at"),
        doi=schema.text(record, "doi"),
        journal_ref=schema.text(record, "journal_ref"),
        comments=schema.text(record, "comments"),
        license=schema.text(record, "license"),
        code_url=schema.text(record, "code_url"),
        project_url=schema.text(record, "project_url"),
        versions=tuple(
            Version(_whole(v, "number"), _time(v, "submitted_at")) for v in schema.objects(record, "versions")
        ),
        source=schema.text(record, "source") or "unknown",
        is_withdrawn=schema.flag(record, "is_withdrawn"),
    )


def _plain(record: dict) -> Paper:
    arxiv_id, version = parse_arxiv_id(_required(record, "id"))
    title = _required(record, "title")
    categories, subject_classes = taxonomy.split_classes(None, schema.terms(record, "categories"))
    comments = schema.text(record, "comment") or schema.text(record, "comments")
    return Paper(
        arxiv_id=arxiv_id,
        title=title.strip(),
        abstract=(schema.text(record, "abstract") or schema.text(record, "summary") or "").strip(),
        authors=_authors(record.get("authors")),
        version=version or 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=_time(record, "published"),
        updated_at=_time(record, "updated"),
        doi=schema.text(record, "doi"),
        journal_ref=schema.text(record, "journal_ref"),
        comments=comments,
        license=schema.text(record, "license"),
        source=SOURCE,
        is_withdrawn=is_withdrawal_comment(comments),
    )


def _snapshot(record: dict) -> Paper:
    arxiv_id, _ = parse_arxiv_id(_required(record, "id"))
    title = _required(record, "title")
    versions = tuple(sorted(
        (Version(parse_version(schema.text(v, "version") or ""), _rfc2822(v, "created"))
         for v in schema.objects(record, "versions")),
        key=lambda v: v.number,
    ))
    terms = schema.terms(record, "categories")
    categories, subject_classes = taxonomy.split_classes(
        terms[0] if terms else None,
        [*terms, schema.text(record, "msc-class") or "", schema.text(record, "acm-class") or ""],
    )
    comments = schema.text(record, "comments")
    parsed = record.get("authors_parsed")
    return Paper(
        arxiv_id=arxiv_id,
        title=title.strip(),
        abstract=(schema.text(record, "abstract") or "").strip(),
        authors=_parsed_authors(parsed) if parsed else split_authors(schema.text(record, "authors") or ""),
        version=versions[-1].number if versions else 0,
        primary_category=categories[0] if categories else None,
        categories=categories,
        subject_classes=subject_classes,
        published_at=versions[0].submitted_at if versions else None,
        updated_at=versions[-1].submitted_at if versions else _time(record, "update_date"),
        doi=schema.text(record, "doi"),
        journal_ref=schema.text(record, "journal-ref"),
        comments=comments,
        license=schema.text(record, "license"),
        versions=versions,
        source=SOURCE,
        is_withdrawn=is_withdrawal_comment(comments),
    )


def _authors(value: object) -> tuple[Author, ...]:
    """Authors as a list of names, of {name, affiliations} objects, or one string."""
    if not value:
        return ()
    if isinstance(value, str):
        return split_authors(value)
    if not isinstance(value, list):
        raise InvalidRecord(f"authors is {schema.kind(value)}, not a list")
    return tuple(_author(item, position) for position, item in enumerate(value, 1))


def _author(value: object, position: int) -> Author:
    if isinstance(value, str):
        return Author(value)
    if not isinstance(value, dict):
        raise InvalidRecord(f"author {position} is {schema.kind(value)}, not a name or an object")
    name = schema.text(value, "name")
    if name is None:
        raise InvalidRecord(f"author {position} has no name")
    return Author(name, tuple(schema.texts(value, "affiliations")))


def _parsed_authors(parsed: object) -> tuple[Author, ...]:
    """`[["Last", "First", "Jr"], ...]` as "First Last Jr"."""
    if not isinstance(parsed, list):
        raise InvalidRecord(f"authors_parsed is {schema.kind(parsed)}, not a list")
    authors = []
    for position, parts in enumerate(parsed, 1):
        last, first, *rest = [*schema.strings(parts, f"authors_parsed item {position}"), "", ""]
        authors.append(Author(" ".join(p for p in (first, last, *rest) if p)))
    return tuple(authors)


def _whole(record: dict, name: str) -> int:
    value = schema.integer(record, name)
    if value is None:
        raise InvalidRecord(f"a version has no {name}")
    return value


@lru_cache(maxsize=8192)
def _cached_time(value: str) -> datetime | None:
    return parse_time(value)


def _time(record: dict, name: str) -> datetime | None:
    value = schema.text(record, name)
    if not value:
        return None
    try:
        if len(value) > _MAX_TIME_CHARS:
            raise ValueError(f"longer than {_MAX_TIME_CHARS} characters")
        return _cached_time(value)
    except ValueError as error:
        raise InvalidRecord(f"{name} {schema.shown(value)} is not an ISO date or time ({error})") from None


def _rfc2822(record: dict, name: str) -> datetime | None:
    value = schema.text(record, name)
    try:
        return parse_rfc2822(value)
    except ValueError as error:
        raise InvalidRecord(f"{name} {schema.shown(value)} is not a date ({error})") from None
