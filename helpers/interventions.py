"""Interventions: ablate or patch activations at chosen sites, TransformerLens style.

Every intervention in the course is the same move: during a forward pass, overwrite part of
one activation with a replacement, and look at what the model outputs instead.

- **zero ablation** (notebooks 00 and 03): the replacement is 0;
- **mean ablation** (notebook 09): the replacement is the activation's mean over a reference
  batch, so the component still adds its typical output but no longer reacts to this input;
- **activation patching** (notebooks 03 and 09): the replacement is the same activation from
  another run (a cache), e.g. a corrupted input patched into a clean run;
- **neuron ablation** (notebook 04): the same, at one MLP neuron (``mlp.hook_post``).

A ``Site`` says where: a hook name, optionally one head (axis 2 of ``hook_z``, ``hook_q``,
``hook_k``, ``hook_v``, ``hook_result``), one neuron (the last axis of ``mlp.hook_post``), and
some positions (axis 1: an index, a slice, a ``[pos]`` boolean mask, or a ``[batch, pos]``
mask). ``hooks_for`` turns sites and a replacement into the ``(name, hook)`` pairs that
``model.run_with_hooks`` takes; ``ablate`` and ``patch`` run the model with them.

    logits = ablate(model, tokens, [head_site(1, 4)])                          # zero one head
    logits = ablate(model, tokens, [head_site(0, h) for h in (0, 2)], mode="mean", reference_cache=cache)
    logits = patch(model, corrupt, clean_cache, [head_site(1, 4, positions=slice(10, None))])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers.errors import ConfigError, ShapeError

Positions = int | slice | Tensor  # an index, a slice, or a boolean mask ([pos] or [batch, pos])
HookFn = Callable[[Tensor, object], Tensor]


@dataclass(frozen=True)
class Site:
    """Where to intervene: ``hook_name``, narrowed to one ``head`` or ``neuron`` and to ``positions``."""

    hook_name: str
    head: int | None = None
    neuron: int | None = None
    positions: Positions | None = None  # None: every position

    def __post_init__(self) -> None:
        if self.head is not None and self.neuron is not None:
            raise ConfigError(f"a site is a head or a neuron, not both (got head={self.head}, neuron={self.neuron}).")

    def index(self) -> tuple:
        """The index of this site in an activation shaped ``[batch, pos, ...]``."""
        pos = slice(None) if self.positions is None else self.positions
        # a [batch, pos] mask covers the first two axes at once; anything else indexes axis 1
        idx: tuple = (pos,) if isinstance(pos, Tensor) and pos.dim() == 2 else (slice(None), pos)
        if self.head is not None:
            idx += (self.head,)
        if self.neuron is not None:
            idx += (Ellipsis, self.neuron)
        return idx


def head_site(layer: int, head: int, positions: Positions | None = None) -> Site:
    """One attention head's output before ``W_O`` (``blocks.{layer}.attn.hook_z``)."""
    return Site(f"blocks.{layer}.attn.hook_z", head=head, positions=positions)


def neuron_site(layer: int, neuron: int, positions: Positions | None = None) -> Site:
    """One MLP neuron's activation (``blocks.{layer}.mlp.hook_post``)."""
    return Site(f"blocks.{layer}.mlp.hook_post", neuron=neuron, positions=positions)


Replacement = Mapping[str, Tensor] | float  # a cache (or dict) keyed by hook name, or a constant


def hooks_for(sites: Site | Sequence[Site], replacement: Replacement) -> list[tuple[str, HookFn]]:
    """``(hook_name, hook)`` pairs for ``model.run_with_hooks`` that overwrite each site.

    ``replacement`` is a constant (0.0: zero ablation), or a mapping from hook name to a tensor
    that broadcasts to the activation: another run's cache (patching, same shape) or a mean
    over the batch axis (mean ablation, ``[pos, ...]``).
    """
    sites = [sites] if isinstance(sites, Site) else list(sites)
    return [(site.hook_name, _overwrite(site, _source(replacement, site.hook_name))) for site in sites]


def _source(replacement: Replacement, name: str) -> Tensor:
    if isinstance(replacement, (int, float)):
        return torch.tensor(float(replacement))
    try:
        return replacement[name]
    except KeyError:
        raise ConfigError(
            f"the replacement has no activation {name!r}; cache that hook (see model.hook_dict for names)."
        ) from None


def _overwrite(site: Site, source: Tensor) -> HookFn:
    def hook(act: Tensor, hook: object) -> Tensor:
        try:
            src = source.to(act).expand_as(act)  # a constant or a mean broadcasts without copying
        except RuntimeError:
            raise ShapeError(
                f"replacement for {site.hook_name} has shape {tuple(source.shape)}, which does not fit this run's "
                f"{tuple(act.shape)}; run the source on tokens of the same shape."
            ) from None
        idx = site.index()
        act = act.clone()  # never edit the activation in place: TransformerLens may still hold it
        act[idx] = src[idx]
        return act

    return hook


def _run(model: TransformerBridge, tokens: Int[Tensor, "batch pos"], hooks: list[tuple[str, HookFn]]) -> Tensor:
    unknown = sorted({name for name, _ in hooks} - set(model.hook_dict))
    if unknown:
        raise ConfigError(f"no hook named {unknown}; see model.hook_dict for valid names.")
    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=hooks)


def ablate(
    model: TransformerBridge,
    tokens: Int[Tensor, "batch pos"],
    sites: Site | Sequence[Site],
    mode: Literal["zero", "mean"] = "zero",
    reference_cache: Mapping[str, Tensor] | None = None,
) -> Float[Tensor, "batch pos d_vocab"]:
    """Logits with every site zeroed (notebooks 00, 03), or set to its mean over the batch of
    ``reference_cache`` at each position (notebook 09)."""
    sites = [sites] if isinstance(sites, Site) else list(sites)
    if mode == "zero":
        return _run(model, tokens, hooks_for(sites, 0.0))
    if mode != "mean" or reference_cache is None:
        raise ConfigError(f"mode must be 'zero', or 'mean' with a reference_cache (got mode={mode!r}).")
    means = {s.hook_name: reference_cache[s.hook_name].mean(0) for s in sites}  # [pos, ...]
    return _run(model, tokens, hooks_for(sites, means))


def patch(
    model: TransformerBridge,
    tokens: Int[Tensor, "batch pos"],
    source_cache: Mapping[str, Tensor],
    sites: Site | Sequence[Site],
) -> Float[Tensor, "batch pos d_vocab"]:
    """Logits of a run on ``tokens`` with each site copied from ``source_cache`` (notebooks 03, 09)."""
    return _run(model, tokens, hooks_for(sites, source_cache))


def cache_sites(
    model: TransformerBridge, tokens: Int[Tensor, "batch pos"], sites: Site | Sequence[Site]
) -> dict[str, Tensor]:
    """The activations at the sites' hooks on ``tokens`` (only those hooks are cached)."""
    names = {s.hook_name for s in ([sites] if isinstance(sites, Site) else sites)}
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter=lambda name: name in names)
    return {name: cache[name] for name in names if name in cache}
