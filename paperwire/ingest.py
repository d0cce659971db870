"""Runs a source into the store: stores each batch, saves its checkpoint, counts.

The source decides what to read (sources/); the store decides how to merge
(store/); this module only moves batches between them and keeps the tally that
the CLI and the status page show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable

from paperwire.papers import Paper, merge
from paperwire.sources import Batch, Skipped
from paperwire.store import Store, UpsertCounts

log = logging.getLogger(__name__)

MAX_SKIPPED_KEPT = 1000  # enough to show; a broken file must not fill memory with reasons


@dataclass
class IngestReport:
    new_count: int = 0
    updated_count: int = 0
    unchanged_count: int = 0
    deleted_count: int = 0
    skipped_count: int = 0
    daily_entry_count: int = 0
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def seen_count(self) -> int:
        return self.new_count + self.updated_count + self.unchanged_count + self.skipped_count

    def summary(self) -> str:
        """The one-line tally the CLI prints at the end."""
        parts = [
            f"{self.new_count} new",
            f"{self.updated_count} updated",
            f"{self.unchanged_count} unchanged",
            f"{self.skipped_count} skipped",
        ]
        if self.deleted_count:
            parts.append(f"{self.deleted_count} deleted")
        if self.daily_entry_count:
            parts.append(f"{self.daily_entry_count} daily entries")
        return ", ".join(parts)

    @property
    def kept_count(self) -> int:
        """Records read that were valid: stored, already stored, deleted or listed."""
        return (self.new_count + self.updated_count + self.unchanged_count + self.deleted_count
                + self.daily_entry_count)

    def refusal(self, source: str) -> str | None:
        """Why this run read nothing valid (every record was skipped), as one line for the
        CLI to exit non-zero with (issue #15); None when a record was kept or none arrived
        (an empty day is a success)."""
        if not self.skipped_count or self.kept_count:
            return None
        first = self.skipped[0] if self.skipped else None
        example = f"; the first, {first.record_id}: {first.reason}" if first else ""
        return f"{source}: nothing valid was read: all {self.skipped_count:,} records were skipped{example}"

    def _count(self, counts: UpsertCounts) -> None:
        self.new_count += counts.new_count
        self.updated_count += counts.updated_count
        self.unchanged_count += counts.unchanged_count


def run(
    store: Store,
    batches: Iterable[Batch],
    *,
    source: str,
    on_batch: Callable[[Batch, IngestReport], None] | None = None,
) -> IngestReport:
    """Store every batch that `batches` yields and return the tally.

    A FetchError from the source propagates after the batches before it are
    stored and checkpointed, so the next run resumes from there.
    """
    report = IngestReport()
    for batch in batches:
        if batch.papers:
            papers = _fold_repeats(batch.papers, report)
            for group_source, group in _by_source(papers, batch.kept_sources, default=source).items():
                report._count(store.upsert_papers(
                    group, source=group_source, record_hashes=batch.record_hashes or None
                ))
        report.unchanged_count += batch.unchanged_count
        if batch.deleted:
            report.deleted_count += store.delete_papers(batch.deleted, source=source)
        if batch.source_hashes:
            store.put_record_hashes(batch.source_hashes)
        if batch.daily_entries:
            store.upsert_daily_entries(batch.daily_entries)
            report.daily_entry_count += len(batch.daily_entries)
        for skipped in batch.skipped:
            log.warning("skipped %s: %s", skipped.record_id, skipped.reason)
        report.skipped_count += len(batch.skipped)
        room = MAX_SKIPPED_KEPT - len(report.skipped)
        report.skipped.extend(batch.skipped[: max(room, 0)])
        if batch.checkpoint is not None:
            store.set_checkpoint(*batch.checkpoint)
        if on_batch:
            on_batch(batch, report)
    return report


def _by_source(papers: list[Paper], kept: dict[str, str], *, default: str) -> dict[str, list[Paper]]:
    """Papers grouped by the source to store them under: the ingesting one, or for a
    restored export (export.py) the source each paper records."""
    if not kept:
        return {default: papers}
    groups: dict[str, list[Paper]] = {}
    for paper in papers:
        groups.setdefault(kept.get(paper.arxiv_id, default), []).append(paper)
    return groups


def _fold_repeats(papers: list[Paper], report: IngestReport) -> list[Paper]:
    """Merge records of one id within a batch (a daily crawl lists a paper on several
    days), counting each repeat as updated or unchanged, so the tally accounts for
    every record read (issue #8: 674 lines were reported as 532 new and nothing else)."""
    by_id: dict[str, Paper] = {}
    for paper in papers:
        held = by_id.get(paper.arxiv_id)
        if held is None:
            by_id[paper.arxiv_id] = paper
            continue
        merged = merge(held, paper)
        if merged is held:
            report.unchanged_count += 1
        else:
            report.updated_count += 1
            by_id[paper.arxiv_id] = merged
    return list(by_id.values()) if len(by_id) < len(papers) else papers
