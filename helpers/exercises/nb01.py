"""Exercises of notebook 01 (the 0-layer transformer): references, hints and the mistakes their checks name.

Most references are ``helpers.bigram``'s functions; ``table_loss`` and ``top_k_agreement`` are
this notebook's own analyses and live here."""

from __future__ import annotations

import torch

from helpers import bigram, models
from helpers.configs import ModelConfig
from helpers.exercises import Exercise, Mistake


def table_loss(table_lp: torch.Tensor, rows: torch.Tensor) -> float:
    """Mean next-token loss of predicting rows[:, 1:] from rows[:, :-1] with a [d_vocab, d_vocab] log-prob table."""
    return float(-table_lp[rows[:, :-1], rows[:, 1:]].mean())


def top_k_agreement(model_lp: torch.Tensor, count_lp: torch.Tensor, k: int) -> float:
    """Share of rows (current tokens) whose counted most likely next token is among the model's top k."""
    top = model_lp.topk(k, dim=-1).indices  # [rows, k]
    return (top == count_lp.argmax(-1, keepdim=True)).any(-1).float().mean().item()


# --- wrong variants the checks recognise ----------------------------------------------------


def _counts_across_rows(rows: torch.Tensor, d_vocab: int) -> torch.Tensor:
    flat = rows.reshape(-1)
    return bigram.bigram_counts(flat[None], d_vocab)


def _kl_unweighted(p_log: torch.Tensor, q_log: torch.Tensor, weights: torch.Tensor) -> float:
    return bigram.mean_kl(p_log, q_log, torch.ones_like(weights))


def _kl_unnormalised(p_log: torch.Tensor, q_log: torch.Tensor, weights: torch.Tensor) -> float:
    return bigram.mean_kl(p_log, q_log, weights) * float(weights.sum())


def _kl_reversed(p_log: torch.Tensor, q_log: torch.Tensor, weights: torch.Tensor) -> float:
    return bigram.mean_kl(q_log.expand_as(p_log), p_log, weights)


# --- small seeded inputs for the unit tests --------------------------------------------------


def _rows() -> list[tuple[torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.tensor([[0, 1, 2, 1, 2], [0, 2, 2, 3, 3]]), 4), (torch.randint(0, 7, (6, 9), generator=g), 7)]


def _counts() -> list[tuple[torch.Tensor, float]]:
    g = torch.Generator().manual_seed(0)
    counts = torch.randint(0, 5, (6, 6), generator=g).float()
    return [(counts, 0.1), (counts, 1.0)]


def _tables() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(7, 7, generator=g).log_softmax(-1), torch.randint(0, 7, (4, 9), generator=g))]


def _zero_layer_models() -> list[tuple[torch.nn.Module]]:
    cfg = ModelConfig(d_vocab=11, n_ctx=8, d_model=8, n_layers=0, n_heads=1, d_head=8, seed=0)
    shifted = models.build_model(cfg.replace(seed=1))
    with torch.no_grad():  # a shared vector in W_pos, as training puts there (notebook 01)
        shifted.W_pos.add_(torch.randn(8, generator=torch.Generator().manual_seed(0)))
    return [(models.build_model(cfg),), (shifted,)]


def _zero_layer_logits(model: torch.nn.Module, pos: torch.Tensor) -> torch.Tensor:
    """[d_vocab, d_vocab] logits W_E W_U + pos W_U + b_U for a positional vector ``pos`` [d_model]."""
    return ((model.W_E + pos) @ model.W_U + model.b_U).detach()


def _distributions() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    p, q = torch.randn(6, 6, generator=g).log_softmax(-1), torch.randn(6, 6, generator=g).log_softmax(-1)
    return [(p, q, torch.rand(6, generator=g) + 0.1), (p, q, torch.ones(6))]


def _token_tables() -> list[tuple[torch.Tensor, int, int]]:
    g = torch.Generator().manual_seed(0)
    table = torch.randn(9, 9, generator=g).log_softmax(-1)
    return [(table, 2, 3), (table, 7, 4)]


def _agreement() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(1)
    model_lp, count_lp = torch.randn(40, 8, generator=g), torch.randn(40, 8, generator=g)
    return [(model_lp, count_lp, 1), (model_lp, count_lp, 3)]


