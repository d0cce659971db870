"""Export: everything the store holds about papers, as JSONL in paperwire's own format.

The export is lossless (issue #8): `paperwire ingest file` reads it into any store,
of either engine, and exporting that store again gives the same bytes. In order:

- every live paper, one per line, `papers.to_dict` of the stored record (its
  source and version history included), with `record_hashes`, what each source
  last sent for it ({source: hash}), so re-ingesting from those sources after a
  restore skips what they sent instead of merging it again;
- every tombstone (a paper deleted upstream, kept so that indexes follow the
  deletion): the deleted paper's last record with `"is_deleted": true`;
- every community daily-list entry: `{"kind": "daily_entry", ...}`.

Lines are ordered (papers by arXiv id, entries by day, id and source), so two
exports of one store are identical. This module owns the format and the file;
sources/files.py reads it; the CLI owns the progress bar and the count it prints.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Callable, Iterator, TextIO

from paperwire.feed import entry_to_dict
from paperwire.papers import Paper, to_dict
from paperwire.store import Store

# How often (in papers) `write` reports progress: often enough for a smooth bar,
# rare enough that a million-paper export does not spend its time in callbacks.
PROGRESS_EVERY_COUNT = 1000
BATCH_SIZE = 1000  # papers whose record hashes are read in one query
DAILY_ENTRY_KIND = "daily_entry"  # the "kind" of a daily-list line; paper lines have none


def write(store: Store, out: Path | str | TextIO, *,
          on_progress: Callable[[int], None] | None = None) -> int:
    """Write everything `store` holds about papers to `out`; returns how many papers (live
    and deleted) were written.

    `out` is a path (gzipped when its name ends in `.gz`, created or overwritten)
    or an open text stream, such as standard output, that is left open.
    `on_progress(written_count)` is called as papers are written and once at the
    end. Raises OSError when the path cannot be written.
    """
    if isinstance(out, (str, Path)):
        with _open(Path(out)) as stream:
            return write(store, stream, on_progress=on_progress)
    count = 0
    for line in _paper_lines(store):
        out.write(line)
        count += 1
        if on_progress and count % PROGRESS_EVERY_COUNT == 0:
            on_progress(count)
    for entry in store.iter_daily_entries():
        out.write(_json({"kind": DAILY_ENTRY_KIND, **entry_to_dict(entry)}))
    if on_progress:
        on_progress(count)
    return count


def _paper_lines(store: Store) -> Iterator[str]:
    for deleted in (False, True):
        batch: list[Paper] = []
        for paper in store.iter_papers(batch_size=BATCH_SIZE, deleted=deleted):
            batch.append(paper)
            if len(batch) == BATCH_SIZE:
                yield from _lines(store, batch, deleted=deleted)
                batch = []
        yield from _lines(store, batch, deleted=deleted)


def _lines(store: Store, papers: list[Paper], *, deleted: bool) -> Iterator[str]:
    hashes = store.record_hashes(p.arxiv_id for p in papers) if papers and not deleted else {}
    for paper in papers:
        record = to_dict(paper)
        if paper.arxiv_id in hashes:
            record["record_hashes"] = hashes[paper.arxiv_id]
        if deleted:
            record["is_deleted"] = True
        yield _json(record)


def _json(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8")
    return open(path, "w", encoding="utf-8")
