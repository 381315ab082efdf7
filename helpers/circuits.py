"""Circuits of attention-only transformers (notebooks 02 and 03).

Following "A Mathematical Framework for Transformer Circuits" (Elhage et al. 2021): with no
MLPs and no LayerNorm the logits are a sum of paths, so we can read them off the weights.

- The logits split into the direct path plus one term per head are
  ``helpers.dla.direct_logit_attribution(...).direct_and_heads()``: the course's one DLA.
- ``full_qk_circuit`` / ``full_ov_circuit``: the token-to-token matrices ``W_E W_QK W_E^T`` and
  ``W_E W_OV W_U`` of a head, as TransformerLens ``FactoredMatrix`` objects built on the bridge's
  ``model.QK[l, h]`` / ``model.OV[l, h]``: ``d_vocab x d_vocab`` but stored as two thin factors.
- ``copying_score``: sum of the eigenvalues over the sum of their absolute values (+1: copies);
  ``FactoredMatrix.eigenvalues`` takes them from the small ``B A`` instead of ``A B``.
- ``weighted_value_norms``: ``||alpha_ij f(x_j)||``, the norm-based attention analysis of
  Kobayashi et al. (EMNLP 2020, "Attention is Not Only a Weight").
- ``composition_score`` and ``k_composition_scores``: how much a layer-1 head's keys read what a
  layer-0 head writes, against ``random_composition_baseline``.
- ``ablate_heads`` / ``patch_heads``: run the model with heads' outputs zeroed, or copied in
  from another run (activation patching), through ``helpers.interventions``.
- ``repeat_losses``: loss on the first and second copy of ``[BOS] r r``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import no_type_check

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor
from transformer_lens import FactoredMatrix
from transformer_lens.model_bridge import TransformerBridge

from helpers import interventions
from helpers.errors import ShapeError
from helpers.training import next_token_loss

Head = tuple[int, int]


def head_labels(n_layers: int, n_heads: int) -> list[str]:
    """``["L0H0", "L0H1", ...]`` in layer-major order, the order of ``Attribution.direct_and_heads``."""
    return [f"L{layer}H{head}" for layer in range(n_layers) for head in range(n_heads)]


def full_qk_circuit(model: TransformerBridge, layer: int, head: int) -> FactoredMatrix:
    """The token QK circuit ``W_E W_Q W_K^T W_E^T`` (``d_vocab x d_vocab``, factored).

    Entry ``[a, b]`` is the attention score of a query token ``a`` on a key token ``b``
    (ignoring positions); ``.A[a] @ .B`` forms one row without forming the matrix.
    """
    return model.W_E @ model.QK[layer, head] @ model.W_E.T


def full_ov_circuit(model: TransformerBridge, layer: int, head: int) -> FactoredMatrix:
    """The token OV circuit ``W_E W_V W_O W_U`` (``d_vocab x d_vocab``, factored).

    Row ``b`` is what attending to token ``b`` adds to the logits.
    """
    return model.W_E @ model.OV[layer, head] @ model.W_U


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def copying_score(matrix: FactoredMatrix | Float[Tensor, "n n"]) -> float:
    """``sum(eigenvalues) / sum(|eigenvalues|)`` of a square matrix, e.g. ``full_ov_circuit(model, 0, h)``.

    +1 for a matrix that copies (all eigenvalues positive, e.g. the identity), -1 for one that
    suppresses. The nonzero eigenvalues of ``A B`` equal those of ``B A``, so for a factored
    ``d_vocab x d_vocab`` circuit ``FactoredMatrix.eigenvalues`` needs only a ``d_head x d_head``
    eigendecomposition.
    """
    if isinstance(matrix, FactoredMatrix):
        eig = matrix.eigenvalues.detach().to(torch.complex128)
    elif matrix.dim() != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ShapeError(
            f"copying_score needs a square matrix, got {tuple(matrix.shape)}; wrap two factors as FactoredMatrix(A, B)."
        )
    else:
        eig = torch.linalg.eigvals(matrix.detach().double())
    return float(eig.sum().real / eig.abs().sum())


def weighted_value_norms(
    pattern: Float[Tensor, "batch head q k"],
    v: Float[Tensor, "batch k head d_head"],
    W_O: Float[Tensor, "head d_head d_model"],
) -> Float[Tensor, "batch head q k"]:
    """``||alpha_ij f(x_j)||`` (Kobayashi et al. 2020) with ``f(x_j) = v_j W_O``, the vector that key
    ``j`` actually adds to query ``i``'s output (``alpha_ij`` times it). The value bias is in
    ``v`` already; ``b_O`` is shared by all keys and left out.
    """
    if pattern.shape[1] != v.shape[2] or pattern.shape[-1] != v.shape[1]:
        raise ShapeError(f"pattern {tuple(pattern.shape)} and v {tuple(v.shape)} disagree on heads or key positions.")
    fx = torch.einsum("bkhd,hdm->bhkm", v, W_O).norm(dim=-1)  # [batch head k]
    return pattern * fx.unsqueeze(2)


def composition_score(W_A: Float[Tensor, "d_model d_model"], W_B: Float[Tensor, "d_model d_model"]) -> float:
    """``||W_A W_B||_F / (||W_A||_F ||W_B||_F)``, in [0, 1] (Elhage et al. 2021)."""
    if W_A.shape[1] != W_B.shape[0]:
        raise ShapeError(f"W_A {tuple(W_A.shape)} and W_B {tuple(W_B.shape)} cannot be multiplied.")
    W_A, W_B = W_A.detach(), W_B.detach()
    return float((W_A @ W_B).norm() / (W_A.norm() * W_B.norm()))


@torch.no_grad()
def k_composition_scores(
    model: TransformerBridge, earlier: int = 0, later: int = 1
) -> Float[Tensor, "later_head earlier_head"]:
    """K-composition of each head of layer ``later`` with each head of layer ``earlier``:
    ``composition_score(W_OV[earlier, h0], W_QK[later, h1]^T)``: how much the keys of ``h1`` are
    built from what ``h0`` writes."""
    n = model.cfg.n_heads
    ov = model.OV[earlier].AB  # [head d_model d_model]
    qk = model.QK[later].AB
    return torch.tensor([[composition_score(ov[h0], qk[h1].T) for h0 in range(n)] for h1 in range(n)])


def random_composition_baseline(
    d_model: int, d_head: int, n_samples: int = 200, seed: int = 0
) -> Float[Tensor, " n_samples"]:
    """Composition scores of random low-rank matrices shaped like ``W_OV`` and ``W_QK``
    (each a product of two Gaussian ``d_model x d_head`` factors): what "no composition" looks like."""
    gen = torch.Generator().manual_seed(seed)

    def low_rank() -> Tensor:
        return torch.randn(d_model, d_head, generator=gen) @ torch.randn(d_head, d_model, generator=gen)

    return torch.tensor([composition_score(low_rank(), low_rank()) for _ in range(n_samples)])


def spectrum_preserving_baseline(
    W_A: Float[Tensor, "d_model d_model"], W_B: Float[Tensor, "d_model d_model"], n_samples: int = 200, seed: int = 0
) -> Float[Tensor, " n_samples"]:
    """Composition scores of ``W_A Q`` with ``W_B``, for random rotations ``Q`` of the residual stream
    (notebook 03): a null for one pair of heads that keeps both matrices' singular values.

    A Gaussian baseline (``random_composition_baseline``) has a flat spectrum, while trained
    matrices put their norm in a few directions, which raises the score by itself. Rotating the
    space between the two keeps each spectrum and randomises only how they line up.
    (``Q W_A`` would change nothing: the Frobenius norm ignores a rotation of its output side.)
    """
    gen = torch.Generator().manual_seed(seed)
    d = W_A.shape[-1]
    scores = []
    for _ in range(n_samples):
        q, r = torch.linalg.qr(torch.randn(d, d, generator=gen))
        q = q * torch.sign(torch.diagonal(r))  # Haar-distributed: fix the signs QR leaves free
        scores.append(composition_score(W_A.float() @ q, W_B.float()))
    return torch.tensor(scores)


@torch.no_grad()
def ablate_heads(
    model: TransformerBridge, tokens: Int[Tensor, "batch pos"], heads: Sequence[Head]
) -> Float[Tensor, "batch pos d_vocab"]:
    """Logits with the outputs of ``heads`` (``(layer, head)`` pairs) set to zero."""
    return interventions.ablate(model, tokens, [interventions.head_site(layer, head) for layer, head in heads])


@torch.no_grad()
def patch_heads(
    model: TransformerBridge,
    tokens: Int[Tensor, "batch pos"],
    source_cache: object,
    heads: Sequence[Head],
    positions: slice = slice(None),
) -> Float[Tensor, "batch pos d_vocab"]:
    """Logits of a run on ``tokens`` where the outputs (``hook_z``) of ``heads`` at ``positions``
    are replaced by their values in ``source_cache`` (a cache of another run, same shape)."""
    return interventions.patch(
        model, tokens, source_cache, [interventions.head_site(l, h, positions) for l, h in heads]
    )  # type: ignore[arg-type]


def repeat_losses(logits: Float[Tensor, "batch pos d_vocab"], tokens: Int[Tensor, "batch pos"]) -> tuple[float, float]:
    """Mean loss on predicting the first and the second copy of ``[BOS] r r`` (excluding each copy's first token,
    which cannot be predicted from context)."""
    period = (tokens.shape[1] - 1) // 2
    if tokens.shape[1] != 2 * period + 1:
        raise ShapeError(f"tokens must be [BOS] r r with an odd length, got length {tokens.shape[1]}.")
    loss = next_token_loss(logits.detach(), tokens)  # loss[:, j] is for token j + 1
    return float(loss[:, 1:period].mean()), float(loss[:, period + 1 :].mean())


def icl_score(
    per_token_loss: Float[Tensor, "batch pos"], early: slice = slice(5, 15), late: slice = slice(95, 105)
) -> float:
    """In-context-learning score (Olsson et al. 2022): loss late in the context minus loss early in it.
    Negative: the model predicts better with more context."""
    per_token_loss = per_token_loss.detach()
    return float(per_token_loss[:, late].mean() - per_token_loss[:, early].mean())


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def repeated_bigram_mask(tokens: Int[Tensor, "batch pos"]) -> Bool[Tensor, "batch pos"]:
    """True at position ``i`` when the bigram ``(tokens[i], tokens[i+1])`` already occurred earlier
    in the row (some ``j < i`` with the same two tokens): where an induction head can predict the
    next token by copying (notebooks 03 and 04). The last position has no next token: False.
    """
    if tokens.dim() != 2:
        raise ShapeError(f"tokens must be [batch, pos], got shape {tuple(tokens.shape)}.")
    cur, nxt = tokens[:, :-1], tokens[:, 1:]  # bigram (cur[i], nxt[i]) starts at position i
    same = (cur[:, :, None] == cur[:, None, :]) & (nxt[:, :, None] == nxt[:, None, :])  # [batch, i, j]
    earlier = torch.ones(cur.shape[1], cur.shape[1], dtype=torch.bool, device=tokens.device).tril(-1)  # j < i
    mask = (same & earlier).any(-1)
    return torch.cat([mask, torch.zeros(tokens.shape[0], 1, dtype=torch.bool, device=tokens.device)], dim=1)
