"""Exercises of notebook 11 (attribution patching, path patching, circuit discovery): references, hints, mistakes."""

from __future__ import annotations

import torch

from helpers import attribution
from helpers.exercises import Exercise, Mistake


def induction_logprob(logits: torch.Tensor, tokens: torch.Tensor, period: int) -> torch.Tensor:
    return attribution.induction_logprob(logits, tokens, period)


def attribution_estimate(grad_z: torch.Tensor, base_z: torch.Tensor, source_z: torch.Tensor) -> torch.Tensor:
    return ((source_z - base_z) * grad_z).sum(dim=(0, -1))  # [pos, n_heads]: positions and heads stay separate


def pearson_agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def path_patched_keys(
    resid: torch.Tensor, sender_base: torch.Tensor, sender_source: torch.Tensor, W_K: torch.Tensor, b_K: torch.Tensor
) -> torch.Tensor:
    patched = resid - sender_base + sender_source  # only the sender's contribution changes
    return torch.einsum("bpd,hde->bphe", patched, W_K) + b_K


def final_residual(
    embed: torch.Tensor, pos_embed: torch.Tensor, z: torch.Tensor, W_O: torch.Tensor, b_O: torch.Tensor
) -> torch.Tensor:
    heads = torch.einsum("lbphe,lhed->bpd", z, W_O)  # every head of every layer, summed
    return embed + pos_embed + heads + b_O.sum(0)


