"""The fuzz tests' budget: how many inputs each property tries, chosen by environment.

`PAPERWIRE_FUZZ` picks a profile: `dev` (the default; a few seconds in all, for the
default run), `ci` (the default when `CI` is set; over two minutes in all on a
2-core machine) or `long`; `PAPERWIRE_FUZZ_EXAMPLES` sets the inputs per test
outright, to fuzz for longer. Every profile is derandomized and keeps no example
database, so a run tries the same inputs each time and CI cannot flake. The tests
here are marked `slow`, like the browser tests: the default run skips them unless
CI is set or slow tests are asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Inputs per test for a weight of 1; a test scales it by how cheap its input is.
EXAMPLES = {"dev": 40, "ci": 3_000, "long": 20_000}


def _examples() -> int:
    if os.environ.get("PAPERWIRE_FUZZ_EXAMPLES"):
        return int(os.environ["PAPERWIRE_FUZZ_EXAMPLES"])
    profile = os.environ.get("PAPERWIRE_FUZZ") or ("ci" if os.environ.get("CI") else "dev")
    if profile not in EXAMPLES:
        raise pytest.UsageError(f"PAPERWIRE_FUZZ={profile!r} is not a profile; use one of {', '.join(EXAMPLES)}")
    return EXAMPLES[profile]


def fuzz(weight: float = 1.0) -> settings:
    """Settings for one fuzz test: the profile's inputs times `weight`, no deadline
    (a loaded CI machine must not turn into failures), deterministic inputs."""
    return settings(
        max_examples=max(10, int(_examples() * weight)),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much, HealthCheck.large_base_example],
    )


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)
