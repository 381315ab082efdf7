"""Attribution patching, path patching and edge attribution patching (notebook 11).

Activation patching (``helpers.interventions.patch``) runs the model once per site: copy one
activation from a *source* run into a *base* run and read the metric. **Attribution patching**
(Nanda 2023) estimates all of those effects at once from one forward and one backward pass on
the base run, to first order:

    metric(base with site <- source) - metric(base)  ~=  grad_site metric(base) . (source - base)

In an attention-only model without LayerNorm (``attn2l``) the residual stream is a sum of parts,
the *senders*: the embedding (token + position), every head's output ``z_h @ W_O[h]``, and the
constant biases ``b_O``. Each head reads its query, key and value from the residual stream; the
unembedding reads the final one. Those reads are the *receivers*; a sender writes to every
receiver of a later layer, and each (sender, receiver) pair is an **edge**. ``run_graph`` runs
the model with every edge either *kept* (the receiver sees the sender's value in this run) or
*cut* (it sees the sender's value from another, corrupted run); **edge attribution patching**
(EAP, Syed et al. 2023) scores every edge at once with ``edge_scores``. Path patching is one
case of ``run_graph``: cut only the edges from one sender into one kind of receiver.

    senders, receivers = graph_nodes(n_layers, n_heads)   # "embed", "L0H0" ... ; "L1H0.k" ..., "logits"
    keep = valid_edges(n_layers, n_heads)                 # [receiver, sender]: every edge kept
    logits = run_graph(model, clean, corrupt_cache, keep) # == model(clean)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers.errors import ConfigError, ShapeError
from helpers.interventions import Site, head_site, hooks_for, patch

Metric = Callable[[Tensor], Tensor]  # logits [batch, pos, d_vocab] -> a scalar tensor
KINDS = ("q", "k", "v")  # what a head reads from the residual stream


def induction_logprob(
    logits: Float[Tensor, "batch pos d_vocab"], tokens: Int[Tensor, "batch pos"], period: int
) -> Float[Tensor, ""]:
    """Mean log-probability of the correct next token over the second copy of ``[BOS] r r``.

    Queries ``period + 1 .. 2 * period - 1`` (each predicts token ``i + 1``, which the first copy
    shows); the second copy's first token is left out, as nothing in the context predicts it."""
    queries = slice(period + 1, 2 * period)
    logp = logits[:, queries].log_softmax(-1)
    return logp.gather(-1, tokens[:, period + 2 : 2 * period + 1, None]).mean()


def corrupt_first_copy(
    tokens: Int[Tensor, "batch pos"], period: int, d_vocab: int, seed: int, low: int = 1
) -> Int[Tensor, "batch pos"]:
    """``[BOS] r' r`` from ``[BOS] r r``: a fresh random first copy (notebook 03's corruption)."""
    gen = torch.Generator().manual_seed(seed)
    out = tokens.clone()
    out[:, 1 : period + 1] = torch.randint(low, d_vocab, (tokens.shape[0], period), generator=gen)
    return out


def run_with_grads(
    model: TransformerBridge, tokens: Int[Tensor, "batch pos"], names: list[str], metric: Metric
) -> tuple[float, dict[str, Tensor], dict[str, Tensor]]:
    """One forward and one backward pass: the metric, and the activations and their gradients at ``names``."""
    acts: dict[str, Tensor] = {}

    def keeper(name: str) -> Callable[[Tensor, object], Tensor]:
        def keep(act: Tensor, hook: object) -> Tensor:
            acts[name] = act = act.clone()  # a tensor the rest of the run uses (and its gradient flows through);
            return act  # keyed by the name asked for: an alias (hook_embed) fires as embed.hook_out

        return keep

    with torch.enable_grad(), model.hooks(fwd_hooks=[(name, keeper(name)) for name in names]):
        value = metric(model(tokens))
    grads = torch.autograd.grad(value, [acts[n] for n in names])
    return float(value.detach()), {n: a.detach() for n, a in acts.items()}, dict(zip(names, grads))


def attribution_patch_heads(
    model: TransformerBridge, base: Int[Tensor, "batch pos"], source_cache: Mapping[str, Tensor], metric: Metric
) -> Float[Tensor, "n_layers n_heads pos"]:
    """Estimated metric change from patching each head's ``hook_z`` at each position from the source run
    into the base run: ``grad . (source - base)``, summed over the batch and ``d_head``."""
    names = [f"blocks.{layer}.attn.hook_z" for layer in range(model.cfg.n_layers)]
    _, acts, grads = run_with_grads(model, base, names, metric)
    out = [((source_cache[n] - acts[n]) * grads[n]).sum(dim=(0, -1)) for n in names]  # [pos, n_heads] each
    return torch.stack(out).transpose(1, 2)


