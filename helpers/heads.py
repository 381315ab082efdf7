"""Attention-head detectors: scores computed from attention patterns (notebooks 03 and 04).

Each score is the average attention mass a head puts where a head of that kind would look,
so it lies in [0, 1], and a hand-made perfect pattern scores exactly 1.

- previous-token: query at position i attends to i - 1.
- induction: on a sequence repeated twice (period ``period``), query i attends to the token
  after the previous occurrence of its own token, i.e. key ``i - period + 1``.
- duplicate-token: query i attends to the previous occurrence of its own token, key ``i - period``.
- first-token: attention to position 0 (BOS), the "resting" position.
"""

from __future__ import annotations

from typing import no_type_check

import torch
from jaxtyping import Float
from torch import Tensor

from helpers.errors import ShapeError

Pattern = Float[Tensor, "batch n_heads query_pos key_pos"]


def _check(pattern: Tensor) -> Tensor:
    if pattern.dim() == 3:
        pattern = pattern.unsqueeze(0)
    if pattern.dim() != 4 or pattern.shape[-1] != pattern.shape[-2]:
        raise ShapeError(
            f"pattern must be [batch, n_heads, query_pos, key_pos] with square positions, got {tuple(pattern.shape)}."
        )
    return pattern


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def offset_score(pattern: Pattern, offset: int, first_query: int = 0) -> Float[Tensor, " n_heads"]:
    """Mean attention from query ``i`` to key ``i - offset``, over queries ``i >= max(offset, first_query)``."""
    p = _check(pattern)
    diag = p.diagonal(offset=-offset, dim1=-2, dim2=-1)  # [batch, head, pos - offset]: query i = offset + j
    start = max(first_query - offset, 0)
    return diag[..., start:].mean(dim=(0, -1))


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def previous_token_score(pattern: Pattern) -> Float[Tensor, " n_heads"]:
    """Attention from each position to the one before it."""
    return offset_score(pattern, 1, first_query=1)


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def induction_score(pattern: Pattern, period: int, bos: bool = True) -> Float[Tensor, " n_heads"]:
    """On ``[BOS] r r`` (``len(r) == period``), attention from each query in the second repeat
    to the token right after its token's previous occurrence (key ``i - period + 1``).
    ``bos=False`` for ``r r`` with no BOS in front."""
    return offset_score(pattern, period - 1, first_query=period + int(bos))


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def duplicate_token_score(pattern: Pattern, period: int, bos: bool = True) -> Float[Tensor, " n_heads"]:
    """On ``[BOS] r r``, attention from the second repeat to the previous occurrence of the same token."""
    return offset_score(pattern, period, first_query=period + int(bos))


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def first_token_score(pattern: Pattern) -> Float[Tensor, " n_heads"]:
    """Mean attention to position 0 over queries after the first."""
    p = _check(pattern)
    return p[..., 1:, 0].mean(dim=(0, -1))


def all_scores(cache: object, n_layers: int, period: int) -> dict[str, Float[Tensor, "n_layers n_heads"]]:
    """Every detector for every head, from a cache of a run on repeated tokens ``[BOS] r r``.

    ``period`` is the length of ``r``; with the BOS in front, the repeat sits ``period`` later.
    """
    out: dict[str, list[Tensor]] = {"previous_token": [], "induction": [], "duplicate_token": [], "first_token": []}
    for layer in range(n_layers):
        p = cache[f"blocks.{layer}.attn.hook_pattern"]  # type: ignore[index]
        out["previous_token"].append(previous_token_score(p))
        out["induction"].append(induction_score(p, period, bos=True))
        out["duplicate_token"].append(duplicate_token_score(p, period, bos=True))
        out["first_token"].append(first_token_score(p))
    return {k: torch.stack(v) for k, v in out.items()}
