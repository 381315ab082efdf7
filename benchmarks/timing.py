"""What the benchmarks share: time a training step (run them as `python benchmarks/NAME.py`)."""

from __future__ import annotations

import time
from collections.abc import Callable


def time_steps(step_fn: Callable[[], None], n: int) -> float:
    """Milliseconds per call of ``step_fn`` over ``n`` calls, after one warm-up call (allocations, first-call overheads)."""
    step_fn()
    t0 = time.perf_counter()
    for _ in range(n):
        step_fn()
    return 1000 * (time.perf_counter() - t0) / n