def activation_patch_heads(
    model: TransformerBridge,
    base: Int[Tensor, "batch pos"],
    source_cache: Mapping[str, Tensor],
    metric: Metric,
    positions: list[int],
) -> Float[Tensor, "n_layers n_heads n_positions"]:
    """The real metric change from patching each head at each of ``positions`` (one run each)."""
    with torch.no_grad():
        base_value = float(metric(model(base)))
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    out = torch.zeros(n_layers, n_heads, len(positions))
    for layer in range(n_layers):
        for h in range(n_heads):
            for i, p in enumerate(positions):
                out[layer, h, i] = (
                    float(metric(patch(model, base, source_cache, [head_site(layer, h, p)]))) - base_value
                )
    return out


def graph_nodes(n_layers: int, n_heads: int) -> tuple[list[str], list[str]]:
    """Sender names (``embed``, ``L0H0`` ...) and receiver names (``L0H0.q`` ..., ``logits``)."""
    heads = [f"L{layer}H{h}" for layer in range(n_layers) for h in range(n_heads)]
    return ["embed", *heads], [f"{head}.{kind}" for head in heads for kind in KINDS] + ["logits"]


def valid_edges(n_layers: int, n_heads: int) -> Bool[Tensor, "n_receivers n_senders"]:
    """Which sender writes to which receiver: the embedding to all, a head to every later layer's heads
    and to the logits."""
    senders, receivers = graph_nodes(n_layers, n_heads)
    layer_of = [-1] + [layer for layer in range(n_layers) for _ in range(n_heads)]  # sender layers (embed: -1)
    recv_layer = [layer for layer in range(n_layers) for _ in range(n_heads * len(KINDS))] + [n_layers]
    return torch.tensor([[s < r for s in layer_of] for r in recv_layer])


def sender_outputs(
    model: TransformerBridge, cache: Mapping[str, Tensor], n_layers: int | None = None
) -> Float[Tensor, "n_senders batch pos d_model"]:
    """What each sender writes into the residual stream: embed + pos_embed, then ``z_h @ W_O[h]`` per head
    (of the first ``n_layers`` layers; all by default). The biases ``b_O`` are no sender: they are the
    same in every run."""
    parts = [cache["hook_embed"] + cache["hook_pos_embed"]]
    for layer in range(model.cfg.n_layers if n_layers is None else n_layers):
        z = cache[f"blocks.{layer}.attn.hook_z"]  # [batch, pos, n_heads, d_head]
        out = torch.einsum("bphe,hed->hbpd", z, model.W_O[layer].detach())
        parts.extend(out.unbind(0))
    return torch.stack(parts)


def receiver_grads(
    model: TransformerBridge, grads: Mapping[str, Tensor]
) -> Float[Tensor, "n_receivers batch pos d_model"]:
    """The metric's gradient at each receiver's input (residual-stream space): for a head's key,
    ``grad(hook_k)[:, :, h] @ W_K[h].T`` (keys = resid @ W_K + b_K, no LayerNorm); for the logits,
    the gradient at the unembedding's input."""
    out = []
    for layer in range(model.cfg.n_layers):
        per_kind = {
            kind: torch.einsum("bphe,hde->hbpd", grads[f"blocks.{layer}.attn.hook_{kind}"], _w(model, kind)[layer])
            for kind in KINDS
        }
        out.extend(per_kind[kind][h] for h in range(model.cfg.n_heads) for kind in KINDS)
    out.append(grads["unembed.hook_in"])
    return torch.stack(out)


def graph_hook_names(n_layers: int) -> list[str]:
    """The hooks ``edge_scores`` needs gradients (and activations) at."""
    names = ["hook_embed", "hook_pos_embed"]
    for layer in range(n_layers):
        names += [f"blocks.{layer}.attn.hook_{x}" for x in (*KINDS, "z")]
    return names + ["unembed.hook_in"]


def edge_scores(
    model: TransformerBridge, base: Int[Tensor, "batch pos"], source_cache: Mapping[str, Tensor], metric: Metric
) -> Float[Tensor, "n_receivers n_senders"]:
    """EAP: for every edge, ``grad at the receiver's input . (source - base) sender output``, summed over
    batch, positions and ``d_model``, from one forward and backward pass on ``base``. 0 for non-edges."""
    _check_attn_only(model)
    names = graph_hook_names(model.cfg.n_layers)
    _, acts, grads = run_with_grads(model, base, names, metric)
    delta = sender_outputs(model, source_cache) - sender_outputs(model, acts)
    scores = torch.einsum("rbpd,sbpd->rs", receiver_grads(model, grads), delta)
    return scores * valid_edges(model.cfg.n_layers, model.cfg.n_heads)


def top_edges(scores: Float[Tensor, "n_receivers n_senders"], k: int) -> Bool[Tensor, "n_receivers n_senders"]:
    """The ``k`` edges of largest ``|score|`` (either sign matters: an edge can help or hurt)."""
    keep = torch.zeros(scores.numel(), dtype=torch.bool)
    keep[scores.abs().flatten().topk(k).indices] = True
    return keep.view_as(scores)


