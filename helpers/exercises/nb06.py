"""Exercises of notebook 06 (grokking and its algorithm)."""

from __future__ import annotations

import torch

from helpers import fourier
from helpers.exercises import Exercise


def fourier_basis(p: int) -> torch.Tensor:
    """``helpers.fourier.fourier_basis`` without its row names."""
    return fourier.fourier_basis(p)[0]


def excluded_loss(logits: torch.Tensor, freqs: list[int], train_pairs: torch.Tensor) -> float:
    return fourier.grid_loss(fourier.excluded_logits(logits, freqs), pairs=train_pairs)


def _grid() -> list[tuple[torch.Tensor, list[int], torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(13, 13, 13, generator=g), [1, 2], torch.tensor([[0, 1], [3, 4], [12, 5]]))]


EXERCISES = (
    Exercise(
        name="fourier_basis",
        notebook="06",
        reference=fourier_basis,
        hint="normalise each row (the constant row is 1/sqrt(p)); order const, cos 1, sin 1, cos 2, ...",
        examples=lambda: [(5,), (13,)],
    ),
    Exercise(
        name="excluded_loss",
        notebook="06",
        reference=excluded_loss,
        hint="evaluate on the training pairs only (pairs=train_pairs), not on all p^2 pairs",
        examples=_grid,
    ),
)
