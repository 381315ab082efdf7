"""Exercises of notebook 01 (the 0-layer transformer): the references are ``helpers.bigram``'s."""

from __future__ import annotations

import torch

from helpers import bigram
from helpers.exercises import Exercise


def _rows() -> list[tuple[torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.tensor([[0, 1, 2, 1, 2], [0, 2, 2, 3, 3]]), 4), (torch.randint(0, 7, (6, 9), generator=g), 7)]


def _distributions() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    p, q = torch.randn(6, 6, generator=g).log_softmax(-1), torch.randn(6, 6, generator=g).log_softmax(-1)
    return [(p, q, torch.rand(6, generator=g) + 0.1), (p, q, torch.ones(6))]


EXERCISES = (
    Exercise(
        name="bigram_counts",
        notebook="01",
        reference=bigram.bigram_counts,
        hint="pair rows[:, :-1] with rows[:, 1:] (not across rows), and index counts as [current, next].",
        examples=_rows,
    ),
    Exercise(
        name="mean_kl",
        notebook="01",
        reference=bigram.mean_kl,
        hint="KL(p || q) = sum_b p(b) (log p(b) - log q(b)): exponentiate p_log for the weights, sum over the last "
        "axis, then take the weighted mean.",
        examples=_distributions,
    ),
)
