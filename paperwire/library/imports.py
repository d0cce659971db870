"""Library import: read a BibTeX file, a CSL-JSON export or a list of ids, and
match each entry to a paper.

Reading is pure (`read` takes bytes); matching takes a `Lookup` of three
functions, so any store can plug in and tests use a dict. An entry matches by
arXiv id (any form `papers.parse_arxiv_id` reads, in the fields where BibTeX and
Zotero put it, or arXiv's own DOI 10.48550/arXiv.<id>), then by DOI, then by
title: normalised and compared with rapidfuzz's ratio, at least
TITLE_MIN_SCORE, and when both sides name authors, sharing a surname (which
keeps "Attention is not all you need" from matching "Attention is all you
need"). Fetching unknown arXiv papers from the arXiv source is the caller's
job: an unmatched entry keeps the arXiv id it named.

A hostile or malformed file never stops the import: every bad entry becomes a
`Malformed` with its key or line and the reason, and the rest is kept. Only a
file that is too big, not text, or not JSON at all when it claims to be is
refused whole.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

import bibtexparser
from rapidfuzz import fuzz

from paperwire.papers import InvalidArxivId, Paper, normalise_name, parse_arxiv_id

MAX_FILE_BYTES = 5_000_000  # a 10,000-entry Zotero export is about 3 MB
MAX_ENTRY_COUNT = 10_000
MAX_FIELD_CHARS = 2_000  # the longest real titles are a few hundred characters
MAX_JSON_DEPTH = 8  # CSL-JSON nests at most 4 deep (item > author list > name > parts)
TITLE_MIN_SCORE = 90  # rapidfuzz ratio of normalised titles; see tests/library/test_imports.py

# arXiv registers a DOI for every paper: 10.48550/arXiv.2501.00001 (https://info.arxiv.org/help/doi.html).
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(?P<id>.+)$", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv:\s*)([a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?|\d{4}\.\d{4,5}(?:v\d+)?)",
    re.IGNORECASE,
)
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_LATEX_COMMAND = re.compile(r"\\[a-zA-Z]+\*?\s*|\\.")


class UnreadableFile(ValueError):
    """The whole file cannot be read (too big, not text, not JSON); nothing was imported."""


@dataclass(frozen=True)
class Entry:
    """One reference read from a file: where it was (`key`) and what it names."""

    key: str
    arxiv_id: str | None = None
    doi: str | None = None
    title: str | None = None
    surnames: tuple[str, ...] = ()


@dataclass(frozen=True)
class Malformed:
    """An entry that could not be read: its key or line, and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class Match:
    """An entry and the paper it matched; `matched_by` is "arxiv_id", "doi" or "title"."""

    entry: Entry
    paper: Paper
    matched_by: str
    title_score: float | None = None


@dataclass(frozen=True)
class Lookup:
    """How to find papers: by canonical arXiv id, by normalised DOI, and the papers
    whose titles may match a normalised title (the store may return a superset,
    such as a keyword search; matching does the fuzzy comparison)."""

    by_arxiv_id: Callable[[str], Paper | None]
    by_doi: Callable[[str], Paper | None]
    by_title: Callable[[str], Iterable[Paper]]


@dataclass
class ImportReport:
    """What an import found: matched entries, entries with no paper, malformed entries."""

    matched: list[Match] = field(default_factory=list)
    unmatched: list[Entry] = field(default_factory=list)
    malformed: list[Malformed] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.matched)} matched, {len(self.unmatched)} not found, "
                f"{len(self.malformed)} malformed")


def run(data: bytes, lookup: Lookup, *, filename: str = "") -> ImportReport:
    """Read `data` (format from `filename`'s extension, else sniffed) and match every
    entry. Raises UnreadableFile only when the file as a whole cannot be read."""
    entries, malformed = read(data, filename=filename)
    report = match(entries, lookup)
    report.malformed = malformed + report.malformed
    return report


