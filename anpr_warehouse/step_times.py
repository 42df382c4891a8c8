"""Where a build's seconds go: named steps timed in-process.

Why: a monthly run's cost is mostly fixed work (dbt start-up and parse, per-node overhead of data
tests, publishing the snapshot), and guessing which part dominates has been wrong before. `anpr build`
and `publish_snapshot` add their steps here; scripts/benchmark.py reads them after the command in the
same process and records them next to the phase, so the official figures carry the breakdown. With
ANPR_STEP_TIMES=1 the build also prints them as one machine-readable line on stderr
(`anpr-steps: {...}`), for a run outside the benchmark.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

_steps: dict[str, float] = {}


def reset() -> None:
    """Forgets earlier steps (the benchmark calls it before each timed command)."""
    _steps.clear()


def add(step: str, value: float) -> None:
    """Adds seconds (or a count) to a step; a step met several times (build rounds) accumulates."""
    _steps[step] = _steps.get(step, 0.0) + value


@contextmanager
def timed(step: str) -> Iterator[None]:
    """Times the block into `step`, also when it raises (a failed step still took its time)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        add(step, time.perf_counter() - started)


def steps() -> dict[str, float]:
    """The steps so far, rounded for a report."""
    return {name: round(value, 2) for name, value in _steps.items()}


def emit_if_asked() -> None:
    """Prints the steps as one JSON line on stderr when ANPR_STEP_TIMES is set."""
    if os.environ.get("ANPR_STEP_TIMES"):
        print("anpr-steps: " + json.dumps(steps(), sort_keys=True), file=sys.stderr)
