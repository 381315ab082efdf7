"""Direct logit attribution, the logit lens and neuron tools (introduced in notebook 04).

The residual stream at the last layer is a *sum*: token embedding + positional embedding +
every head's output + every attention bias + every MLP's output. The unembedding is linear,
so each term's contribution to a logit can be read off separately, except for the final
LayerNorm, which divides the whole sum by its standard deviation (its *scale*).

We **freeze** that scale: the one the final LayerNorm computed on this input (cached at
``ln_final.hook_scale``) becomes a constant. Centering is linear, so it applies to each term
exactly, and the attributions of all terms plus the LayerNorm/unembedding biases add up
*exactly* to the model's logit (difference) on that input. (*Folding* LayerNorm's weight into
``W_U`` is the same algebra done on the weights; freezing keeps the model untouched.)

Without LayerNorm (the attention-only models of notebooks 01-03, 08, 09) the scale is 1 and
there is no centering, so this one implementation serves notebooks 02, 04 and 09 alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import no_type_check

import torch
from jaxtyping import Float, Int
from torch import Tensor

from helpers.errors import ShapeError
from helpers.models import config_of

# --- final LayerNorm, frozen ---------------------------------------------------------------


def _has_ln(model: torch.nn.Module) -> bool:
    return config_of(model).normalization_type is not None


def final_ln_params(model: torch.nn.Module) -> tuple[Float[Tensor, " d_model"], Float[Tensor, " d_model"]]:
    """The final LayerNorm's weight and bias (ones and zeros for a model without LayerNorm)."""
    d_model = config_of(model).d_model
    if not _has_ln(model):
        return torch.ones(d_model), torch.zeros(d_model)
    ln = model.ln_final  # type: ignore[attr-defined]
    return ln.weight.detach(), ln.bias.detach()


def apply_frozen_ln(
    stack: Float[Tensor, "... d_model"], scale: Float[Tensor, "... 1"] | None
) -> Float[Tensor, "... d_model"]:
    """Centre each residual term and divide by a *given* (frozen) LayerNorm scale.

    ``scale=None`` means "no LayerNorm" (returns ``stack`` unchanged). Because the scale is a
    constant, the normalised terms still add up to the normalised sum.
    """
    if scale is None:
        return stack
    return (stack - stack.mean(-1, keepdim=True)) / scale


# --- decomposing the residual stream -----------------------------------------------------


@dataclass(frozen=True)
class ResidualStack:
    """The final residual stream at one position (or a slice of them), split into named terms that sum to it."""

    terms: Float[Tensor, "n_terms batch *pos d_model"]
    labels: list[str]
    scale: Float[Tensor, "batch *pos 1"] | None  # the final LayerNorm's scale there (None: no LN)

    def total(self) -> Float[Tensor, " batch *pos d_model"]:
        return self.terms.sum(0)


Pos = int | slice | Int[Tensor, " batch"]


def _at(x: Tensor, pos: Pos) -> Tensor:
    """``x[:, pos]`` for one position or a slice of them, or ``x[b, pos[b]]`` for one position per batch row."""
    if isinstance(pos, (int, slice)):
        return x[:, pos]
    if pos.dim() != 1 or pos.shape[0] != x.shape[0]:
        raise ShapeError(
            f"pos must be an int or one position per batch row ({x.shape[0]}), got shape {tuple(pos.shape)}."
        )
    return x[torch.arange(x.shape[0]), pos]


def head_outputs(
    z: Float[Tensor, "... n_heads d_head"], W_O: Float[Tensor, "n_heads d_head d_model"]
) -> Float[Tensor, "n_heads ... d_model"]:
    """What each head writes to the residual stream, ``z_h W_O^h``, head axis first (one term per head)."""
    return torch.einsum("...hd,hdm->h...m", z, W_O)


