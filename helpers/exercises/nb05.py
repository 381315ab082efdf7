"""Exercises of notebook 05 (sentiment, tokenizers, sweeps)."""

from __future__ import annotations

from typing import Callable, Sequence

import torch

from helpers.exercises import Exercise


def cls_dla(pattern: torch.Tensor, head_out: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    return torch.einsum("hk,hkd,d->k", pattern, head_out, direction)


def tokens_per_review(encode: Callable[[str], Sequence[int]], texts: Sequence[str]) -> float:
    return sum(len(encode(t)) for t in texts) / len(texts)


def _dla_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.rand(2, 5, generator=g).softmax(-1), torch.randn(2, 5, 8, generator=g), torch.randn(8, generator=g)),
        (torch.rand(1, 3, generator=g), torch.randn(1, 3, 4, generator=g), torch.randn(4, generator=g)),
    ]


def _texts() -> list[tuple[Callable[[str], Sequence[int]], list[str]]]:
    return [(list, ["abc", "de"]), (str.split, ["a b c", "d", "e f"])]


EXERCISES = (
    Exercise(
        name="cls_dla",
        notebook="05",
        reference=cls_dla,
        hint="weight each head's write by its attention, project on the direction, then sum over heads (not positions).",
        examples=_dla_inputs,
    ),
    Exercise(
        name="tokens_per_review",
        notebook="05",
        reference=tokens_per_review,
        hint="average the lengths of the encodings, not of the texts.",
        examples=_texts,
    ),
)