def read(data: bytes, *, filename: str = "") -> tuple[list[Entry], list[Malformed]]:
    """The entries of a BibTeX, CSL-JSON or id-list file, and the malformed ones."""
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableFile(f"the file is {len(data):,} bytes; at most {MAX_FILE_BYTES:,} can be imported, so split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise UnreadableFile(f"the file is not UTF-8 text (byte {err.start}); export it as UTF-8") from err
    kind = _kind(text, filename)
    return {"bibtex": read_bibtex, "json": read_csl_json, "ids": read_id_list}[kind](text)


def read_bibtex(text: str) -> tuple[list[Entry], list[Malformed]]:
    """Entries of a BibTeX file, parsed by bibtexparser v2; each block it could not
    parse (unbalanced braces, truncation, duplicate fields) is Malformed, the rest kept."""
    try:
        library = bibtexparser.parse_string(text)
    except (ValueError, RecursionError) as err:  # the parser's own guards; it recovers from most errors per block
        raise UnreadableFile(f"the BibTeX file cannot be parsed: {_first_line(str(err))}") from err
    malformed = [
        Malformed(f"line {block.start_line + 1}", _first_line(_reason(block.error)))
        for block in library.failed_blocks
    ]
    entries = []
    for entry in library.entries:
        fields = {f.key.lower(): str(f.value) for f in entry.fields}
        problem = _oversized(fields)
        if problem:
            malformed.append(Malformed(entry.key, problem))
            continue
        entries.append(_bibtex_entry(entry.key, fields))
    return _capped(entries, malformed)


def read_csl_json(text: str) -> tuple[list[Entry], list[Malformed]]:
    """Entries of a CSL-JSON export (Zotero's "CSL JSON"): a list of items.
    Raises UnreadableFile when the text is not a JSON list."""
    try:
        items = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise UnreadableFile(f"the file is not valid JSON ({_first_line(str(err)) or 'nested too deep'})") from err
    if isinstance(items, dict) and isinstance(items.get("items"), list):
        items = items["items"]
    if not isinstance(items, list):
        raise UnreadableFile("a CSL-JSON file is a list of items; this JSON is not a list")
    entries, malformed = [], []
    for position, item in enumerate(items, start=1):
        key = str(item.get("id", f"item {position}"))[:100] if isinstance(item, dict) else f"item {position}"
        problem = _bad_item(item)
        if problem:
            malformed.append(Malformed(key, problem))
        else:
            entries.append(_csl_entry(key, item))
    return _capped(entries, malformed)


def read_id_list(text: str) -> tuple[list[Entry], list[Malformed]]:
    """One arXiv id or DOI per line (any form); blank lines and `#` comments are skipped."""
    entries, malformed = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        key = f"line {number}"
        arxiv_id, doi = _arxiv_id(value), normalise_doi(value)
        if arxiv_id or doi:
            entries.append(Entry(key, arxiv_id=arxiv_id, doi=None if arxiv_id else doi))
        else:
            malformed.append(Malformed(key, f"{value[:80]!r} is neither an arXiv id nor a DOI"))
    return _capped(entries, malformed)


def match(entries: Iterable[Entry], lookup: Lookup) -> ImportReport:
    """Each entry matched to a paper by arXiv id, DOI, then title; unmatched otherwise."""
    report = ImportReport()
    for entry in entries:
        found = _match_one(entry, lookup)
        if found:
            report.matched.append(found)
        else:
            report.unmatched.append(entry)
    return report


def normalise_doi(text: str | None) -> str | None:
    """A DOI in lower case without its resolver prefix, or None when `text` is not one.
    DOIs are case-insensitive (https://www.doi.org/doi-handbook/HTML/case-sensitivity.html)."""
    value = _DOI_PREFIX.sub("", (text or "").strip()).strip().lower()
    return value if _DOI.match(value) else None


def normalise_title(text: str | None) -> str:
    """A title folded for comparison: LaTeX commands and braces gone, lower case,
    no accents or punctuation, hyphens as spaces, single spaces."""
    plain = _LATEX_COMMAND.sub(" ", (text or "").replace("{", "").replace("}", ""))
    # normalise_name folds case, accents and punctuation the way names are matched.
    return " ".join(normalise_name(plain).replace("-", " ").replace("_", " ").split())


def title_score(a: str, b: str) -> float:
    """Similarity of two normalised titles, 0 to 100."""
    return fuzz.ratio(a, b)


def _match_one(entry: Entry, lookup: Lookup) -> Match | None:
    if entry.arxiv_id and (paper := lookup.by_arxiv_id(entry.arxiv_id)):
        return Match(entry, paper, "arxiv_id")
    if entry.doi and (paper := lookup.by_doi(entry.doi)):
        return Match(entry, paper, "doi")
    title = normalise_title(entry.title)
    if not title:
        return None
    scored = [
        (title_score(title, normalise_title(p.title)), p) for p in lookup.by_title(title)
        if _same_authors(entry, p)
    ]
    best = max(scored, key=lambda pair: (pair[0], pair[1].arxiv_id), default=None)
    if best and best[0] >= TITLE_MIN_SCORE:
        return Match(entry, best[1], "title", title_score=best[0])
    return None


def _same_authors(entry: Entry, paper: Paper) -> bool:
    # Only a check when both sides name authors: an id list or a title-only entry has none.
    if not entry.surnames or not paper.authors:
        return True
    surnames = {_surname(a.name) for a in paper.authors}
    return any(s in surnames for s in entry.surnames)


def _surname(name: str) -> str:
    # "Devlin, Jacob" (BibTeX, CSL) or "Jacob Devlin" (arXiv).
    if "," in name:
        name = name.split(",", 1)[0]
    words = normalise_name(name.replace("{", "").replace("}", "")).split()
    while len(words) > 1 and words[-1] in _NAME_SUFFIXES:
        words = words[:-1]
    return words[-1] if words else ""


def _bibtex_entry(key: str, fields: dict[str, str]) -> Entry:
    candidates = [fields.get(name, "") for name in ("eprint", "arxivid", "arxiv", "url", "journal", "note", "howpublished")]
    if fields.get("archiveprefix", "arxiv").lower() != "arxiv":
        candidates = candidates[1:]  # an eprint of another archive is not an arXiv id
    doi = normalise_doi(fields.get("doi"))
    authors = _split_authors(fields.get("author", ""))
    return Entry(
        key, arxiv_id=_arxiv_from(candidates, doi), doi=doi, title=fields.get("title"),
        surnames=tuple(s for s in map(_surname, authors) if s),
    )


def _split_authors(text: str) -> list[str]:
    """BibTeX's author list: names joined by "and" outside braces ("{Rock and Roll}" is one)."""
    names, depth, start = [], 0, 0
    for match in re.finditer(r"[{}]|\s+and\s+", text):
        token = match.group()
        if token in "{}":
            depth += 1 if token == "{" else -1
        elif depth == 0:
            names.append(text[start:match.start()])
            start = match.end()
    names.append(text[start:])
    return [name.strip() for name in names if name.strip()]


def _csl_entry(key: str, item: dict) -> Entry:
    strings = [item.get(name) for name in ("number", "URL", "archive_location", "container-title", "note")]
    doi = normalise_doi(item.get("DOI") if isinstance(item.get("DOI"), str) else None)
    surnames = tuple(
        _surname(str(a.get("family") or a.get("literal") or "")) for a in item.get("author") or []
        if isinstance(a, dict)
    )
    title = item.get("title") if isinstance(item.get("title"), str) else None
    return Entry(key, arxiv_id=_arxiv_from([s for s in strings if isinstance(s, str)], doi),
                 doi=doi, title=title, surnames=tuple(s for s in surnames if s))


def _arxiv_from(candidates: list[str], doi: str | None) -> str | None:
    arxiv_doi = _ARXIV_DOI.match(doi or "")
    for value in ([arxiv_doi.group("id")] if arxiv_doi else []) + candidates:
        found = _arxiv_id(value)
        if found:
            return found
    return None


def _arxiv_id(value: str) -> str | None:
    """The canonical arXiv id in `value` (a bare id, URL, `arXiv:` form or a sentence
    such as "arXiv preprint arXiv:1706.03762"), or None."""
    value = (value or "").strip()
    for candidate in [value] + _ARXIV_IN_TEXT.findall(value):
        try:
            return parse_arxiv_id(candidate)[0]
        except InvalidArxivId:
            continue
    return None


def _bad_item(item) -> str | None:
    if not isinstance(item, dict):
        return f"an item must be a JSON object, not {type(item).__name__}"
    if _depth(item) > MAX_JSON_DEPTH:
        return f"the item is nested more than {MAX_JSON_DEPTH} levels deep"
    return _oversized({k: v for k, v in item.items() if isinstance(v, str)})


def _depth(value, level: int = 1) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(child, level + 1) for child in children), default=level)


