"""Exercises of notebook 07 (what makes a model grok)."""

from __future__ import annotations

import torch

from helpers.exercises import Exercise


def steps_to_grok(steps: list[int], test_acc: list[float], threshold: float = 0.99) -> int | None:
    return next((s for s, a in zip(steps, test_acc) if a >= threshold), None)


def grokfast_ema(grad: torch.Tensor, ema: torch.Tensor, alpha: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    new = alpha * ema + (1 - alpha) * grad  # the low-pass filter: a slow average of the gradients
    return grad + lam * new, new


def _histories() -> list[tuple[list[int], list[float]]]:
    return [([0, 10, 20, 30], [0.0, 0.5, 0.99, 1.0]), ([0, 10], [0.1, 0.2]), ([0, 5, 10], [0.98, 0.991, 0.5])]


def _grads() -> list[tuple[torch.Tensor, torch.Tensor, float, float]]:
    g = torch.randn(3, generator=torch.Generator().manual_seed(0))
    return [(g, torch.zeros(3), 0.98, 2.0), (g, torch.ones(3), 0.9, 5.0)]


EXERCISES = (
    Exercise(
        name="steps_to_grok",
        notebook="07",
        reference=steps_to_grok,
        hint="use >= (a run that reaches exactly the threshold has grokked) and return None when it never does",
        examples=_histories,
    ),
    Exercise(
        name="grokfast_ema",
        notebook="07",
        reference=grokfast_ema,
        hint="update the EMA first, then amplify with the *new* EMA",
        examples=_grads,
    ),
)
