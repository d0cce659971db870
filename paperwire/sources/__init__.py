"""Sources of papers: each module has a pure `parse()` over the wire format and a `fetch()`.

A fetcher yields `Batch`es, one per page or file chunk; `ingest.run` stores
each batch and only then saves the batch's checkpoint, so a harvest killed half
way resumes at the last stored page and re-reads nothing twice into the store.
Parsers never raise for one bad record: they skip it and say why in `skipped`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from paperwire.papers import Paper
from paperwire.feed import DailyEntry


class FetchError(Exception):
    """A source could not be read (HTTP failure after retries, an error feed, bad XML).

    `resumes` says whether running the same command again picks up where this one
    stopped (the CLI says so in its message); a subclass sets it False when only a
    fresh start can help.
    """

    resumes = True


# A skipped record is reported on the terminal and kept in memory (up to
# ingest.MAX_SKIPPED_KEPT of them): its id and reason are cut to these lengths, so a
# 10 MB id quoted in a reason stays a line, not 10 MB (issue #15).
MAX_RECORD_ID_CHARS = 100
MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class Skipped:
    """A record that was not ingested: its id (or position) and the reason.

    Both are cut to a line's length and made printable (control characters written
    as escapes): they come from the record and go to a terminal.
    """

    record_id: str
    reason: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_id", _printable(str(self.record_id), MAX_RECORD_ID_CHARS))
        object.__setattr__(self, "reason", _printable(str(self.reason), MAX_REASON_CHARS))


def _printable(text: str, limit: int) -> str:
    text = text[: limit + 1]
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
    return text if len(text) <= limit else text[:limit] + "…"


@dataclass
class Batch:
    """What one page or chunk of a source yields.

    `checkpoint` is a (name, value) pair saved after the batch is stored; a value
    of None clears the checkpoint (the harvest finished).
    """

    papers: list[Paper] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    daily_entries: list[DailyEntry] = field(default_factory=list)
    checkpoint: tuple[str, str | None] | None = None
    total_count: int | None = None  # records expected in the whole run, when the source says
    # Hashes of the raw records behind `papers` (arxiv_id -> hash), and how many raw
    # records were skipped unparsed because the store had seen them (files re-ingest).
    record_hashes: dict[str, str] = field(default_factory=dict)
    unchanged_count: int = 0
    # From a paperwire export (export.py): papers stored under their own recorded
    # source rather than the ingesting one (arxiv_id -> source), and what each source
    # last sent for them, (arxiv_id, source, record hash), restored after the upsert.
    kept_sources: dict[str, str] = field(default_factory=dict)
    source_hashes: list[tuple[str, str, str]] = field(default_factory=list)
