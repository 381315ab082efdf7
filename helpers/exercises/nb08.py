"""Exercises of notebook 08 (find-min)."""

from __future__ import annotations

import torch

from helpers.exercises import Exercise


def predict_sep_attention(qk: torch.Tensor, seq: list[int]) -> torch.Tensor:
    scores = qk[torch.arange(len(seq)), torch.tensor(seq)]  # one score per key: (position i, value seq[i])
    return scores.softmax(dim=0)


def circuit_predict(qk: torch.Tensor, ov: torch.Tensor, seqs: torch.Tensor) -> torch.Tensor:
    attn = qk[torch.arange(seqs.shape[1]), seqs].softmax(dim=-1)  # [batch, n]
    logits = torch.einsum("bn,bnv->bv", attn, ov[seqs])
    return logits.argmax(dim=-1)


def _qk() -> torch.Tensor:
    return torch.randn(5, 64, generator=torch.Generator().manual_seed(0)) * 3


def _sequences() -> list[tuple[torch.Tensor, list[int]]]:
    return [(_qk(), [40, 7, 9, 55, 12]), (_qk(), [3, 2, 60, 61, 62])]


def _tables() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(_qk(), torch.randn(64, 64, generator=g), torch.randint(0, 64, (50, 5), generator=g))]


EXERCISES = (
    Exercise(
        name="predict_sep_attention",
        notebook="08",
        reference=predict_sep_attention,
        hint="index the table with (position i, value seq[i]) for each i, then softmax over the n keys.",
        examples=_sequences,
    ),
    Exercise(
        name="circuit_predict",
        notebook="08",
        reference=circuit_predict,
        hint="attention over each row's n keys is a softmax of qk[i, seq[i]]; the logits are sum_i attn_i * ov[seq[i]].",
        examples=_tables,
    ),
)
