"""Numbers that summarise distributions and rankings (notebooks 01, 05, 08 and 09).

- ``entropy`` and ``kl_divergence``: of next-token distributions, in nats.
- ``rank_correlation``: Spearman's rho, from ``scipy.stats.spearmanr`` (tied values get their
  average rank, which matters for targets like ``-|v - x|`` in notebook 09, where every
  distance but 0 occurs twice).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import Float
from scipy.stats import spearmanr
from torch import Tensor


def entropy(probs: Float[Tensor, "... d"], dim: int = -1) -> Float[Tensor, "..."]:
    """Shannon entropy in nats along ``dim`` (zero-probability terms count as 0)."""
    return -(probs * probs.clamp_min(1e-30).log()).sum(dim)


def kl_divergence(p_log: Float[Tensor, "... d"], q_log: Float[Tensor, "... d"]) -> Float[Tensor, "..."]:
    """KL(p || q) from log-probabilities, in nats."""
    return (p_log.exp() * (p_log - q_log)).sum(-1)


def _numpy(x: Tensor | Sequence[float]) -> np.ndarray:
    return x.detach().cpu().double().numpy() if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)


def rank_correlation(x: Float[Tensor, " n"] | Sequence[float], y: Float[Tensor, " n"] | Sequence[float]) -> float:
    """Spearman's rank correlation of two equal-length 1-D sequences (ties share their mean rank)."""
    return float(spearmanr(_numpy(x), _numpy(y)).statistic)