def _check_attn_only(model: TransformerBridge) -> None:
    if not model.cfg.attn_only or model.cfg.normalization_type is not None:
        raise ConfigError(
            "the sender/receiver graph needs an attention-only model without LayerNorm (like attn2l): its residual "
            "stream is then a plain sum of senders."
        )


def _w(model: TransformerBridge, kind: str) -> Tensor:
    return {"q": model.W_Q, "k": model.W_K, "v": model.W_V}[kind].detach()  # [n_layers, n_heads, d_model, d_head]


def _b(model: TransformerBridge, kind: str) -> Tensor:
    return {"q": model.b_Q, "k": model.b_K, "v": model.b_V}[kind].detach()  # [n_layers, n_heads, d_head]


def _cache_z(model: TransformerBridge, tokens: Tensor, hooks: list, layer: int) -> Tensor:
    got: dict[str, Tensor] = {}
    name = f"blocks.{layer}.attn.hook_z"

    def keep(act: Tensor, hook: object) -> None:
        got[name] = act

    with torch.no_grad(), model.hooks(fwd_hooks=[*hooks, (name, keep)]):
        model(tokens)
    return got[name]


def run_graph(
    model: TransformerBridge,
    tokens: Int[Tensor, "batch pos"],
    corrupt_cache: Mapping[str, Tensor],
    keep: Bool[Tensor, "n_receivers n_senders"],
) -> Float[Tensor, "batch pos d_vocab"]:
    """Logits of a run on ``tokens`` in which every receiver reads, from each sender, this run's output
    if the edge is kept and the corrupted run's output if it is cut (plus the biases ``b_O``).

    Layer by layer: a head's q, k, v are recomputed from its own mix of senders (patched at
    ``hook_q/k/v`` with ``helpers.interventions``), one run per layer; the logits are the unembedding
    of the receiver's mix (attention-only, no LayerNorm: ``attn2l``'s architecture)."""
    _check_attn_only(model)
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    if keep.shape != valid_edges(n_layers, n_heads).shape:
        raise ShapeError(f"keep must be [n_receivers, n_senders] = {tuple(valid_edges(n_layers, n_heads).shape)}.")
    corrupt = sender_outputs(model, corrupt_cache)
    embed = model.W_E.detach()[tokens]  # = hook_embed and hook_pos_embed, without a forward pass
    live = {"hook_embed": embed, "hook_pos_embed": model.W_pos.detach()[: tokens.shape[1]].expand_as(embed)}
    b_O = model.b_O.detach()
    replacements: dict[str, Tensor] = {}

    def mixed_inputs(layer: int, rows: Sequence[int]) -> list[Tensor]:
        """Each receiver row's input: its kept senders from this run, its cut ones from the corrupted run."""
        n_live = 1 + layer * n_heads  # senders before this layer
        current, bias = sender_outputs(model, live, layer), b_O[:layer].sum(0)
        return [torch.where(keep[r, :n_live, None, None, None], current, corrupt[:n_live]).sum(0) + bias for r in rows]

    for layer in range(n_layers):
        mixed = mixed_inputs(layer, range(layer * n_heads * 3, (layer + 1) * n_heads * 3))
        for i, kind in enumerate(KINDS):
            resid = torch.stack(mixed[i::3], dim=2)  # [batch, pos, n_heads, d_model]
            acts = torch.einsum("bphd,hde->bphe", resid, _w(model, kind)[layer]) + _b(model, kind)[layer]
            replacements[f"blocks.{layer}.attn.hook_{kind}"] = acts
        live[f"blocks.{layer}.attn.hook_z"] = _cache_z(
            model, tokens, hooks_for([Site(n) for n in replacements], replacements), layer
        )
    (final,) = mixed_inputs(n_layers, [keep.shape[0] - 1])
    return final @ model.W_U.detach() + model.b_U.detach()  # no LayerNorm: the logits without another run


def path_patch(
    model: TransformerBridge,
    tokens: Int[Tensor, "batch pos"],
    corrupt_cache: Mapping[str, Tensor],
    sender: str,
    kind: str,
) -> Float[Tensor, "batch pos d_vocab"]:
    """Cut only the edges from ``sender`` (e.g. ``"L0H2"``) into every head's ``kind`` input (``q``, ``k``,
    ``v``; or ``logits``): those receivers see the sender's corrupted output, everything else this run's."""
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    senders, receivers = graph_nodes(n_layers, n_heads)
    keep = valid_edges(n_layers, n_heads)
    for r, name in enumerate(receivers):
        if name.endswith(f".{kind}") or name == kind:
            keep[r, senders.index(sender)] = False
    return run_graph(model, tokens, corrupt_cache, keep)
