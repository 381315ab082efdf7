"""Exercises of notebook 04 (a full transformer): references, hints and the mistakes their checks name."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from helpers import circuits, dla, heads
from helpers.exercises import Exercise, Mistake

# --- references that helpers does not already have -----------------------------------------


def frozen_ln_attribution(terms: torch.Tensor, scale: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    centred = terms - terms.mean(-1, keepdim=True)  # centering is linear: apply it per term
    return ((centred / scale) * direction).sum(-1)  # the scale is a constant once frozen


def lens_logits(model: torch.nn.Module, resid: torch.Tensor) -> torch.Tensor:
    """The logit lens at one point of the residual stream: ``helpers.dla.logit_lens`` on it alone."""
    return dla.logit_lens(model, {"resid": resid}, names=["resid"])["resid"]


def token_purity(acts: torch.Tensor, tokens: torch.Tensor, k: int = 20) -> torch.Tensor:
    """acts [positions, d_mlp], tokens [positions] -> share of each neuron's top-k positions on its most common token."""
    top_vals, top_idx = acts.topk(k, dim=0)  # [k, d_mlp]: each neuron's k strongest positions
    top_tok = tokens[top_idx]
    purity = (top_tok == top_tok.mode(0).values).float().mean(0)
    return purity * (top_vals[-1] > 0)  # a neuron silent at some of its "top" positions has no real top-k


# --- small seeded inputs for the unit tests ------------------------------------------------


def _attribution_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.randn(5, 3, 8, generator=g) + 1.0, torch.rand(3, 1, generator=g) + 0.5, torch.randn(3, 8, generator=g))
    ]


def _patterns() -> list[tuple[torch.Tensor, int]]:
    """Random causal patterns on [BOS] r r, shaped like a cache's hook_pattern [batch, head, query, key]."""
    g = torch.Generator().manual_seed(0)
    period = 6
    n = 2 * period + 1
    scores = torch.randn(2, 3, n, n, generator=g).masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
    return [(scores.softmax(-1), period), (scores[:1, :2].softmax(-1), period)]


def _tokens() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.tensor([[0, 5, 6, 7, 5, 6, 5, 7]]),), (torch.randint(0, 5, (3, 20), generator=g),)]


def _tiny_ln_model(seed: int = 0):  # noqa: ANN202 - a TransformerBridge with MLPs and LayerNorm
    from helpers.configs import ModelConfig
    from helpers.models import build_model

    model = build_model(ModelConfig(d_vocab=12, n_ctx=16, d_model=16, n_layers=2, n_heads=2, d_head=8, d_mlp=32,
                                    normalization_type="LN", seed=seed))  # fmt: skip
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # a trained model's LayerNorm and b_U are not 1 and 0: make the mistakes visible
        model.ln_final.weight.copy_(torch.rand(16, generator=g) + 0.5)
        model.ln_final.bias.copy_(torch.randn(16, generator=g))
        model.b_U.copy_(torch.randn(12, generator=g))
    return model


def _direction_inputs() -> list[tuple]:
    return [(_tiny_ln_model(0), torch.tensor([1, 4, 7]), torch.tensor([2, 2, 0]))]


def _lens_inputs() -> list[tuple]:
    g = torch.Generator().manual_seed(0)
    return [(_tiny_ln_model(0), torch.randn(2, 5, 16, generator=g) * 3 + 1)]


def _purity_inputs() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 4, (40,), generator=g)
    acts = torch.relu(torch.randn(40, 6, generator=g))
    acts[:, 0] = (tokens == 2).float() * (1 + torch.rand(40, generator=g))  # a token detector
    acts[:, 1] = 0.0
    acts[:3, 1] = torch.tensor([1.0, 2.0, 3.0])  # fires only 3 times: no real top 5
    return [(acts, tokens, 5)]


def _neuron_inputs() -> list[tuple]:
    model = _tiny_ln_model(0)
    return [(model, 0, 3), (model, 1, 17)]


def _ablation_inputs() -> list[tuple]:
    model = _tiny_ln_model(0)
    tokens = torch.randint(0, 12, (2, 9), generator=torch.Generator().manual_seed(0))
    return [(model, tokens, 0, 3), (model, tokens, 1, 5)]


# --- what answers with a known mistake return -------------------------------------------------


def _duplicate_wrong_axes(pattern: torch.Tensor, period: int) -> torch.Tensor:
    return pattern.diagonal(offset=-period, dim1=-2, dim2=-1)[..., 1:].mean(dim=(0, 1))


def _neuron_hook_run(model, tokens, layer, index):  # noqa: ANN001, ANN202
    def hook(act, hook):  # noqa: ANN001, ANN202
        act = act.clone()
        act[index] = 0.0
        return act

    with torch.no_grad():
        return model(tokens), model.run_with_hooks(tokens, fwd_hooks=[(f"blocks.{layer}.mlp.hook_post", hook)])


