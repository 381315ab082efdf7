"""Small analysis tools shared across notebooks.

Topic-specific tools live in their own modules (introduced by the notebook named in each
docstring); this module holds the ones every notebook uses.
"""

from __future__ import annotations

from typing import Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor


def to_str_tokens(tokenizer: object, tokens: Int[Tensor, " pos"] | Sequence[int]) -> list[str]:
    """Token ids as display strings (BOS shown as ``<|bos|>``), using the course tokenizer."""
    ids = tokens.tolist() if isinstance(tokens, Tensor) else list(tokens)
    return [tokenizer.id_to_str(i) for i in ids]  # type: ignore[attr-defined]


def entropy(probs: Float[Tensor, "... d"], dim: int = -1) -> Float[Tensor, "..."]:
    """Shannon entropy in nats along ``dim`` (zero-probability terms count as 0)."""
    return -(probs * probs.clamp_min(1e-30).log()).sum(dim)


def kl_divergence(p_log: Float[Tensor, "... d"], q_log: Float[Tensor, "... d"]) -> Float[Tensor, "..."]:
    """KL(p || q) from log-probabilities, in nats."""
    return (p_log.exp() * (p_log - q_log)).sum(-1)


def top_k_tokens(
    scores: Float[Tensor, " d_vocab"], tokenizer: object, k: int = 10, largest: bool = True
) -> list[tuple[str, float]]:
    """The ``k`` highest (or lowest) scoring tokens with their scores."""
    vals, idx = scores.topk(k, largest=largest)
    return [(tokenizer.id_to_str(int(i)), float(v)) for v, i in zip(vals, idx)]  # type: ignore[attr-defined]


def rank_correlation(x: Tensor, y: Tensor) -> float:
    """Spearman's rank correlation of two 1-D tensors."""
    rx = x.argsort().argsort().float()
    ry = y.argsort().argsort().float()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / (rx.norm() * ry.norm()))
