"""The store's records and the pure parts of writing papers: row encoding, upsert planning.

Both engines keep the same columns, so turning a `Paper` into a row and back,
and deciding which incoming papers are new, changed or unchanged, is written
once here; papers.py runs the SQL. PAPER_COLUMNS is the one description of a
paper row: every statement that reads or writes papers is generated from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from paperwire.papers import Author, Paper, Version, merge, parse_time, text_hash

@dataclass
class UpsertCounts:
    new_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0

    def add(self, other: "UpsertCounts") -> None:
        self.new_count += other.new_count
        self.updated_count += other.updated_count
        self.unchanged_count += other.unchanged_count


@dataclass(frozen=True)
class Change:
    """One entry of the change log: paper `paper_id` changed at `change_seq`.

    `paper` is None when the paper was deleted (an OAI-PMH deleted record).
    """

    change_seq: int
    paper_id: int
    arxiv_id: str
    paper: Paper | None


@dataclass
class StoreStats:
    paper_count: int = 0
    deleted_count: int = 0
    daily_entry_count: int = 0
    embedded_count: int = 0
    first_day: date | None = None
    last_day: date | None = None
    category_counts: dict[str, int] = field(default_factory=dict)


PAPER_COLUMNS = (
    "arxiv_id", "version", "title", "abstract", "authors", "primary_category", "categories",
    "published_at", "updated_at", "day", "doi", "journal_ref", "comments", "license",
    "code_url", "project_url", "source", "content_hash", "text_hash", "is_withdrawn",
    "subject_classes",
)


def iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def paper_row(paper: Paper) -> tuple:
    """The values of PAPER_COLUMNS for `paper`, in order."""
    return (
        paper.arxiv_id,
        paper.version,
        paper.title,
        paper.abstract,
        json.dumps([[a.name, list(a.affiliations)] if a.affiliations else [a.name] for a in paper.authors],
                   ensure_ascii=False),
        paper.primary_category,
        json.dumps(list(paper.categories)),
        iso(paper.published_at),
        iso(paper.updated_at),
        paper.day.isoformat() if paper.day else None,
        paper.doi,
        paper.journal_ref,
        paper.comments,
        paper.license,
        paper.code_url,
        paper.project_url,
        paper.source,
        paper.content_hash,
        text_hash(paper),
        paper.is_withdrawn,
        json.dumps(list(paper.subject_classes)),
    )


def paper_from_row(row, versions: tuple[Version, ...] = ()) -> Paper:
    """Rebuild a paper from a row that has PAPER_COLUMNS (by name) plus its versions."""
    return Paper(
        arxiv_id=row["arxiv_id"],
        version=row["version"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(
            Author(a[0], tuple(a[1]) if len(a) > 1 else ()) for a in json.loads(row["authors"])
        ),
        primary_category=row["primary_category"],
        categories=tuple(json.loads(row["categories"])),
        published_at=as_time(row["published_at"]),
        updated_at=as_time(row["updated_at"]),
        doi=row["doi"],
        journal_ref=row["journal_ref"],
        comments=row["comments"],
        license=row["license"],
        code_url=row["code_url"],
        project_url=row["project_url"],
        versions=versions,
        source=row["source"],
        is_withdrawn=bool(row["is_withdrawn"]),
        subject_classes=tuple(json.loads(row["subject_classes"])),
    )


def as_time(value) -> datetime | None:
    """A time as either engine returns it (ISO text or an aware datetime), in UTC."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(timezone.utc) if value else None
    return parse_time(value)


def as_day(value) -> date | None:
    """A day as either engine returns it (YYYY-MM-DD text or a date)."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


@dataclass
class UpsertPlan:
    """What an upsert batch must write: new papers, changed papers (with their row id), and the rest."""

    inserts: list[Paper] = field(default_factory=list)
    updates: list[tuple[int, Paper]] = field(default_factory=list)
    unchanged_count: int = 0
    source_hashes: list[tuple[str, str]] = field(default_factory=list)  # (arxiv_id, record hash) to save


def dedupe_batch(papers) -> list[Paper]:
    """Collapse repeated ids within one batch by merging them in arrival order."""
    by_id: dict[str, Paper] = {}
    for paper in papers:
        held = by_id.get(paper.arxiv_id)
        by_id[paper.arxiv_id] = paper if held is None else merge(held, paper)
    return list(by_id.values())


def record_hashes(papers: list[Paper], given: dict[str, str] | None = None) -> dict[str, str]:
    """Each paper's record identity: the source's raw-record hash if given, else its content hash."""
    given = given or {}
    return {p.arxiv_id: given.get(p.arxiv_id) or p.content_hash for p in papers}


def plan_upsert(
    incoming: list[Paper],
    hashes: dict[str, str],
    seen_hashes: dict[str, str],
    existing: dict[str, tuple[int, Paper]],
) -> UpsertPlan:
    """Decide per paper: skip (the source sent this exact record before), insert, or merge.

    `seen_hashes` are the record hashes this source sent last time; `existing` holds the
    stored papers (row id, paper) for the ids whose record changed.
    """
    plan = UpsertPlan()
    for paper in incoming:
        record_hash = hashes[paper.arxiv_id]
        if seen_hashes.get(paper.arxiv_id) == record_hash:
            plan.unchanged_count += 1
            continue
        plan.source_hashes.append((paper.arxiv_id, record_hash))
        held = existing.get(paper.arxiv_id)
        if held is None:
            plan.inserts.append(paper)
            continue
        row_id, old = held
        merged = merge(old, paper)
        if merged is old:
            plan.unchanged_count += 1
        else:
            plan.updates.append((row_id, merged))
    return plan
