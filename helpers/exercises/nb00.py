"""Exercises of notebook 00 (a tour of the toolkit): references, hints and the mistakes their checks name."""

from __future__ import annotations

import math

import torch

from helpers import bigram, heads, models, training
from helpers.configs import ModelConfig
from helpers.exercises import Exercise, Mistake


def project(resid: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """resid [batch, pos, d_model] @ W [n_heads, d_model, d_head] + b [n_heads, d_head] -> [batch, pos, n_heads, d_head]."""
    return torch.einsum("bpm,hmd->bphd", resid, W) + b


def attention_pattern(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1] ** 0.5
    n = q.shape[1]
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1)


def unigram_loss(train_rows: torch.Tensor, val_rows: torch.Tensor, d_vocab: int) -> float:
    """Cross-entropy (nats) on val_rows[:, 1:] of guessing every token with its add-0.1 frequency in train_rows[:, 1:]."""
    log_p = bigram.unigram_log_probs(
        bigram.bigram_counts(train_rows, d_vocab), alpha=0.1
    )  # counts.sum(0): tokens at positions >= 1
    return float(-log_p[val_rows[:, 1:]].mean())


def ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    z = z.clone()  # a hook must not change the cached activation in place
    z[:, :, head] = 0.0
    return z


def ablation_effects(model: torch.nn.Module, tokens: torch.Tensor, ablate: object) -> torch.Tensor:
    """[n_layers, n_heads]: mean next-token loss with head (l, h) zeroed by ``ablate(z, h)`` at
    blocks.l.attn.hook_z, minus the clean loss."""
    cfg = models.config_of(model)
    with torch.no_grad():
        clean = training.next_token_loss(model(tokens), tokens).mean()
        effects = torch.zeros(cfg.n_layers, cfg.n_heads)
        for layer in range(cfg.n_layers):
            for head in range(cfg.n_heads):
                hook = (f"blocks.{layer}.attn.hook_z", lambda z, hook, h=head: ablate(z, h))  # type: ignore[operator]
                ablated = model.run_with_hooks(tokens, fwd_hooks=[hook])
                effects[layer, head] = training.next_token_loss(ablated, tokens).mean() - clean
    return effects


# --- wrong variants the checks recognise ----------------------------------------------------


def _pattern_no_scale(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return attention_pattern(q * q.shape[-1] ** 0.5, k)


def _pattern_softmax_queries(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1] ** 0.5
    n = q.shape[1]
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-2).nan_to_num(0.0)


def _pattern_no_mask(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return (torch.einsum("bqhd,bkhd->bhqk", q, k) / q.shape[-1] ** 0.5).softmax(dim=-1)


def _ablate_wrong_axis(z: torch.Tensor, head: int) -> torch.Tensor:
    z = z.clone()
    z[:, head] = 0.0
    return z


def _unigram_with_bos(train_rows: torch.Tensor, val_rows: torch.Tensor, d_vocab: int) -> float:
    counts = torch.bincount(train_rows.reshape(-1), minlength=d_vocab).float() + 0.1
    return float(-(counts / counts.sum()).log()[val_rows].mean())


def _cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    b, p, v = logits.shape
    return torch.nn.functional.cross_entropy(logits.reshape(-1, v), targets.reshape(-1), reduction="none").view(b, p)


def _first_token_with_query0(pattern: torch.Tensor) -> torch.Tensor:
    return pattern[..., :, 0].mean(dim=(0, -1))


# --- small seeded inputs for the unit tests --------------------------------------------------


def _projection() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(2, 5, 6, generator=g), torch.randn(3, 6, 4, generator=g), torch.randn(3, 4, generator=g))]


def _qk() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(2, 5, 3, 4, generator=g), torch.randn(2, 5, 3, 4, generator=g))]


def _patterns() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    n = 7
    scores = torch.randn(2, 3, n, n, generator=g).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return [(scores.softmax(-1),)]


def _rows() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    train = torch.randint(1, 9, (20, 12), generator=g)
    val = torch.randint(1, 9, (6, 12), generator=g)
    train[:, 0], val[:, 0] = 0, 0  # every row starts with BOS (id 0), as in the course
    return [(train, val, 9)]


def _logits() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(2, 6, 9, generator=g), torch.randint(0, 9, (2, 6), generator=g))]


def _z() -> list[tuple[torch.Tensor, int]]:
    z = torch.randn(2, 5, 4, 3, generator=torch.Generator().manual_seed(0))
    return [(z, 0), (z, 3)]


def _tiny_model() -> list[tuple[torch.nn.Module, torch.Tensor, object]]:
    model = models.build_model(ModelConfig(d_vocab=11, n_ctx=8, d_model=16, n_layers=2, n_heads=2, d_head=8, seed=0))
    tokens = torch.randint(0, 11, (4, 8), generator=torch.Generator().manual_seed(0))
    return [(model, tokens, ablate_head)]


