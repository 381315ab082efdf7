"""Exercises of notebook 09 (find-median)."""

from __future__ import annotations

import torch

from helpers.exercises import Exercise


def value_ranks(seqs: torch.Tensor) -> torch.Tensor:
    return seqs.argsort(dim=1).argsort(dim=1)  # positions in sorted order, then each position's rank


def patching_effect(
    clean: torch.Tensor, corrupt: torch.Tensor, patched: torch.Tensor, clean_label: torch.Tensor, corrupt_label: torch.Tensor
) -> torch.Tensor:
    def diff(logits: torch.Tensor) -> torch.Tensor:
        return logits.gather(1, corrupt_label[:, None]).squeeze(1) - logits.gather(1, clean_label[:, None]).squeeze(1)

    return ((diff(patched) - diff(clean)) / (diff(corrupt) - diff(clean))).mean()


def _seqs() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.tensor([[30, 2, 17, 5, 9]]),), (torch.stack([torch.randperm(32, generator=g)[:5] for _ in range(20)]),)]


def _logits() -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(0)
    clean, corrupt = torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g)
    a, b = torch.randint(0, 10, (8,), generator=g), torch.randint(0, 10, (8,), generator=g)
    b = torch.where(a == b, (b + 1) % 10, b)
    return [(clean, corrupt, clean, a, b), (clean, corrupt, corrupt, a, b), (clean, corrupt, (clean + corrupt) / 2, a, b)]


EXERCISES = (
    Exercise(
        name="value_ranks",
        notebook="09",
        reference=value_ranks,
        hint="one argsort gives the positions in sorted order; a second argsort turns that into each position's rank.",
        examples=_seqs,
    ),
    Exercise(
        name="patching_effect",
        notebook="09",
        reference=patching_effect,
        hint="gather the two labels' logits per row, subtract, and normalise by the clean-to-corrupt change before the mean.",
        examples=_logits,
    ),
)
