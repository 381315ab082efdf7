"""Exercises of notebook 08 (find-min): references, hints and the mistakes their checks name."""

from __future__ import annotations

import torch

from helpers import algorithmic
from helpers.exercises import Exercise, Mistake


def predict_sep_attention(qk: torch.Tensor, seq: list[int]) -> torch.Tensor:
    scores = qk[torch.arange(len(seq)), torch.tensor(seq)]  # one score per key: (position i, value seq[i])
    return scores.softmax(dim=0)


def circuit_predict(qk: torch.Tensor, ov: torch.Tensor, seqs: torch.Tensor) -> torch.Tensor:
    attn = qk[torch.arange(seqs.shape[1]), seqs].softmax(dim=-1)  # [batch, n]
    logits = torch.einsum("bn,bnv->bv", attn, ov[seqs])
    return logits.argmax(dim=-1)


def attention_on_answer(sep_attn: torch.Tensor, seqs: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
    return (sep_attn * (seqs == answer[:, None])).sum(dim=1)  # every copy of the answer counts


def min_attention_summary(sep_attn: torch.Tensor, seqs: torch.Tensor) -> tuple[float, float]:
    n = seqs.shape[1]  # sep_attn has n + 1 keys: the n values, then SEP itself
    on_min = attention_on_answer(sep_attn[:, :n], seqs, seqs.min(dim=1).values)  # [batch]
    frac_argmax = (sep_attn.argmax(dim=1) == seqs.argmin(dim=1)).float().mean()  # SEP's own key can win too
    return float(on_min.mean()), float(frac_argmax)


def score_ranges(qk: torch.Tensor) -> tuple[float, float]:
    over_values = (qk.amax(dim=1) - qk.amin(dim=1)).min()  # the smallest range over values, at any position
    over_positions = (qk.amax(dim=0) - qk.amin(dim=0)).max()  # the largest range over positions, at any value
    return float(over_values), float(over_positions)


def _qk() -> torch.Tensor:
    return torch.randn(5, 64, generator=torch.Generator().manual_seed(0)) * 3


def _sequences() -> list[tuple[torch.Tensor, list[int]]]:
    return [(_qk(), [40, 7, 9, 55, 12]), (_qk(), [3, 2, 60, 61, 62])]


def _tables() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(1)
    return [(_qk(), torch.randn(64, 64, generator=g), torch.randint(0, 64, (50, 5), generator=g))]


def _models() -> list[tuple]:
    """A tiny untrained 1-layer, 2-head model on n = 5 values from 0..11 plus SEP (seeded)."""
    from helpers.configs import ModelConfig
    from helpers.models import build_model

    model = build_model(ModelConfig(d_vocab=13, n_ctx=6, d_model=8, n_heads=2, d_head=4, seed=0))
    return [(model, 0), (model, 1)]


def _qk_no_scale(model, head=0):
    return algorithmic.qk_by_value(model, head) * model.W_Q.shape[-1] ** 0.5


@torch.no_grad()
def _qk_no_pos(model, head=0):
    vocab, n = model.W_E.shape[0] - 1, model.W_pos.shape[0] - 1
    q = model.W_E[vocab] @ model.W_Q[0, head] + model.b_Q[0, head]
    k = model.W_E[:vocab] @ model.W_K[0, head] + model.b_K[0, head]
    return (k @ q / model.W_Q.shape[-1] ** 0.5).expand(n, vocab)


@torch.no_grad()
def _qk_sep_pos(model, head=0):
    vocab, n = model.W_E.shape[0] - 1, model.W_pos.shape[0] - 1
    q = (model.W_E[vocab] + model.W_pos[n - 1]) @ model.W_Q[0, head] + model.b_Q[0, head]
    k = (model.W_E[:vocab].unsqueeze(0) + model.W_pos[:n].unsqueeze(1)) @ model.W_K[0, head] + model.b_K[0, head]
    return k @ q / model.W_Q.shape[-1] ** 0.5


@torch.no_grad()
def _ov_with_sep(model, head=0):
    return (model.W_E @ model.OV[0, head] @ model.W_U).AB


@torch.no_grad()
def _ov_no_unembed(model, head=0):
    vocab = model.W_E.shape[0] - 1
    return model.W_E[:vocab] @ model.W_V[0, head] @ model.W_O[0, head]


def _matrices() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    m = torch.randn(6, 8, generator=g) + 2.5 * torch.eye(6, 8)  # a noisy copier: most rows peak on the diagonal
    return [(m,), (torch.randn(10, 10, generator=g) + 1.5 * torch.eye(10),)]


def _attention_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    seqs = torch.tensor([[3, 1, 1, 7, 9], [4, 2, 8, 2, 2], [5, 6, 7, 8, 0]])  # repeated minima in rows 0 and 1
    attn = torch.rand(3, 5, generator=g).softmax(dim=1)
    return [(attn, seqs, seqs.min(dim=1).values)]


def _sep_attention() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    seqs = torch.stack([torch.randperm(20, generator=g)[:5] for _ in range(12)])
    scores = 2 * torch.randn(12, 6, generator=g)
    scores[:, :5] -= 0.3 * seqs  # smaller values score higher, not always the highest
    scores[:3, 5] += 6.0  # three rows where SEP attends most to itself
    return [(scores.softmax(dim=1), seqs)]


def _summary_mean_of_max(sep_attn: torch.Tensor, seqs: torch.Tensor) -> tuple[float, float]:
    return float(sep_attn.max(dim=1).values.mean()), min_attention_summary(sep_attn, seqs)[1]


def _summary_max_position(sep_attn: torch.Tensor, seqs: torch.Tensor) -> tuple[float, float]:
    return min_attention_summary(sep_attn, seqs)[0], float(
        (sep_attn.argmax(dim=1) == seqs.argmax(dim=1)).float().mean()
    )


def _summary_without_sep(sep_attn: torch.Tensor, seqs: torch.Tensor) -> tuple[float, float]:
    n = seqs.shape[1]
    return min_attention_summary(sep_attn, seqs)[0], float(
        (sep_attn[:, :n].argmax(dim=1) == seqs.argmin(dim=1)).float().mean()
    )


def _score_tables() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(5, 16, generator=g) - 0.2 * torch.arange(16.0),), (torch.randn(3, 8, generator=g),)]