def _purity_keeping_silent_neurons(acts: torch.Tensor, tokens: torch.Tensor, k: int = 20) -> torch.Tensor:
    top_vals, top_idx = acts.topk(k, dim=0)
    top_tok = tokens[top_idx]
    return (top_tok == top_tok.mode(0).values).float().mean(0)


EXERCISES = (
    Exercise(
        name="logit_directions",
        notebook="04",
        reference=dla.logit_directions,
        hint="u = W_U[:, good] - W_U[:, bad] moved to [batch, d_model] (W_U[:, good].T); the direction is w * u with w "
        "the final LayerNorm's weight; the constant is u @ b (b: its bias) + b_U[good] - b_U[bad]. "
        "dla.final_ln_params(model) gives (w, b).",
        mistakes=(
            Mistake(
                "the direction without the final LayerNorm's weight w",
                "LN multiplies the normalised stream by w before W_U: direction = w * (W_U[:, good] - W_U[:, bad]).",
                lambda model, good, bad: (
                    dla.logit_directions(model, good, bad)[0] / dla.final_ln_params(model)[0],
                    dla.logit_directions(model, good, bad)[1],
                ),  # fmt: skip
            ),
            Mistake(
                "a constant without LayerNorm's bias (only b_U[good] - b_U[bad])",
                "LN adds its bias b after the scale, and it reaches the logits through W_U: add b @ (W_U[:, good] - W_U[:, bad]).",
                lambda model, good, bad: (dla.logit_directions(model, good, bad)[0], model.b_U[good] - model.b_U[bad]),
            ),
            Mistake(
                "the difference the wrong way round (bad minus good)",
                "Explain logit[good] - logit[bad]: u = W_U[:, good] - W_U[:, bad].",
                lambda model, good, bad: tuple(-x for x in dla.logit_directions(model, good, bad)),
            ),
        ),
        examples=_direction_inputs,
    ),
    Exercise(
        name="frozen_ln_attribution",
        notebook="04",
        reference=frozen_ln_attribution,
        hint="centre each term over the last axis (d_model) before dividing by the scale; sum over d_model, not over terms.",
        mistakes=(
            Mistake(
                "terms not centred (LayerNorm subtracts the mean over d_model first)",
                "Centring is linear, so it applies to each term on its own: terms - terms.mean(-1, keepdim=True).",
                lambda terms, scale, direction: ((terms / scale) * direction).sum(-1),
            ),
            Mistake(
                "multiplying by the frozen scale instead of dividing by it",
                "LayerNorm divides by its scale sqrt(var + eps): (centred / scale).",
                lambda terms, scale, direction: (((terms - terms.mean(-1, keepdim=True)) * scale) * direction).sum(-1),
            ),
        ),
        examples=_attribution_inputs,
    ),
    Exercise(
        name="lens_logits",
        notebook="04",
        reference=lens_logits,
        hint="model.ln_final(resid) (the real LayerNorm: it recomputes its own scale at this point), then @ model.W_U + model.b_U.",
        mistakes=(
            Mistake(
                "no final LayerNorm: the raw residual stream times W_U",
                "The unembedding reads the *normalised* stream: apply model.ln_final first.",
                lambda model, resid: resid @ model.W_U + model.b_U,
            ),
            Mistake(
                "normalising without LayerNorm's weight and bias",
                "Use model.ln_final itself: it centres, scales, then multiplies by w and adds b.",
                lambda model, resid: F.layer_norm(resid, resid.shape[-1:], eps=model.cfg.eps) @ model.W_U + model.b_U,
            ),
        ),
        examples=_lens_inputs,
    ),
    Exercise(
        name="duplicate_token_score",
        notebook="04",
        reference=heads.duplicate_token_score,
        hint="on [BOS] r r the second copy is queries period + 1 .. 2 period; query i's earlier occurrence of the same "
        "token is key i - period. pattern.diagonal(offset=-period, dim1=-2, dim2=-1) holds attention from query "
        "period + j to key j: drop j = 0 and average over batch and queries, keeping the head axis.",
        mistakes=(
            Mistake(
                "the induction offset (key i - period + 1, the token *after* the earlier occurrence)",
                "A duplicate-token head attends to the earlier occurrence of the *same* token: key i - period.",
                lambda pattern, period: heads.offset_score(pattern, period - 1, first_query=period + 1),
            ),
            Mistake(
                "an off-by-one key offset (key i - period - 1, the token before the earlier occurrence)",
                "With [BOS] in front both copies sit one later, but the distance between them is still period: "
                "key i - period.",
                lambda pattern, period: heads.offset_score(pattern, period + 1, first_query=period + 1),
            ),
            Mistake(
                "forgetting the BOS: your queries start at position period, whose key i - period is the BOS itself",
                "With [BOS] in front, the second copy starts at position period + 1: leave out query period.",
                lambda pattern, period: heads.offset_score(pattern, period, first_query=period),
            ),
            Mistake(
                "averaging over the heads instead of over the queries",
                "Reduce over the batch axis and the query positions; the result has one score per head.",
                _duplicate_wrong_axes,
            ),
        ),
        examples=_patterns,
    ),
    Exercise(
        name="induction_mask",
        notebook="04",
        reference=circuits.repeated_bigram_mask,
        hint="compare bigrams (tokens[i], tokens[i+1]) with *earlier* ones only (j < i), and pad the last position with False.",
        mistakes=(
            Mistake(
                "comparing each bigram with itself too (j <= i), so every position but the last is True",
                "Only *earlier* occurrences count: j < i (a strictly lower-triangular mask).",
                lambda tokens: torch.cat(
                    [
                        torch.ones_like(tokens[:, :-1], dtype=torch.bool),
                        torch.zeros_like(tokens[:, :1], dtype=torch.bool),
                    ],
                    1,
                ),
            ),
            Mistake(
                "matching only the current token (some earlier j with tokens[j] == tokens[i]), not the next one",
                "Induction copies the token that *followed*: require tokens[j + 1] == tokens[i + 1] as well.",
                lambda tokens: torch.cat(
                    [
                        (
                            (tokens[:, :-1, None] == tokens[:, None, :-1])
                            & torch.ones(tokens.shape[1] - 1, tokens.shape[1] - 1, dtype=torch.bool).tril(-1)
                        ).any(-1),
                        torch.zeros_like(tokens[:, :1], dtype=torch.bool),
                    ],
                    1,
                ),  # fmt: skip
            ),
        ),
        examples=_tokens,
    ),
    Exercise(
        name="token_purity",
        notebook="04",
        reference=token_purity,
        hint="acts.topk(k, dim=0) gives each neuron's k strongest positions [k, d_mlp]; tokens[indices] their tokens; "
        ".mode(0) the most common; the share equal to it is the purity. Set it to 0 where the k-th value is 0.",
        mistakes=(
            Mistake(
                "keeping neurons that are silent at some of their 'top' positions (the k-th activation is 0)",
                "A neuron that fires fewer than k times has no real top k: multiply by (top_values[-1] > 0).",
                _purity_keeping_silent_neurons,
            ),
        ),
        examples=_purity_inputs,
    ),
    Exercise(
        name="neuron_output_logits",
        notebook="04",
        reference=dla.neuron_output_logits,
        hint="W_out[layer, neuron] is the vector the neuron writes (per unit activation); centre it (LayerNorm "
        "subtracts the mean), multiply by the final LayerNorm's weight, then @ W_U.",
        mistakes=(
            Mistake(
                "forgetting to centre the output vector",
                "The final LayerNorm subtracts the mean over d_model: w_out - w_out.mean() before W_U.",
                lambda model, layer, neuron: (dla.final_ln_params(model)[0] * model.W_out[layer, neuron]) @ model.W_U,
            ),
            Mistake(
                "forgetting the final LayerNorm's weight",
                "LN multiplies by its weight w before W_U: (w * centred) @ W_U.",
                lambda model, layer, neuron: (
                    (model.W_out[layer, neuron] - model.W_out[layer, neuron].mean()) @ model.W_U
                ),
            ),
        ),
        examples=_neuron_inputs,
    ),
    Exercise(
        name="ablate_neuron_logits",
        notebook="04",
        reference=dla.ablate_neuron_logits,
        hint="clean = model(tokens); for the ablated run hook 'blocks.{layer}.mlp.hook_post' ([batch, pos, d_mlp]): clone, "
        "set [..., neuron] to 0, return it, with model.run_with_hooks(tokens, fwd_hooks=[(name, hook)]).",
        mistakes=(
            Mistake(
                "zeroing axis 1 of mlp.hook_post, which is the position, not the neuron",
                "hook_post is [batch, pos, d_mlp]: index act[..., neuron] (or act[:, :, neuron]).",
                lambda model, tokens, layer, neuron: _neuron_hook_run(model, tokens, layer, (slice(None), neuron)),
            ),
            Mistake(
                "zeroing the whole MLP layer",
                "Ablate one neuron: only the last-axis entry `neuron` of mlp.hook_post.",
                lambda model, tokens, layer, neuron: _neuron_hook_run(model, tokens, layer, (Ellipsis,)),
            ),
        ),
        examples=_ablation_inputs,
    ),
)
