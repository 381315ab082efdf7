"""Exercises of notebook 03 (induction heads): references, hints and the mistakes their checks name."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from helpers import circuits, heads
from helpers.exercises import Exercise, Mistake
from helpers.training import next_token_loss

# --- small seeded inputs for the unit tests ------------------------------------------------


def _patterns() -> list[tuple[torch.Tensor, int]]:
    """Random causal patterns on [BOS] r r, shaped like a cache's hook_pattern."""
    g = torch.Generator().manual_seed(0)
    period = 6
    n = 2 * period + 1
    scores = torch.randn(2, 3, n, n, generator=g).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return [(scores.softmax(-1), period)]


def _induction_wrong_axes(pattern: torch.Tensor, period: int) -> torch.Tensor:
    return pattern.diagonal(offset=-(period - 1), dim1=-2, dim2=-1)[..., 2:].mean(dim=(0, 1))


def _matrix_pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    low_rank = [torch.randn(8, 2, generator=g) @ torch.randn(2, 8, generator=g) for _ in range(4)]
    return [(low_rank[0], low_rank[1]), (low_rank[2], low_rank[3])]


def _repeat_logits() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    r = torch.randint(1, 10, (3, 5), generator=g)
    tokens = torch.cat([torch.zeros(3, 1, dtype=torch.long), r, r], dim=1)  # [BOS] r r, period 5
    return [(torch.randn(3, 11, 10, generator=g) * 3, tokens)]


def _tiny_model(seed: int = 0):  # noqa: ANN202 - a TransformerBridge
    from helpers.configs import ModelConfig
    from helpers.models import build_model

    return build_model(ModelConfig(d_vocab=12, n_ctx=16, d_model=16, n_layers=2, n_heads=2, d_head=8, seed=seed))


def _models() -> list[tuple]:
    return [(_tiny_model(0),), (_tiny_model(1),)]


def _patching_inputs() -> list[tuple]:
    model = _tiny_model(0)
    g = torch.Generator().manual_seed(0)
    clean, corrupt = torch.randint(0, 12, (2, 9), generator=g), torch.randint(0, 12, (2, 9), generator=g)
    _, cache = model.run_with_cache(clean)
    return [
        (model, corrupt, cache, [(1, 0)], slice(5, None)),
        (model, corrupt, cache, [(0, 1), (1, 1)], slice(3, None)),
    ]


def _repeats() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    from helpers import tasks

    rep = tasks.repeated_random_tokens(batch=2, seq_len=5, d_vocab=20, seed=1)
    fresh = tasks.repeated_random_tokens(batch=2, seq_len=5, d_vocab=20, seed=2)
    return [(rep, fresh, 5)]


def _ablation_inputs() -> list[tuple]:
    from helpers import tasks

    model = _tiny_model(0)
    rep = tasks.repeated_random_tokens(batch=4, seq_len=7, d_vocab=12, seed=1)  # [BOS] r r: 15 positions
    return [(model, rep, [(1, 0), (1, 1)]), (model, rep, [(0, 1)])]


def _curves() -> list[tuple[list[int], list[float]]]:
    steps = list(range(0, 1000, 50))
    rise = [0.01, 0.02, 0.02, 0.05, 0.1, 0.18, 0.5, 0.7, 1.0, 0.9, 0.8, 0.7, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]
    return [(steps, rise)]


# --- references that helpers does not already have -----------------------------------------


def corrupted_repeats(rep: torch.Tensor, fresh: torch.Tensor, period: int) -> torch.Tensor:
    """``[BOS] r' r`` from ``rep = [BOS] r r`` and ``fresh = [BOS] r' r'``: a new first copy, the same second copy."""
    return torch.cat([rep[:, :1], fresh[:, 1 : 1 + period], rep[:, 1 + period :]], dim=1)


def advantage_lost(model: torch.nn.Module, tokens: torch.Tensor, heads_: Sequence[tuple[int, int]]) -> float:
    """Fraction of the second-copy advantage (first-copy loss minus second-copy loss) on ``[BOS] r r`` that is lost
    when ``heads_`` are zero-ablated: the rise of the second-copy loss over the clean advantage."""
    first, second = circuits.repeat_losses(model(tokens), tokens)
    _, second_ablated = circuits.repeat_losses(circuits.ablate_heads(model, tokens, heads_), tokens)
    return (second_ablated - second) / (first - second)


def phase_change_window(
    steps: Sequence[int], values: Sequence[float], lo: float = 0.2, hi: float = 0.8
) -> tuple[int, int]:
    """The first logged steps at which a curve exceeds ``lo`` and ``hi`` times its *final* value."""
    final = float(values[-1])
    first_above = lambda frac: next(s for s, v in zip(steps, values) if v > frac * final)  # noqa: E731
    return first_above(lo), first_above(hi)


# --- what answers with a known mistake return -------------------------------------------------