def residual_stack(model: torch.nn.Module, cache: object, pos: Pos = -1) -> ResidualStack:
    """Split the final residual stream at position ``pos`` into its additive terms.

    ``pos`` is one position for every row, a tensor with one position per batch row, or a
    slice (``slice(None)``: every position; the terms are then ``[n_terms, batch, pos, d_model]``).

    Terms, in order: ``embed``, ``pos_embed``, then for each layer ``L{l}H{h}`` (each head's
    ``z @ W_O``), ``L{l} attn bias`` (``b_O``) and, if the model has MLPs, ``MLP{l}``.
    """
    cfg = config_of(model)
    c = cache  # an ActivationCache from model.run_with_cache
    embed = c["hook_embed"]  # type: ignore[index]
    pos_embed = c["hook_pos_embed"].expand_as(embed)  # type: ignore[index]  # may be stored without batch
    terms: list[Tensor] = [_at(embed, pos), _at(pos_embed, pos)]
    labels = ["embed", "pos_embed"]
    W_O, b_O = model.W_O.detach(), model.b_O.detach()  # type: ignore[attr-defined]
    for layer in range(cfg.n_layers):
        z = _at(c[f"blocks.{layer}.attn.hook_z"], pos)  # type: ignore[index]  # [batch, (pos,) head, d_head]
        terms.extend(head_outputs(z, W_O[layer]))
        labels.extend(f"L{layer}H{h}" for h in range(cfg.n_heads))
        terms.append(b_O[layer].expand_as(terms[0]))
        labels.append(f"L{layer} attn bias")
        if not cfg.attn_only:
            terms.append(_at(c[f"blocks.{layer}.hook_mlp_out"], pos))  # type: ignore[index]
            labels.append(f"MLP{layer}")
    scale = _at(c["ln_final.hook_scale"], pos) if _has_ln(model) else None  # type: ignore[index]
    return ResidualStack(torch.stack(terms), labels, scale)


# --- direct logit attribution ------------------------------------------------------------


def logit_directions(
    model: torch.nn.Module, good: Int[Tensor, " batch *pos"], bad: Int[Tensor, " batch *pos"] | None = None
) -> tuple[Float[Tensor, " batch *pos d_model"], Float[Tensor, " batch *pos"]]:
    """The residual direction whose dot product (after frozen LN) gives ``logit[good] - logit[bad]``.

    Returns ``(direction, constant)``: the direction is ``w_ln * (W_U[:, good] - W_U[:, bad])``
    and the constant collects what no residual term is responsible for: ``b_ln @ (W_U[:, good]
    - W_U[:, bad]) + b_U[good] - b_U[bad]``. ``bad=None`` explains the plain logit of ``good``.
    """
    W_U, b_U = model.W_U.detach(), model.b_U.detach()  # type: ignore[attr-defined]
    w, b = final_ln_params(model)
    u = W_U[:, good].movedim(0, -1)  # [batch, (pos,) d_model]
    const = b_U[good]
    if bad is not None:
        if bad.shape != good.shape:
            raise ShapeError(f"good {tuple(good.shape)} and bad {tuple(bad.shape)} must have the same shape.")
        u = u - W_U[:, bad].movedim(0, -1)
        const = const - b_U[bad]
    return w * u, const + u @ b


