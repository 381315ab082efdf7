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
                lambda qk, ov, seqs: seqs.gather(1, qk[torch.arange(seqs.shape[1]), seqs].argmax(-1, keepdim=True)).squeeze(1),
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
                lambda attn, seqs, answer: attn.gather(1, (seqs == answer[:, None]).float().argmax(1, keepdim=True)).squeeze(1),
            ),
        ),
        examples=_attention_cases,
    ),
)
