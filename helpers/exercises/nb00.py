"""Exercises of notebook 00 (a tour of the toolkit)."""

from __future__ import annotations

import torch

from helpers.exercises import Exercise


def attention_pattern(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1] ** 0.5
    n = q.shape[1]
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)


def ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    z = z.clone()  # a hook must not change the cached activation in place
    z[:, :, head] = 0.0
    return z


def _qk() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(2, 5, 3, 4, generator=g), torch.randn(2, 5, 3, 4, generator=g))]


def _z() -> list[tuple[torch.Tensor, int]]:
    z = torch.randn(2, 5, 4, 3, generator=torch.Generator().manual_seed(0))
    return [(z, 0), (z, 3)]


EXERCISES = (
    Exercise(
        name="attention_pattern",
        notebook="00",
        reference=attention_pattern,
        hint="scores q.k / sqrt(d_head) as [batch, head, query, key], mask keys after the query with -inf, softmax over keys.",
        examples=_qk,
    ),
    Exercise(
        name="ablate_head",
        notebook="00",
        reference=ablate_head,
        hint="the head axis is the third one (index 2), and clone first so the cache is not changed in place.",
        examples=_z,
    ),
)