def term_logits(
    model: torch.nn.Module, terms: Float[Tensor, "n_terms ... d_model"], scale: Float[Tensor, "... 1"] | None
) -> Float[Tensor, "n_terms ... d_vocab"]:
    """Each residual term's direct contribution to every logit: frozen LN (``scale`` from the
    cache; ``None`` only for a model without LayerNorm), then ``W_U``. Biases are left out."""
    if scale is None and _has_ln(model):
        raise ShapeError(
            "this model has a final LayerNorm: pass its cached scale (ln_final.hook_scale), or use direct_logit_attribution."
        )
    w, _ = final_ln_params(model)
    return apply_frozen_ln(terms, scale) @ (w[:, None] * model.W_U.detach())  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Attribution:
    """Direct logit attributions of each residual term; ``per_term.sum(0) + constant`` is the logit (difference).
    ``per_term`` is ``[n_terms, batch, (pos,)]``, with a last ``d_vocab`` axis when every logit is attributed."""

    per_term: Float[Tensor, "n_terms batch *rest"]
    labels: list[str]
    constant: Float[Tensor, "..."]  # broadcasts against per_term.sum(0)

    def total(self) -> Float[Tensor, " batch *rest"]:
        return self.per_term.sum(0) + self.constant

    def mean(self) -> dict[str, float]:
        """Mean attribution per term over everything but the term axis, as ``{label: value}``."""
        return {k: float(v) for k, v in zip(self.labels, self.per_term.flatten(1).mean(1))}

    def direct_and_heads(self) -> Float[Tensor, "component batch *rest"]:
        """The view of notebook 02: component 0 is the *direct path* (every term that is not a head,
        plus the constant), then one component per head in label order (``L0H0, L0H1, ...``)."""
        is_head = torch.tensor([re.fullmatch(r"L\d+H\d+", label) is not None for label in self.labels])
        direct = self.per_term[~is_head].sum(0) + self.constant
        return torch.cat([direct.unsqueeze(0), self.per_term[is_head]])


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def direct_logit_attribution(
    model: torch.nn.Module,
    cache: object,
    good: Int[Tensor, " batch *pos"] | None = None,
    bad: Int[Tensor, " batch *pos"] | None = None,
    pos: Pos = -1,
) -> Attribution:
    """How much each head, MLP layer and embedding writes *directly* to ``logit[good] - logit[bad]``.

    The final LayerNorm's scale is frozen at its cached value, so the attributions plus the
    constant equal the model's logit difference at ``pos`` up to float rounding. ``good=None``
    attributes every logit (a ``d_vocab`` axis); with ``pos`` a slice, ``good`` is ``[batch, pos]``
    (e.g. ``tokens[:, 1:]`` with ``pos=slice(None, -1)``: the true next tokens).
    """
    stack = residual_stack(model, cache, pos)
    if good is None:
        b_ln = final_ln_params(model)[1]
        W_U, b_U = model.W_U.detach(), model.b_U.detach()  # type: ignore[attr-defined]
        return Attribution(term_logits(model, stack.terms, stack.scale), stack.labels, b_ln @ W_U + b_U)
    if good.shape != stack.terms.shape[1:-1]:
        raise ShapeError(
            f"good must be one token id per attributed row and position {tuple(stack.terms.shape[1:-1])}, got shape {tuple(good.shape)}."
        )
    direction, const = logit_directions(model, good, bad)
    normed = apply_frozen_ln(stack.terms, stack.scale)
    per_term = (normed * direction).sum(-1)  # [n_terms, batch, (pos)]
    return Attribution(per_term, stack.labels, const)


# --- logit lens ----------------------------------------------------------------------------


def resid_names(n_layers: int) -> list[str]:
    """Hook names of the residual stream from embedding to output, in order."""
    names = ["blocks.0.hook_resid_pre"] if n_layers else []
    for layer in range(n_layers):
        names += [f"blocks.{layer}.hook_resid_mid", f"blocks.{layer}.hook_resid_post"]
    return names


def logit_lens(
    model: torch.nn.Module, cache: object, names: Sequence[str] | None = None
) -> dict[str, Float[Tensor, "batch pos d_vocab"]]:
    """Logits the model would output if the residual stream stopped at each of ``names``.

    Each point goes through the *real* final LayerNorm (its own scale recomputed, as in
    nostalgebraist's logit lens) and the unembedding. The last point gives the model's logits.
    """
    cfg = config_of(model)
    names = list(names) if names is not None else resid_names(cfg.n_layers)
    out = {}
    for name in names:
        x = cache[name]  # type: ignore[index]
        if _has_ln(model):
            x = model.ln_final(x)  # type: ignore[attr-defined]
        out[name] = x @ model.W_U + model.b_U  # type: ignore[attr-defined]
    return out


# The neuron tools of notebook 04 live in helpers.neurons; their old names here keep working.
from helpers.neurons import Context, ablate_neuron_logits, neuron_output_logits, top_activating_contexts  # noqa: E402, F401
