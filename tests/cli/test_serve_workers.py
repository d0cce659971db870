"""`paperwire serve`'s default worker count: one process per usable core, at most four."""

import os

from paperwire.cli.serve import DEFAULT_MAX_WORKERS, default_workers


def test_the_default_is_one_process_per_usable_core_at_most_four():
    assert default_workers() == min(len(os.sched_getaffinity(0)), DEFAULT_MAX_WORKERS) >= 1