def edge_attribution_scores(grads: torch.Tensor, deltas: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    return torch.einsum("rbpd,sbpd->rs", grads, deltas) * valid


def top_edges(scores: torch.Tensor, k: int) -> torch.Tensor:
    return attribution.top_edges(scores, k)


def faithfulness(m_circuit: float, m_clean: float, m_corrupt: float) -> float:
    return (m_circuit - m_corrupt) / (m_clean - m_corrupt)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _logits_and_tokens() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    g = _gen()
    r = torch.randint(1, 11, (3, 5), generator=g)
    tokens = torch.cat([torch.zeros(3, 1, dtype=torch.long), r, r], dim=1)
    return [(torch.randn(3, 11, 11, generator=g) * 2, tokens, 5)]


def _z_triples() -> list[tuple[torch.Tensor, ...]]:
    g = _gen(1)
    return [tuple(torch.randn(4, 7, 3, 5, generator=g) for _ in range(3))]


def _pairs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = _gen(2)
    a = torch.randn(2, 4, 9, generator=g) + 1.0
    return [(a, 0.7 * a + 0.5 * torch.randn(2, 4, 9, generator=g) + 2.0)]


def _key_inputs() -> list[tuple[torch.Tensor, ...]]:
    g = _gen(3)
    resid, s_base, s_src = (torch.randn(2, 5, 8, generator=g) for _ in range(3))
    return [(resid, s_base, s_src, torch.randn(3, 8, 4, generator=g), torch.randn(3, 4, generator=g))]


def _residual_parts() -> list[tuple[torch.Tensor, ...]]:
    g = _gen(4)
    embed, pos = torch.randn(2, 5, 8, generator=g), torch.randn(2, 5, 8, generator=g)
    z, W_O = torch.randn(2, 2, 5, 3, 4, generator=g), torch.randn(2, 3, 4, 8, generator=g)
    return [(embed, pos, z, W_O, torch.randn(2, 8, generator=g))]


def _edge_inputs() -> list[tuple[torch.Tensor, ...]]:
    g = _gen(5)
    valid = torch.rand(7, 4, generator=g) > 0.3
    return [(torch.randn(7, 2, 5, 6, generator=g), torch.randn(4, 2, 5, 6, generator=g), valid)]


def _scores() -> list[tuple[torch.Tensor, int]]:
    g = _gen(6)
    s = torch.randn(6, 5, generator=g) - 0.5  # mostly negative, as noising scores are; a few large positive ones
    return [(s, 4), (s, 9)]


def _metrics() -> list[tuple[float, float, float]]:
    return [(-2.0, -0.5, -9.0), (-8.5, -0.5, -9.0)]


EXERCISES = (
    Exercise(
        name="induction_logprob",
        notebook="11",
        reference=induction_logprob,
        hint="logits[:, i] predicts tokens[:, i + 1]; keep queries i = period + 1 .. 2 * period - 1, take "
        "log_softmax over the vocabulary, gather the next token's entry, and average.",
        mistakes=(
            Mistake(
                "each position scored against its own token (logits[:, i] with tokens[:, i]), an off-by-one",
                "The logits at position i predict the *next* token: gather tokens[:, i + 1].",
                lambda lg, t, p: lg[:, p + 1 : 2 * p].log_softmax(-1).gather(-1, t[:, p + 1 : 2 * p, None]).mean(),
            ),
            Mistake(
                "the second copy's first token included (queries from period, not period + 1)",
                "Nothing in the context predicts the second copy's first token: start at query period + 1.",
                lambda lg, t, p: lg[:, p : 2 * p].log_softmax(-1).gather(-1, t[:, p + 1 : 2 * p + 1, None]).mean(),
            ),
            Mistake(
                "the raw logit of the correct token, without log_softmax",
                "The metric is a log-probability: apply log_softmax(-1) before gathering.",
                lambda lg, t, p: lg[:, p + 1 : 2 * p].gather(-1, t[:, p + 2 : 2 * p + 1, None]).mean(),
            ),
        ),
        examples=_logits_and_tokens,
    ),
    Exercise(
        name="attribution_estimate",
        notebook="11",
        reference=attribution_estimate,
        hint="(source_z - base_z) * grad_z, summed over the batch (axis 0) and d_head (the last axis): [pos, n_heads].",
        mistakes=(
            Mistake(
                "the sign flipped (base - source)",
                "We estimate the change from *patching the source into the base run*: multiply by source_z - base_z.",
                lambda g, b, s: ((b - s) * g).sum(dim=(0, -1)),
            ),
            Mistake(
                "the gradient times the source activation alone (grad . source_z)",
                "A first-order estimate multiplies the gradient by the *difference* source_z - base_z.",
                lambda g, b, s: (s * g).sum(dim=(0, -1)),
            ),
            Mistake(
                "a mean over the batch instead of a sum",
                "The metric is already a batch mean, so its gradient carries the 1/batch: sum over the batch.",
                lambda g, b, s: ((s - b) * g).mean(dim=0).sum(dim=-1),
            ),
        ),
        examples=_z_triples,
    ),
    Exercise(
        name="pearson_agreement",
        notebook="11",
        reference=pearson_agreement,
        hint="flatten both, subtract each one's mean, then (a * b).sum() / (a.norm() * b.norm()).",
        mistakes=(
            Mistake(
                "the cosine similarity, without centring",
                "Pearson's r subtracts each tensor's mean first, so a shared offset does not count as agreement.",
                lambda a, b: float((a.flatten() @ b.flatten()) / (a.norm() * b.norm())),
            ),
        ),
        examples=_pairs,
    ),
    Exercise(
        name="path_patched_keys",
        notebook="11",
        reference=path_patched_keys,
        hint="resid - sender_base + sender_source is the residual stream with only the sender swapped; then "
        "einsum('bpd,hde->bphe', ..., W_K) + b_K.",
        mistakes=(
            Mistake(
                "the sender's swap the wrong way round (resid - sender_source + sender_base)",
                "Remove the sender's base output and add its source output: resid - sender_base + sender_source.",
                lambda r, sb, ss, W, b: torch.einsum("bpd,hde->bphe", r - ss + sb, W) + b,
            ),
            Mistake(
                "the key bias b_K left out",
                "Keys are resid @ W_K + b_K: add the bias.",
                lambda r, sb, ss, W, b: torch.einsum("bpd,hde->bphe", r - sb + ss, W),
            ),
            Mistake(
                "keys computed from the sender's output alone",
                "The head reads the whole residual stream: start from resid and swap only the sender's part.",
                lambda r, sb, ss, W, b: torch.einsum("bpd,hde->bphe", ss, W) + b,
            ),
        ),
        examples=_key_inputs,
    ),
    Exercise(
        name="final_residual",
        notebook="11",
        reference=final_residual,
        hint="embed + pos_embed + einsum('lbphe,lhed->bpd', z, W_O) + b_O.sum(0): every head of every layer, "
        "and each layer's output bias once.",
        mistakes=(
            Mistake(
                "the output biases b_O left out",
                "Each attention layer adds its b_O once (not per head): add b_O.sum(0).",
                lambda e, p, z, W, b: e + p + torch.einsum("lbphe,lhed->bpd", z, W),
            ),
            Mistake(
                "the positional embedding left out",
                "The residual stream starts as token embedding + positional embedding.",
                lambda e, p, z, W, b: e + torch.einsum("lbphe,lhed->bpd", z, W) + b.sum(0),
            ),
            Mistake(
                "b_O added once per head",
                "b_O belongs to the layer (z @ W_O summed over heads, then + b_O): add it once per layer.",
                lambda e, p, z, W, b: e + p + torch.einsum("lbphe,lhed->bpd", z, W) + z.shape[3] * b.sum(0),
            ),
        ),
        examples=_residual_parts,
    ),
    Exercise(
        name="edge_attribution_scores",
        notebook="11",
        reference=edge_attribution_scores,
        hint="einsum('rbpd,sbpd->rs', grads, deltas): a dot product over batch, positions and d_model; then "
        "multiply by valid so non-edges score 0.",
        mistakes=(
            Mistake(
                "non-edges kept (a head scored as writing to a head of its own layer or an earlier one)",
                "Only a sender before the receiver's layer can write to it: multiply by valid.",
                lambda g, d, v: torch.einsum("rbpd,sbpd->rs", g, d),
            ),
            Mistake(
                "the positions summed before the dot product",
                "Gradient and difference meet position by position: sum grad[b, p] . delta[b, p] over b and p, "
                "not (sum of grads) . (sum of deltas).",
                lambda g, d, v: torch.einsum("rbd,sbd->rs", g.sum(2), d.sum(2)) * v,
            ),
        ),
        examples=_edge_inputs,
    ),
    Exercise(
        name="top_edges",
        notebook="11",
        reference=top_edges,
        hint="scores.abs().flatten().topk(k).indices, then a boolean mask of scores' shape with those entries True.",
        mistakes=(
            Mistake(
                "the k largest signed scores instead of the largest |score|",
                "An edge that lowers the metric when cut is as important as one that raises it: rank by abs().",
                lambda s, k: (
                    torch.zeros(s.numel(), dtype=torch.bool)
                    .index_fill_(0, s.flatten().topk(k).indices, True)
                    .view_as(s)
                ),
            ),
            Mistake(
                "the k most negative scores",
                "Rank by |score|: an edge can matter with either sign.",
                lambda s, k: (
                    torch.zeros(s.numel(), dtype=torch.bool)
                    .index_fill_(0, (-s).flatten().topk(k).indices, True)
                    .view_as(s)
                ),
            ),
        ),
        examples=_scores,
    ),
    Exercise(
        name="faithfulness",
        notebook="11",
        reference=faithfulness,
        hint="(m_circuit - m_corrupt) / (m_clean - m_corrupt): 1 when the circuit does all the model does, 0 when "
        "it does no better than the corrupted run.",
        mistakes=(
            Mistake(
                "the fraction lost instead of the fraction kept",
                "Measure what the circuit keeps: (m_circuit - m_corrupt), not (m_clean - m_circuit), over the gap.",
                lambda c, cl, co: (cl - c) / (cl - co),
            ),
            Mistake(
                "the ratio to the clean metric (m_circuit / m_clean)",
                "Log-probabilities have no natural zero: measure against the corrupted run's value, over the gap.",
                lambda c, cl, co: c / cl,
            ),
        ),
        examples=_metrics,
    ),
)
