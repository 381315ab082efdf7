"""Exercises of notebook 04 (a full transformer)."""

from __future__ import annotations

import torch

from helpers import circuits
from helpers.exercises import Exercise


def frozen_ln_attribution(terms: torch.Tensor, scale: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    centred = terms - terms.mean(-1, keepdim=True)  # centering is linear: apply it per term
    return ((centred / scale) * direction).sum(-1)  # the scale is a constant once frozen


def _attribution_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(5, 3, 8, generator=g), torch.rand(3, 1, generator=g) + 0.5, torch.randn(3, 8, generator=g))]


def _tokens() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.tensor([[0, 5, 6, 7, 5, 6, 5, 7]]),), (torch.randint(0, 5, (3, 20), generator=g),)]


EXERCISES = (
    Exercise(
        name="frozen_ln_attribution",
        notebook="04",
        reference=frozen_ln_attribution,
        hint="centre each term over the last axis (d_model) before dividing by the scale; sum over d_model, not over terms.",
        examples=_attribution_inputs,
    ),
    Exercise(
        name="induction_mask",
        notebook="04",
        reference=circuits.repeated_bigram_mask,
        hint="compare bigrams (tokens[i], tokens[i+1]) with *earlier* ones only (j < i), and pad the last position with False.",
        examples=_tokens,
    ),
)
