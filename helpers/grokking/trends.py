"""Reading a grid of grokking runs: does a setting make grokking sooner? (notebook 07)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TrendEvidence:
    """How a grid of steps-to-grok changes along one axis (``trend_evidence``)."""

    n_sooner: int  # neighbouring pairs where the larger setting grokked sooner
    n_later: int  # ... where it grokked later (or did not grok while the smaller one did)
    n_tied: int  # ... where both grokked at the same step
    n_uninformative: int  # ... where neither run grokked: a tie between two failures is no evidence

    @property
    def n_informative(self) -> int:
        return self.n_sooner + self.n_later + self.n_tied


def trend_evidence(steps: Any, axis: int) -> TrendEvidence:
    """Compare neighbouring cells of ``steps`` (steps to grok, ``inf`` for a run that missed the cap)
    along ``axis``, the axis of a setting listed in increasing order (notebook 07).

    A claim "more X makes grokking sooner" should rest on the pairs where at least one run grokked:
    two runs that both missed the cap tie at ``inf``, and counting that tie as "not later" would
    let a grid where nothing groks pass.
    """
    import numpy as np

    t = np.moveaxis(np.asarray(steps, dtype=float), axis, -1)
    a, b = t[..., :-1].ravel(), t[..., 1:].ravel()  # smaller setting, next larger setting
    both_failed = np.isinf(a) & np.isinf(b)
    return TrendEvidence(
        n_sooner=int((b < a).sum()),
        n_later=int((b > a).sum()),
        n_tied=int(((a == b) & ~both_failed).sum()),
        n_uninformative=int(both_failed.sum()),
    )
