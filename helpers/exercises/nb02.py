"""Exercises of notebook 02 (one layer of attention)."""

from __future__ import annotations

import torch

from helpers import circuits
from helpers.exercises import Exercise


def head_logits(z: torch.Tensor, W_O: torch.Tensor, W_U: torch.Tensor, head: int) -> torch.Tensor:
    return z[:, :, head] @ W_O[head] @ W_U


def _head_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    z, W_O, W_U = torch.randn(2, 5, 4, 3, generator=g), torch.randn(4, 3, 8, generator=g), torch.randn(8, 11, generator=g)
    return [(z, W_O, W_U, 0), (z, W_O, W_U, 3)]


def _square() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.eye(3),), (torch.randn(6, 6, generator=g),)]


EXERCISES = (
    Exercise(
        name="head_logits",
        notebook="02",
        reference=head_logits,
        hint="select the head on axis 2 of z, then multiply by that head's W_O and by W_U.",
        examples=_head_inputs,
    ),
    Exercise(
        name="copying_score",
        notebook="02",
        reference=circuits.copying_score,
        hint="use the real part of the sum of the eigenvalues, and the sum of their absolute values (complex modulus).",
        examples=_square,
    ),
)
