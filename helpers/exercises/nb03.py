"""Exercises of notebook 03 (induction heads): references, hints and the mistakes their checks name."""

from __future__ import annotations

import torch

from helpers import circuits, heads
from helpers.exercises import Exercise, Mistake


def _patterns() -> list[tuple[torch.Tensor, int]]:
    """Random causal patterns on [BOS] r r, shaped like a cache's hook_pattern."""
    g = torch.Generator().manual_seed(0)
    period = 6
    n = 2 * period + 1
    scores = torch.randn(2, 3, n, n, generator=g).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return [(scores.softmax(-1), period)]


def _induction_wrong_axes(pattern: torch.Tensor, period: int) -> torch.Tensor:
    return pattern.diagonal(offset=-(period - 1), dim1=-2, dim2=-1)[..., 2:].mean(dim=(0, 1))


def _matrix_pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    low_rank = [torch.randn(8, 2, generator=g) @ torch.randn(2, 8, generator=g) for _ in range(4)]
    return [(low_rank[0], low_rank[1]), (low_rank[2], low_rank[3])]


EXERCISES = (
    Exercise(
        name="induction_score",
        notebook="03",
        reference=heads.induction_score,
        hint="queries start at period + 1 (the BOS shifts the second copy by one); the key is i - period + 1; "
        "average over batch and queries, keep the head axis.",
        mistakes=(
            Mistake(
                "the duplicate-token offset (key i - period, the previous occurrence of the same token)",
                "An induction head attends to the token *after* the previous occurrence: key i - period + 1.",
                lambda pattern, period: heads.offset_score(pattern, period, first_query=period + 1),
            ),
            Mistake(
                "an off-by-one key offset (key i - period + 2)",
                "The token after the previous occurrence of token i sits at i - period + 1.",
                lambda pattern, period: heads.offset_score(pattern, period - 2, first_query=period + 1),
            ),
            Mistake(
                "forgetting the BOS: your queries start at position period, the last token of the first copy",
                "With [BOS] in front, the second copy starts at position period + 1.",
                lambda pattern, period: heads.offset_score(pattern, period - 1, first_query=period),
            ),
            Mistake(
                "averaging over the heads instead of over the queries",
                "Reduce over the batch axis and the query positions; the result has one score per head.",
                _induction_wrong_axes,
            ),
        ),
        examples=_patterns,
    ),
    Exercise(
        name="composition_score",
        notebook="03",
        reference=circuits.composition_score,
        hint="||W_A W_B||_F / (||W_A||_F ||W_B||_F): .norm() of a matrix is its Frobenius norm.",
        mistakes=(
            Mistake(
                "the product in the wrong order (W_B W_A)",
                "W_A writes into the residual stream and W_B reads from it: multiply W_A @ W_B.",
                lambda W_A, W_B: float((W_B @ W_A).norm() / (W_A.norm() * W_B.norm())),
            ),
            Mistake(
                "a missing normalisation",
                "Divide by ||W_A||_F ||W_B||_F, so that the score does not grow with the weights' scale.",
                lambda W_A, W_B: float((W_A @ W_B).norm()),
            ),
        ),
        examples=_matrix_pairs,
    ),
)