EXERCISES = (
    Exercise(
        name="bigram_counts",
        notebook="01",
        reference=bigram.bigram_counts,
        hint="pair rows[:, :-1] with rows[:, 1:] (not across rows), and index counts as [current, next].",
        mistakes=(
            Mistake(
                "a table indexed [next, current] (the transpose)",
                "Row a, column b counts how often b follows a: counts[current, next].",
                lambda rows, d_vocab: bigram.bigram_counts(rows, d_vocab).T,
            ),
            Mistake(
                "pairs that cross rows (the last token of a row paired with the first of the next)",
                "Pair rows[:, :-1] with rows[:, 1:] so each pair lies inside one row.",
                _counts_across_rows,
            ),
        ),
        examples=_rows,
    ),
    Exercise(
        name="bigram_log_probs",
        notebook="01",
        reference=bigram.bigram_log_probs,
        hint="add alpha to every count, divide each row by its sum (sum(-1, keepdim=True)), then .log().",
        mistakes=(
            Mistake(
                "columns normalised instead of rows",
                "P(next | current) sums to 1 over the next token: divide by the row sums, sum(-1, keepdim=True).",
                lambda counts, alpha: ((counts + alpha) / (counts + alpha).sum(0, keepdim=True)).log(),
            ),
            Mistake(
                "no smoothing (alpha not added)",
                "Add alpha to every count before normalising, so unseen pairs get a little probability.",
                lambda counts, alpha: (counts / counts.sum(-1, keepdim=True)).log(),
            ),
        ),
        examples=_counts,
    ),
    Exercise(
        name="unigram_log_probs",
        notebook="01",
        reference=bigram.unigram_log_probs,
        hint="how often each token is the *next* token is a column sum, counts.sum(0); add alpha, normalise, log.",
        mistakes=(
            Mistake(
                "row sums (how often a token is the *current* token) instead of column sums",
                "The unigram predicts the next token: count it with counts.sum(0).",
                lambda counts, alpha: ((counts.sum(1) + alpha) / (counts.sum(1) + alpha).sum()).log(),
            ),
        ),
        examples=_counts,
    ),
    Exercise(
        name="table_loss",
        notebook="01",
        reference=table_loss,
        hint="the log-probability of each pair is table_lp[rows[:, :-1], rows[:, 1:]] (current, next); the loss is minus its mean.",
        mistakes=(
            Mistake(
                "the table read as [next, current] (indices swapped)",
                "Index the table with the current token first: table_lp[rows[:, :-1], rows[:, 1:]].",
                lambda table_lp, rows: float(-table_lp[rows[:, 1:], rows[:, :-1]].mean()),
            ),
            Mistake(
                "a missing minus sign (the mean log-probability instead of the loss)",
                "The loss is -log P: negate the mean.",
                lambda table_lp, rows: float(table_lp[rows[:, :-1], rows[:, 1:]].mean()),
            ),
        ),
        examples=_tables,
    ),
    Exercise(
        name="zero_layer_log_probs",
        notebook="01",
        reference=bigram.zero_layer_log_probs,
        hint="(model.W_E @ model.W_U + model.W_pos.mean(0) @ model.W_U + model.b_U).log_softmax(-1): one row per "
        "current token, normalised over next tokens.",
        mistakes=(
            Mistake(
                "the positional bias left out (W_E W_U + b_U only)",
                "W_pos is added at every position, so its mean over positions is a bias the model relies on: "
                "add model.W_pos.mean(0) @ model.W_U.",
                lambda model: _zero_layer_logits(model, torch.zeros(model.cfg.d_model)).log_softmax(-1),
            ),
            Mistake(
                "the first position's W_pos[0] instead of the mean over positions",
                "The position-independent part of W_pos is its mean over all positions: model.W_pos.mean(0).",
                lambda model: _zero_layer_logits(model, model.W_pos[0]).log_softmax(-1),
            ),
            Mistake(
                "a softmax over the wrong axis (over current tokens)",
                "Each row is a distribution over the next token: log_softmax(dim=-1).",
                lambda model: _zero_layer_logits(model, model.W_pos.mean(0)).log_softmax(0),
            ),
            Mistake(
                "probabilities instead of log-probabilities",
                "Use log_softmax, not softmax: the tables of this notebook hold log P.",
                lambda model: _zero_layer_logits(model, model.W_pos.mean(0)).softmax(-1),
            ),
        ),
        examples=_zero_layer_models,
    ),
    Exercise(
        name="mean_kl",
        notebook="01",
        reference=bigram.mean_kl,
        hint="KL(p || q) = sum_b p(b) (log p(b) - log q(b)): exponentiate p_log for the weights, sum over the last "
        "axis, then take the weighted mean.",
        mistakes=(
            Mistake(
                "the KL the other way round, KL(q || p)",
                "KL is not symmetric: weight by p = p_log.exp() and sum p (log p - log q).",
                _kl_reversed,
            ),
            Mistake(
                "an unweighted mean over current tokens",
                "Weight each row's KL by how often its token occurs: w = weights / weights.sum().",
                _kl_unweighted,
            ),
            Mistake(
                "weights that are not normalised (a weighted sum, not a weighted mean)",
                "Divide the weights by their sum before using them.",
                _kl_unnormalised,
            ),
        ),
        examples=_distributions,
    ),
    Exercise(
        name="top_previous",
        notebook="01",
        reference=bigram.top_previous,
        hint="'after which tokens a is b most likely' reads column b: table[:, token].topk(k); return (indices, values) as lists.",
        mistakes=(
            Mistake(
                "the row of the token (what *follows* it) instead of its column",
                "Tokens a with a high table[a, token] lie in column `token`: table[:, token].",
                bigram.top_next,
            ),
        ),
        examples=_token_tables,
    ),
    Exercise(
        name="top_k_agreement",
        notebook="01",
        reference=top_k_agreement,
        hint="model_lp.topk(k, dim=-1).indices is [rows, k]; compare with count_lp.argmax(-1, keepdim=True), .any(-1), mean.",
        mistakes=(
            Mistake(
                "the roles swapped (the model's top token among the counted top k)",
                "Ask whether the *counted* best next token is among the *model's* top k.",
                lambda model_lp, count_lp, k: top_k_agreement(count_lp, model_lp, k),
            ),
        ),
        examples=_agreement,
    ),
)