def _second_loss_rise(model, tokens, heads_):  # noqa: ANN001, ANN202
    _, second = circuits.repeat_losses(model(tokens), tokens)
    _, second_ablated = circuits.repeat_losses(circuits.ablate_heads(model, tokens, heads_), tokens)
    return second_ablated, second


def _window_of_maximum(
    steps: Sequence[int], values: Sequence[float], lo: float = 0.2, hi: float = 0.8
) -> tuple[int, int]:
    top = max(values)
    return next(s for s, v in zip(steps, values) if v > lo * top), next(
        s for s, v in zip(steps, values) if v > hi * top
    )


def _hooked(model, tokens, hooks):  # noqa: ANN001, ANN202
    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=hooks)


def _patch_every_position(model, tokens, source_cache, heads_, positions):  # noqa: ANN001, ANN202
    return circuits.patch_heads(model, tokens, source_cache, heads_, positions=slice(None))


def _patch_whole_layer(model, tokens, source_cache, heads_, positions):  # noqa: ANN001, ANN202
    hooks = []
    for layer in sorted({l for l, _ in heads_}):
        name = f"blocks.{layer}.attn.hook_z"

        def hook(x, hook, name=name):  # noqa: ANN001, ANN202
            x = x.clone()
            x[:, positions] = source_cache[name][:, positions]
            return x

        hooks.append((name, hook))
    return _hooked(model, tokens, hooks)


def _q_composition(model):  # noqa: ANN001, ANN202
    n = model.cfg.n_heads
    ov, qk = model.OV[0].AB, model.QK[1].AB
    return torch.tensor([[circuits.composition_score(ov[h0], qk[h1]) for h0 in range(n)] for h1 in range(n)])


