"""Count-based bigram tables and the 0-layer transformer (notebook 01).

A 0-layer transformer's logits at a position depend only on the token there and on the position:
``(W_E[a] + W_pos[p]) W_U + b_U``. Apart from a shift per position, the best it can do is the
bigram distribution ``P(next | a)``, which we can also just count. This module counts it,
compares a model with it (KL), and lists the top next and previous tokens of a table.
"""

from __future__ import annotations

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers.errors import ShapeError


def bigram_counts(rows: Int[Tensor, "batch pos"], d_vocab: int) -> Float[Tensor, "d_vocab d_vocab"]:
    """``counts[a, b]`` = how often token ``b`` directly follows token ``a`` inside a row."""
    if rows.dim() != 2 or rows.shape[1] < 2:
        raise ShapeError(f"rows must be [batch, pos] with pos >= 2, got {tuple(rows.shape)}.")
    if int(rows.max()) >= d_vocab or int(rows.min()) < 0:
        raise ShapeError(
            f"token ids must lie in [0, {d_vocab}); got max {int(rows.max())}. Pass the tokenizer's vocab size."
        )
    pairs = rows[:, :-1].reshape(-1) * d_vocab + rows[:, 1:].reshape(-1)
    return torch.bincount(pairs, minlength=d_vocab * d_vocab).view(d_vocab, d_vocab).float()


def bigram_log_probs(counts: Float[Tensor, "d_vocab d_vocab"], alpha: float = 0.1) -> Float[Tensor, "d_vocab d_vocab"]:
    """``log P(next = b | current = a)`` with add-``alpha`` smoothing (every row sums to 1)."""
    smoothed = counts + alpha
    return (smoothed / smoothed.sum(-1, keepdim=True)).log()


def unigram_log_probs(counts: Float[Tensor, "d_vocab d_vocab"], alpha: float = 0.1) -> Float[Tensor, " d_vocab"]:
    """``log P(next = b)`` ignoring the current token: the best context-free prediction."""
    col = counts.sum(0) + alpha
    return (col / col.sum()).log()


@torch.no_grad()
def zero_layer_log_probs(model: TransformerBridge) -> Float[Tensor, "d_vocab d_vocab"]:
    """The 0-layer model's next-token log-probabilities for every current token, the position-independent
    part of the model: ``log_softmax(W_E W_U + mean_p(W_pos) W_U + b_U)``.

    The logits at token ``a`` in position ``p`` are ``(W_E[a] + W_pos[p]) W_U + b_U``. ``W_pos[p]``
    splits into its mean over positions, which is added at every position and so acts as a bias
    (trained models store a large one there: without it attn0l's loss rises by about 0.6 nats,
    notebook 01), and a remainder that averages to zero over positions: the only part that depends on
    the position, left out here.
    """
    if model.cfg.n_layers != 0:
        raise ShapeError(f"zero_layer_log_probs needs a 0-layer model, this one has {model.cfg.n_layers} layers.")
    return ((model.W_E + model.W_pos.mean(0)) @ model.W_U + model.b_U).log_softmax(-1)


def mean_kl(
    p_log: Float[Tensor, "d_vocab d_vocab"],
    q_log: Float[Tensor, "d_vocab d_vocab"] | Float[Tensor, " d_vocab"],
    weights: Float[Tensor, " d_vocab"],
) -> float:
    """``sum_a w_a KL(p(.|a) || q(.|a))`` with ``w`` normalised: the KL averaged over current tokens
    as often as they occur. ``q_log`` may be one distribution for all rows (the unigram)."""
    q = q_log.expand_as(p_log)
    kl = (p_log.exp() * (p_log - q)).sum(-1)
    w = weights / weights.sum()
    return float((w * kl).sum())


def top_next(table: Float[Tensor, "d_vocab d_vocab"], token: int, k: int = 10) -> tuple[list[int], list[float]]:
    """The ``k`` tokens with the highest ``table[token, b]``: "what follows this token?"."""
    vals, idx = table[token].topk(k)
    return idx.tolist(), vals.tolist()


def top_previous(table: Float[Tensor, "d_vocab d_vocab"], token: int, k: int = 10) -> tuple[list[int], list[float]]:
    """The ``k`` tokens ``a`` with the highest ``table[a, token]``: "after which tokens is this one most likely?"."""
    vals, idx = table[:, token].topk(k)
    return idx.tolist(), vals.tolist()
