"""The terminal side that the commands share: progress bars on stderr, the store a
command works on, and the list of skipped records. What to do with the data is
left to the domain modules; errors are left to `cli.errors`.
"""

from __future__ import annotations

import sys
from contextlib import closing
from typing import Callable, ContextManager

import click
from tqdm import tqdm

from paperwire.ingest import IngestReport
from paperwire.store import Store, open_store

# A long ingest can skip thousands of malformed records; the first ones show what went wrong.
SHOWN_SKIPPED_COUNT = 20


def opened_store(url: str) -> ContextManager[Store]:
    """The store at `url` (migrated on open), closed when the block ends; raises StoreError."""
    return closing(open_store(url))


def progress_bar(description: str, total: int | None = None, unit: str = "paper") -> tqdm:
    """A progress bar with counts and rate on stderr; quiet when stderr is not a terminal."""
    return tqdm(
        total=total, desc=description, unit=unit, unit_scale=True, dynamic_ncols=True,
        file=sys.stderr, disable=None, mininterval=0.5,
    )


def moves(bar: tqdm) -> Callable[[int, int], None]:
    """An on_progress(done, total) callback that moves `bar` to `done` of `total`."""
    def on_progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return on_progress


class StageBars:
    """One progress bar per stage of a long job (papers, then vectors...), each opened when
    its stage first reports and all closed when the block ends."""

    def __init__(self, description: str, *, unit_of: Callable[[str], str] = lambda stage: "paper"):
        self._description = description
        self._unit_of = unit_of
        self._bars: dict[str, tqdm] = {}

    def update(self, stage: str, count: int, total: int | None = None) -> None:
        """Move `stage`'s bar on by `count` (of `total`, when its bar is first opened)."""
        if stage not in self._bars:
            self._bars[stage] = progress_bar(f"{self._description} {stage}", total, unit=self._unit_of(stage))
        self._bars[stage].update(count)

    def __enter__(self) -> "StageBars":
        return self

    def __exit__(self, *exc_info) -> None:
        for bar in self._bars.values():
            bar.close()


def echo_skipped(report: IngestReport) -> None:
    """Print an ingest's first skipped records (id and reason) on stderr, and how many more there were."""
    for record in report.skipped[:SHOWN_SKIPPED_COUNT]:
        click.echo(f"skipped {record.record_id}: {record.reason}", err=True)
    if report.skipped_count > SHOWN_SKIPPED_COUNT:
        click.echo(f"... and {report.skipped_count - SHOWN_SKIPPED_COUNT} more skipped", err=True)