EXERCISES = (
    Exercise(
        name="repeat_losses",
        notebook="03",
        reference=circuits.repeat_losses,
        hint="period = (n - 1) // 2; next_token_loss(logits, tokens)[:, j] is the loss on token j + 1. Token j + 1 is in "
        "the first copy for j + 1 in 1..period and in the second for period + 1..2 period; leave out each copy's first "
        "token (j = 0 and j = period). Return two Python floats, in nats.",
        mistakes=(
            Mistake(
                "including each copy's first token, which nothing in the context can predict",
                "Average loss[:, 1:period] and loss[:, period + 1:], so that both copies are scored on the same "
                "predictable tokens.",
                lambda logits, tokens: (
                    float(next_token_loss(logits, tokens)[:, : (tokens.shape[1] - 1) // 2].mean()),
                    float(next_token_loss(logits, tokens)[:, (tokens.shape[1] - 1) // 2 :].mean()),
                ),
            ),
            Mistake(
                "losses in bits (log base 2) instead of nats",
                "Cross-entropy in PyTorch uses the natural log: don't divide by ln 2.",
                lambda logits, tokens: tuple(v / math.log(2) for v in circuits.repeat_losses(logits, tokens)),
            ),
        ),
        examples=_repeat_logits,
    ),
    Exercise(
        name="induction_score",
        notebook="03",
        reference=heads.induction_score,
        hint="queries start at period + 1 (the BOS shifts the second copy by one); the key is i - period + 1; "
        "average over batch and queries, keep the head axis.",
        mistakes=(
            Mistake(
                "the duplicate-token offset (key i - period, the previous occurrence of the same token)",
                "An induction head attends to the token *after* the previous occurrence: key i - period + 1.",
                lambda pattern, period: heads.offset_score(pattern, period, first_query=period + 1),
            ),
            Mistake(
                "an off-by-one key offset (key i - period + 2)",
                "The token after the previous occurrence of token i sits at i - period + 1.",
                lambda pattern, period: heads.offset_score(pattern, period - 2, first_query=period + 1),
            ),
            Mistake(
                "forgetting the BOS: your queries start at position period, the last token of the first copy",
                "With [BOS] in front, the second copy starts at position period + 1.",
                lambda pattern, period: heads.offset_score(pattern, period - 1, first_query=period),
            ),
            Mistake(
                "averaging over the heads instead of over the queries",
                "Reduce over the batch axis and the query positions; the result has one score per head.",
                _induction_wrong_axes,
            ),
        ),
        examples=_patterns,
    ),
    Exercise(
        name="composition_score",
        notebook="03",
        reference=circuits.composition_score,
        hint="||W_A W_B||_F / (||W_A||_F ||W_B||_F): .norm() of a matrix is its Frobenius norm.",
        mistakes=(
            Mistake(
                "the product in the wrong order (W_B W_A)",
                "W_A writes into the residual stream and W_B reads from it: multiply W_A @ W_B.",
                lambda W_A, W_B: float((W_B @ W_A).norm() / (W_A.norm() * W_B.norm())),
            ),
            Mistake(
                "a missing normalisation",
                "Divide by ||W_A||_F ||W_B||_F, so that the score does not grow with the weights' scale.",
                lambda W_A, W_B: float((W_A @ W_B).norm()),
            ),
        ),
        examples=_matrix_pairs,
    ),
    Exercise(
        name="k_composition_scores",
        notebook="03",
        reference=circuits.k_composition_scores,
        hint="entry [h1, h0] is composition_score(W_OV of L0H{h0}, W_QK of L1H{h1} transposed), with "
        "W_OV = W_V[0, h0] @ W_O[0, h0] and W_QK = W_Q[1, h1] @ W_K[1, h1].T (or model.OV[0, h0].AB, model.QK[1, h1].AB).",
        mistakes=(
            Mistake(
                "Q-composition: W_QK without its transpose reads what the layer-0 head wrote into the *queries*",
                "Keys sit on the right of W_QK = W_Q W_K^T: use W_QK.T as W_B for K-composition.",
                _q_composition,
            ),
            Mistake(
                "the matrix transposed: rows are layer-0 heads",
                "Return [layer-1 head, layer-0 head]: one row per induction-head candidate.",
                lambda model: circuits.k_composition_scores(model).T,
            ),
        ),
        examples=_models,
    ),
    Exercise(
        name="advantage_lost",
        notebook="03",
        reference=advantage_lost,
        hint="first, second = repeat_losses(model(tokens), tokens) on the clean run; the second-copy loss of "
        "circuits.ablate_heads(model, tokens, heads_) on the ablated one; return (ablated second - clean second) / "
        "(clean first - clean second), a Python float (1 = the whole advantage lost).",
        mistakes=(
            Mistake(
                "the rise of the second-copy loss as a fraction of the clean second-copy loss",
                "Divide by the advantage, first-copy loss minus second-copy loss: that is what the circuit buys.",
                lambda model, tokens, heads_: (lambda a, s: (a - s) / s)(*_second_loss_rise(model, tokens, heads_)),
            ),
            Mistake(
                "the rise of the second-copy loss in nats, not as a fraction of the advantage",
                "Divide the rise by the clean advantage (first - second), so that 1 means the whole advantage is lost.",
                lambda model, tokens, heads_: (lambda a, s: a - s)(*_second_loss_rise(model, tokens, heads_)),
            ),
            Mistake(
                "the sign flipped (clean minus ablated second-copy loss)",
                "Ablation makes the second copy harder: the loss *rises*, so lost = (ablated - clean) / advantage.",
                lambda model, tokens, heads_: -advantage_lost(model, tokens, heads_),
            ),
        ),
        examples=_ablation_inputs,
    ),
    Exercise(
        name="corrupted_repeats",
        notebook="03",
        reference=corrupted_repeats,
        hint="three pieces along the position axis: rep's BOS (rep[:, :1]), fresh's first copy (positions 1 .. period), "
        "rep's second copy (positions period + 1 ..). torch.cat(..., dim=1).",
        mistakes=(
            Mistake(
                "the second copy replaced instead of the first ([BOS] r r')",
                "Corrupt the *context* (the first copy) and keep the tokens we score (the second copy): [BOS] r' r.",
                lambda rep, fresh, period: torch.cat([rep[:, : 1 + period], fresh[:, 1 + period :]], dim=1),
            ),
            Mistake(
                "fresh[:, :period] as the new first copy: it starts with fresh's BOS, so r' is shifted by one",
                "Skip the BOS of fresh: its first copy is fresh[:, 1 : 1 + period].",
                lambda rep, fresh, period: torch.cat([rep[:, :1], fresh[:, :period], rep[:, 1 + period :]], dim=1),
            ),
        ),
        examples=_repeats,
    ),
    Exercise(
        name="patch_heads",
        notebook="03",
        reference=circuits.patch_heads,
        hint="for each (layer, head) hook name = f'blocks.{layer}.attn.hook_z' [batch, pos, head, d_head]: clone, copy "
        "source_cache[name][:, positions, head] into [:, positions, head], return it (bind name and head as default "
        "arguments of the hook; don't rely on hook.name, which can be an alias).",
        mistakes=(
            Mistake(
                "patching every position, not only `positions`",
                "Index the position axis with `positions` (axis 1 of hook_z) in both the activation and the cache.",
                _patch_every_position,
            ),
            Mistake(
                "patching every head of the layer, not only the listed ones",
                "Index the head axis too (axis 2 of hook_z): [:, positions, head].",
                _patch_whole_layer,
            ),
        ),
        examples=_patching_inputs,
    ),
    Exercise(
        name="phase_change_window",
        notebook="03",
        reference=phase_change_window,
        hint="final = values[-1]; the answer is the *step* (not the index) of the first value > lo * final, and of the "
        "first value > hi * final.",
        mistakes=(
            Mistake(
                "fractions of the curve's maximum instead of its final value",
                "The phase change is measured against where training ended: use values[-1].",
                _window_of_maximum,
            ),
            Mistake(
                "list indices instead of training steps",
                "Return steps[i], not i: the log is every few steps.",
                lambda steps, values, lo=0.2, hi=0.8: phase_change_window(range(len(values)), values, lo, hi),
            ),
        ),
        examples=_curves,
    ),
)