EXERCISES = (
    Exercise(
        name="project",
        notebook="00",
        reference=project,
        hint="einsum('bpm,hmd->bphd', resid, W), then add the bias b (shape [n_heads, d_head], it broadcasts).",
        mistakes=(
            Mistake(
                "a missing bias (resid @ W without + b)",
                "Add b after the product: q = x W_Q + b_Q (b_Q is zero at initialisation, but not after training).",
                lambda resid, W, b: torch.einsum("bpm,hmd->bphd", resid, W),
            ),
        ),
        examples=_projection,
    ),
    Exercise(
        name="attention_pattern",
        notebook="00",
        reference=attention_pattern,
        hint="scores q.k / sqrt(d_head) as [batch, head, query, key], mask keys after the query with -inf, softmax over keys.",
        mistakes=(
            Mistake(
                "a missing 1/sqrt(d_head) scale on the scores",
                "Divide q.k by sqrt(d_head) (q.shape[-1] ** 0.5) before the softmax.",
                _pattern_no_scale,
            ),
            Mistake(
                "a softmax over the query axis instead of the key axis",
                "Each query's weights over its keys sum to 1: softmax(dim=-1) on [batch, head, query, key].",
                _pattern_softmax_queries,
            ),
            Mistake(
                "a missing causal mask (queries attend to later keys)",
                "Set the scores of keys after the query (torch.triu(..., diagonal=1)) to -inf before the softmax.",
                _pattern_no_mask,
            ),
        ),
        examples=_qk,
    ),
    Exercise(
        name="previous_token_score",
        notebook="00",
        reference=heads.previous_token_score,
        hint="the pairs (query i, key i - 1) lie on pattern.diagonal(offset=-1, dim1=-2, dim2=-1); average it over batch and queries.",
        mistakes=(
            Mistake(
                "the attention of each token to itself (key i instead of i - 1)",
                "The previous token of query i is key i - 1: diagonal(offset=-1).",
                lambda pattern: pattern.diagonal(offset=0, dim1=-2, dim2=-1).mean(dim=(0, -1)),
            ),
            Mistake(
                "a sum over queries instead of a mean",
                "Average over the batch and the queries, so the score is a fraction of attention in [0, 1].",
                lambda pattern: pattern.diagonal(offset=-1, dim1=-2, dim2=-1).sum(-1).mean(0),
            ),
        ),
        examples=_patterns,
    ),
    Exercise(
        name="first_token_score",
        notebook="00",
        reference=heads.first_token_score,
        hint="pattern[..., 1:, 0]: the attention of every query but the first on key 0, averaged over batch and queries.",
        mistakes=(
            Mistake(
                "including query 0, which can only attend to itself (its weight on key 0 is always 1)",
                "Start at query 1: pattern[..., 1:, 0].",
                _first_token_with_query0,
            ),
        ),
        examples=_patterns,
    ),
    Exercise(
        name="unigram_loss",
        notebook="00",
        reference=unigram_loss,
        hint="count the tokens of train_rows[:, 1:] (torch.bincount with minlength=d_vocab), add 0.1, normalise, "
        "take the natural log, then average -log p over the tokens of val_rows[:, 1:].",
        mistakes=(
            Mistake(
                "a loss in bits (log base 2) instead of nats",
                "Use the natural log (torch.log): the training loss is in nats.",
                lambda train_rows, val_rows, d_vocab: unigram_loss(train_rows, val_rows, d_vocab) / math.log(2),
            ),
            Mistake(
                "counting the BOS tokens at position 0 (the model never has to predict them)",
                "Count and score only positions 1 onwards: rows[:, 1:].",
                _unigram_with_bos,
            ),
        ),
        examples=_rows,
    ),
    Exercise(
        name="next_token_loss",
        notebook="00",
        reference=training.next_token_loss,
        hint="position p predicts token p + 1: F.cross_entropy on logits[:, :-1] (flattened to [N, d_vocab]) and tokens[:, 1:] "
        "(flattened), reduction='none', reshaped to [batch, pos - 1].",
        mistakes=(
            Mistake(
                "scoring each position on its own token (no shift)",
                "The logits at position p predict the *next* token: pair logits[:, :-1] with tokens[:, 1:].",
                lambda logits, tokens: _cross_entropy(logits[:, :-1], tokens[:, :-1]),
            ),
            Mistake(
                "a shift the wrong way (logits[:, 1:] against tokens[:, :-1])",
                "The logits at position p predict the *next* token: pair logits[:, :-1] with tokens[:, 1:].",
                lambda logits, tokens: _cross_entropy(logits[:, 1:], tokens[:, :-1]),
            ),
            Mistake(
                "a loss in bits (log base 2) instead of nats",
                "F.cross_entropy uses the natural log; do not divide by ln 2.",
                lambda logits, tokens: training.next_token_loss(logits, tokens) / math.log(2),
            ),
        ),
        examples=_logits,
    ),
    Exercise(
        name="ablate_head",
        notebook="00",
        reference=ablate_head,
        hint="the head axis is the third one (index 2), and clone first so the cache is not changed in place.",
        mistakes=(
            Mistake(
                "zeroing a position instead of a head (z[:, head] indexes the pos axis)",
                "z is [batch, pos, n_heads, d_head]: the head is axis 2, z[:, :, head].",
                _ablate_wrong_axis,
            ),
        ),
        examples=_z,
    ),
    Exercise(
        name="ablation_effects",
        notebook="00",
        reference=ablation_effects,
        hint="clean = next_token_loss(model(tokens), tokens).mean(); for each (layer, head) run model.run_with_hooks(tokens, "
        "fwd_hooks=[(f'blocks.{layer}.attn.hook_z', lambda z, hook, h=head: ablate(z, h))]) and subtract clean from its mean loss.",
        mistakes=(
            Mistake(
                "the sign reversed (clean loss minus ablated loss)",
                "The effect of removing a head is how much the loss *rises*: ablated minus clean.",
                lambda model, tokens, ablate: -ablation_effects(model, tokens, ablate),
            ),
        ),
        examples=_tiny_model,
    ),
)
