"""Export: every paper in the store as JSONL in paperwire's own format.

One paper per line, `papers.to_dict` of the stored record, so `sources.files`
(`paperwire ingest file`) reads an export back into any store unchanged. This
module owns the format and the file; the CLI owns the progress bar and the count
it prints, and the web may offer the same file later.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Callable, TextIO

from paperwire.papers import to_dict
from paperwire.store import Store

# How often (in papers) `write` reports progress: often enough for a smooth bar,
# rare enough that a million-paper export does not spend its time in callbacks.
PROGRESS_EVERY_COUNT = 1000


def write(store: Store, out: Path | str | TextIO, *,
          on_progress: Callable[[int], None] | None = None) -> int:
    """Write every paper of `store` to `out` and return how many were written.

    `out` is a path (gzipped when its name ends in `.gz`, created or overwritten)
    or an open text stream, such as standard output, that is left open.
    `on_progress(written_count)` is called as papers are written and once at the
    end. Raises OSError when the path cannot be written.
    """
    if isinstance(out, (str, Path)):
        with _open(Path(out)) as stream:
            return write(store, stream, on_progress=on_progress)
    count = 0
    for paper in store.iter_papers():
        out.write(json.dumps(to_dict(paper), ensure_ascii=False) + "\n")
        count += 1
        if on_progress and count % PROGRESS_EVERY_COUNT == 0:
            on_progress(count)
    if on_progress:
        on_progress(count)
    return count


def _open(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "wt", encoding="utf-8")
    return open(path, "w", encoding="utf-8")
