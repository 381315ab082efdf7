"""MLP neurons (notebook 04): the contexts that excite a neuron most, its direct effect on the
logits through the frozen final LayerNorm, and its logits when ablated (``helpers.interventions``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import no_type_check

import torch
from jaxtyping import Float, Int
from torch import Tensor

from helpers import interventions
from helpers.errors import ShapeError
from helpers.models import config_of

# --- neurons -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """One place where a neuron fired: its activation, the text before it and the token itself."""

    act: float
    row: int
    pos: int
    before: str
    token: str
    after: str

    def __str__(self) -> str:
        return f"{self.act:6.2f}  {self.before!r} [{self.token!r}] {self.after!r}"


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def top_activating_contexts(
    acts: Float[Tensor, "batch pos"],
    tokens: Int[Tensor, "batch pos"],
    tokenizer: object,
    k: int = 8,
    before: int = 8,
    after: int = 2,
) -> list[Context]:
    """The ``k`` (row, position) pairs where a neuron's activation is highest, with their text."""
    if acts.shape != tokens.shape:
        raise ShapeError(
            f"acts {tuple(acts.shape)} and tokens {tuple(tokens.shape)} must have the same [batch, pos] shape."
        )
    k = min(k, acts.numel())
    vals, flat = acts.flatten().topk(k)
    n_pos = acts.shape[1]
    out = []
    for v, f in zip(vals.tolist(), flat.tolist()):
        r, p = divmod(f, n_pos)
        row = tokens[r].tolist()
        dec = tokenizer.decode  # type: ignore[attr-defined]
        out.append(
            Context(
                v, r, p, dec(row[max(0, p - before) : p]), tokenizer.id_to_str(row[p]), dec(row[p + 1 : p + 1 + after])
            )  # type: ignore[attr-defined]
        )
    return out


def neuron_output_logits(model: torch.nn.Module, layer: int, neuron: int) -> Float[Tensor, " d_vocab"]:
    """What a neuron's output direction ``W_out[layer, neuron]`` does to each logit, per unit activation.

    Centred and multiplied by the final LayerNorm's weight (the frozen scale is left out, as it
    differs per position), so it ranks tokens the neuron directly pushes up or down.
    """
    w_out = model.W_out[layer, neuron].detach()  # type: ignore[attr-defined]
    from helpers.dla import _has_ln, final_ln_params  # here, not at the top: helpers.dla re-exports this module

    w, _ = final_ln_params(model)
    if _has_ln(model):
        w_out = w_out - w_out.mean()
    return (w * w_out) @ model.W_U.detach()  # type: ignore[attr-defined]


def direct_effect_estimate(
    acts: Float[Tensor, "batch pos d_mlp"],
    ln_scale: Float[Tensor, "batch pos 1"],
    push: Float[Tensor, " d_mlp"],
    k: int = 20,
) -> Float[Tensor, " d_mlp"]:
    """Each neuron's estimated direct effect on the logits (notebook 04, to pick a neuron to ablate).

    At the neuron's ``k`` strongest positions: its activation divided by the final LayerNorm's
    scale there (``ln_final.hook_scale``: what the unembedding sees), averaged, times ``push``, the
    largest logit its output direction gives any one token (``neuron_output_logits(...).max()``).
    """
    flat, scale = acts.flatten(0, 1), ln_scale.flatten()
    top = flat.topk(k, dim=0).indices  # [k, d_mlp]: each neuron's strongest positions
    return (flat.gather(0, top) / scale[top]).mean(0) * push


def ablate_neuron_logits(
    model: torch.nn.Module,
    tokens: Int[Tensor, "batch pos"],
    layer: int,
    neuron: int,
    value: float = 0.0,
) -> tuple[Float[Tensor, "batch pos d_vocab"], Float[Tensor, "batch pos d_vocab"]]:
    """Logits of a clean run and of a run with the neuron's activation set to ``value`` everywhere.

    Returns ``(clean_logits, ablated_logits)``; their difference is the neuron's *total* effect
    (direct, plus through later layers).
    """
    cfg = config_of(model)
    if cfg.attn_only or not 0 <= layer < cfg.n_layers or not 0 <= neuron < (cfg.d_mlp or 0):
        raise ShapeError(
            f"no neuron {neuron} in layer {layer}: the model has {cfg.n_layers} layers and d_mlp={cfg.d_mlp}."
        )
    with torch.no_grad():
        clean = model(tokens)
        ablated = model.run_with_hooks(
            tokens, fwd_hooks=interventions.hooks_for(interventions.neuron_site(layer, neuron), value)
        )  # type: ignore[attr-defined]
    return clean, ablated