def _oversized(fields: dict[str, str]) -> str | None:
    for name, value in fields.items():
        if len(value) > MAX_FIELD_CHARS:
            return f"field {name!r} is {len(value):,} characters; at most {MAX_FIELD_CHARS:,} are read"
    return None


def _capped(entries: list[Entry], malformed: list[Malformed]) -> tuple[list[Entry], list[Malformed]]:
    if len(entries) > MAX_ENTRY_COUNT:
        malformed.append(Malformed(
            entries[MAX_ENTRY_COUNT].key,
            f"the file has {len(entries):,} entries; only the first {MAX_ENTRY_COUNT:,} were read",
        ))
    return entries[:MAX_ENTRY_COUNT], malformed


def _kind(text: str, filename: str) -> str:
    suffix = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if suffix in ("bib", "bibtex"):
        return "bibtex"
    if suffix in ("json", "csljson"):
        return "json"
    if suffix in ("txt", "list"):
        return "ids"
    start = text.lstrip()[:1]
    return "json" if start in ("[", "{") else "bibtex" if "@" in text else "ids"


def _reason(error: Exception) -> str:
    # bibtexparser's BlockAbortedException keeps its message in abort_reason, not args.
    return getattr(error, "abort_reason", None) or str(error) or type(error).__name__


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines[:2])[:300]