EXERCISES = (
    Exercise(
        name="predict_sep_attention",
        notebook="08",
        reference=predict_sep_attention,
        hint="index the table with (position i, value seq[i]) for each i, then softmax over the n keys.",
        mistakes=(
            Mistake(
                "scores looked up by value only, at position 0 (qk[0, seq])",
                "Key i sits at position i: look up qk[i, seq[i]] for i = 0 .. n-1.",
                lambda qk, seq: qk[0, torch.tensor(seq)].softmax(dim=0),
            ),
            Mistake(
                "the raw scores, without the softmax",
                "Attention weights are softmax(scores) over the n keys: they are positive and sum to 1.",
                lambda qk, seq: qk[torch.arange(len(seq)), torch.tensor(seq)],
            ),
        ),
        examples=_sequences,
    ),
    Exercise(
        name="circuit_predict",
        notebook="08",
        reference=circuit_predict,
        hint="attention over each row's n keys is a softmax of qk[i, seq[i]]; the logits are sum_i attn_i * ov[seq[i]].",
        mistakes=(
            Mistake(
                "the value SEP attends to most (argmax of the attention), without the OV circuit",
                "Mix the OV rows ov[seq[i]] with the attention weights and take the argmax of those logits.",
                lambda qk, ov, seqs: seqs.gather(
                    1, qk[torch.arange(seqs.shape[1]), seqs].argmax(-1, keepdim=True)
                ).squeeze(1),
            ),
            Mistake(
                "a softmax over the batch axis instead of over the keys",
                "Each row has its own attention: softmax over dim=-1 (the n keys).",
                lambda qk, ov, seqs: torch.einsum(
                    "bn,bnv->bv", qk[torch.arange(seqs.shape[1]), seqs].softmax(dim=0), ov[seqs]
                ).argmax(-1),
            ),
        ),
        examples=_tables,
    ),
    Exercise(
        name="min_attention_summary",
        notebook="08",
        reference=min_attention_summary,
        hint="the first number is attention_on_answer(sep_attn[:, :n], seqs, seqs.min(1).values).mean(); the second compares "
        "sep_attn.argmax(1) (over all n + 1 keys, SEP's own included) with seqs.argmin(1), as a mean of the matches.",
        mistakes=(
            Mistake(
                "the mean of the largest attention weight, wherever it is, instead of the weight on the minimum",
                "The claim is about the minimum: average the attention on the position holding it, not the row's max.",
                _summary_mean_of_max,
            ),
            Mistake(
                "the position of the maximum value (seqs.argmax) instead of the minimum",
                "The answer is the smallest value: compare the most-attended key with seqs.argmin(dim=1).",
                _summary_max_position,
            ),
            Mistake(
                "the most-attended key chosen among the n values only, leaving SEP's own key out",
                "SEP can attend to itself: take the argmax over all n + 1 keys, so a row where SEP wins does not count.",
                _summary_without_sep,
            ),
        ),
        examples=_sep_attention,
    ),
    Exercise(
        name="qk_by_value",
        notebook="08",
        reference=algorithmic.qk_by_value,
        hint="q = (W_E[SEP] + W_pos[n]) @ W_Q[0, head] + b_Q[0, head]; k = (W_E[v] + W_pos[p]) @ W_K[0, head] + b_K[0, head] "
        "for every (p, v) by broadcasting ([n, 1, d] + [1, V, d]); score = k @ q / sqrt(d_head).",
        mistakes=(
            Mistake(
                "scores without the 1/sqrt(d_head) scale",
                "TransformerLens divides q.k by sqrt(d_head) before the softmax: so must the table.",
                _qk_no_scale,
            ),
            Mistake(
                "keys and query without the positional embeddings",
                "In layer 0 the residual stream is W_E[token] + W_pos[position]: add W_pos[p] to each key, W_pos[n] to the query.",
                _qk_no_pos,
            ),
            Mistake(
                "an off-by-one position for SEP's query (W_pos[n - 1])",
                "SEP is the token after the n values: position n (0-based), the last row of W_pos.",
                _qk_sep_pos,
            ),
        ),
        examples=_models,
    ),
    Exercise(
        name="score_ranges",
        notebook="08",
        reference=score_ranges,
        hint="range = amax - amin. Over values: along dim=1 (one range per position), then the smallest. Over positions: "
        "along dim=0 (one range per value), then the largest. Return both as floats.",
        mistakes=(
            Mistake(
                "the two axes swapped (the range over positions computed along the values, and back)",
                "qk is [position, value]: the range over values is along dim=1, over positions along dim=0.",
                lambda qk: (float((qk.amax(0) - qk.amin(0)).min()), float((qk.amax(1) - qk.amin(1)).max())),
            ),
            Mistake(
                "the largest range over values instead of the smallest",
                "The claim must hold at every position: take the smallest range over values (the weakest position).",
                lambda qk: (float((qk.amax(1) - qk.amin(1)).max()), score_ranges(qk)[1]),
            ),
            Mistake(
                "the standard deviations instead of the ranges",
                "A range is max - min (the gap between the best and worst key), not the spread's standard deviation.",
                lambda qk: (float(qk.std(dim=1).min()), float(qk.std(dim=0).max())),
            ),
        ),
        examples=_score_tables,
    ),
    Exercise(
        name="ov_by_value",
        notebook="08",
        reference=algorithmic.ov_by_value,
        hint="rows W_E[v] for the values v = 0 .. V-1 only (not SEP), times W_V[0, head] @ W_O[0, head] @ W_U; "
        "or model.OV[0, head], a FactoredMatrix (take .AB of the product).",
        mistakes=(
            Mistake(
                "a row for SEP as well (V + 1 rows)",
                "SEP is never a key SEP attends to for its answer: keep the rows of the values 0 .. V-1 only.",
                _ov_with_sep,
            ),
            Mistake(
                "the head's output in the residual stream, without the unembedding",
                "Multiply by W_U too, to read the output as logits: shape [V, d_vocab].",
                _ov_no_unembed,
            ),
        ),
        examples=_models,
    ),
    Exercise(
        name="diagonal_dominance",
        notebook="08",
        reference=algorithmic.diagonal_dominance,
        hint="for each row i, is the argmax over its columns equal to i? Return the fraction of rows, as a float.",
        mistakes=(
            Mistake(
                "the argmax over each column instead of each row",
                "Row v is what attending to value v writes: take argmax(dim=1), one winner per row.",
                lambda m: float((m.argmax(dim=0)[: m.shape[0]] == torch.arange(m.shape[0])).float().mean()),
            ),
            Mistake(
                "a count of rows instead of a fraction",
                "Divide by the number of rows (or take .float().mean()): 1.0 is a perfect copier.",
                lambda m: float((m.argmax(dim=1) == torch.arange(m.shape[0])).sum()),
            ),
        ),
        examples=_matrices,
    ),
    Exercise(
        name="attention_on_answer",
        notebook="08",
        reference=attention_on_answer,
        hint="a mask (seqs == answer[:, None]) marks every position holding the answer; multiply the attention by it and sum over keys.",
        mistakes=(
            Mistake(
                "the attention on one copy of the answer only (the first position holding it)",
                "With duplicates the answer can sit at several positions: sum the attention over all of them.",
                lambda attn, seqs, answer: attn.gather(
                    1, (seqs == answer[:, None]).float().argmax(1, keepdim=True)
                ).squeeze(1),
            ),
        ),
        examples=_attention_cases,
    ),
)
