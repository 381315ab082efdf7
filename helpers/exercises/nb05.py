"""Exercises of notebook 05 (sentiment, tokenizers, sweeps): references, hints and the mistakes their checks name."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from types import SimpleNamespace

import torch

from helpers import sentiment, stats
from helpers.exercises import Exercise, Mistake

# --- references that helpers does not already have -----------------------------------------


def review_rows(ids: Sequence[Sequence[int]], n_ctx: int, pad: int, cls: int) -> torch.Tensor:
    """The classifier's rows: ``helpers.sentiment.Vocab.rows`` on reviews already turned into ids."""
    fake_vocab = SimpleNamespace(pad=pad, cls=cls, encode=lambda i: list(ids[i]))
    return sentiment.Vocab.rows(fake_vocab, range(len(ids)), n_ctx)  # type: ignore[arg-type]


def majority_accuracy(labels: Sequence[int]) -> float:
    """Accuracy of always guessing the more common class: the share of the larger class among 0/1 ``labels``."""
    n_pos = sum(labels)
    return max(n_pos, len(labels) - n_pos) / len(labels)


def cls_dla(pattern: torch.Tensor, head_out: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    return torch.einsum("hk,hkd,d->k", pattern, head_out, direction)


def norm_weighted_attention(pattern: torch.Tensor, head_out: torch.Tensor) -> torch.Tensor:
    return (pattern * head_out.norm(dim=-1)).sum(0)  # Kobayashi et al.: |A_h[j] o_h[j]|, summed over heads


def tokens_per_review(encode: Callable[[str], Sequence[int]], texts: Sequence[str]) -> float:
    return sum(len(encode(t)) for t in texts) / len(texts)


def wordpiece_split(word: str, vocab: Collection[str], unk: str = "[UNK]") -> list[str]:
    """BERT's WordPiece on one word: greedy longest match first, ``##`` on every piece but the first."""
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):  # the longest piece first
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:  # no piece fits: the whole word is unknown
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


# --- small seeded inputs for the unit tests ------------------------------------------------


def _dla_inputs() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.rand(2, 5, generator=g).softmax(-1), torch.randn(2, 5, 8, generator=g), torch.randn(8, generator=g)),
        (torch.rand(1, 3, generator=g), torch.randn(1, 3, 4, generator=g), torch.randn(4, generator=g)),
    ]


def _norm_inputs() -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(pattern, head_out) for pattern, head_out, _ in _dla_inputs()]


def _labels() -> list[tuple[list[int]]]:
    return [([1, 0, 0, 1, 0, 0, 0],), ([1, 1, 0, 1, 1, 0, 1, 1, 0, 1],)]  # a negative, then a positive majority


def _texts() -> list[tuple[Callable[[str], Sequence[int]], list[str]]]:
    return [(list, ["abc", "de"]), (str.split, ["a b c", "d", "e f"])]


def _ids() -> list[tuple[list[list[int]], int, int, int]]:
    return [([[5, 6, 7], [8], [1, 2, 3, 4, 5, 6, 7]], 5, 0, 9)]


def _ranks() -> list[tuple[list[float], list[float]]]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, generator=g)
    return [(x.tolist(), (x**3 + 0.5 * torch.randn(12, generator=g)).tolist())]


def _signs() -> list[tuple[list[int], dict[int, float], torch.Tensor]]:
    weights = torch.tensor([0.5, -1.0, 2.0, -0.3, 0.1, -2.0])
    return [([3, 0, 5, 1], {0: 1.0, 1: -0.2, 3: 0.4, 5: -1.0}, weights)]


def _words() -> list[tuple[str, set[str]]]:
    vocab = {
        "un",
        "##watch",
        "##able",
        "##w",
        "##atch",
        "watch",
        "able",
        "a",
        "b",
        "##a",
        "##b",
        "film",
        "##s",
        "f",
        "##i",
    }
    return [("unwatchable", vocab), ("films", vocab), ("abba", vocab), ("fix", vocab), ("ab", vocab)]


# --- what answers with a known mistake return -------------------------------------------------


def _rows_right_padded(ids, n_ctx, pad, cls):  # noqa: ANN001, ANN202
    out = torch.full((len(ids), n_ctx), pad, dtype=torch.long)
    for r, row in enumerate(ids):
        row = list(row)[: n_ctx - 1] + [cls]
        out[r, : len(row)] = torch.tensor(row)
    return out


def _rows_keep_end(ids, n_ctx, pad, cls):  # noqa: ANN001, ANN202
    return review_rows([list(row)[-(n_ctx - 1) :] for row in ids], n_ctx, pad, cls)


def _rows_no_cls(ids, n_ctx, pad, cls):  # noqa: ANN001, ANN202
    out = torch.full((len(ids), n_ctx), pad, dtype=torch.long)
    for r, row in enumerate(ids):
        row = list(row)[:n_ctx]
        out[r, n_ctx - len(row) :] = torch.tensor(row)
    return out


def _split_no_prefix(word, vocab, unk="[UNK]"):  # noqa: ANN001, ANN202
    return [p.removeprefix("##") for p in wordpiece_split(word, vocab, unk)]


def _split_shortest_first(word, vocab, unk="[UNK]"):  # noqa: ANN001, ANN202
    pieces, start = [], 0
    while start < len(word):
        for end in range(start + 1, len(word) + 1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def _split_partial_unk(word, vocab, unk="[UNK]"):  # noqa: ANN001, ANN202
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return pieces + [unk]
        pieces.append(piece)
        start = end
    return pieces


def _pearson(x, y):  # noqa: ANN001, ANN202
    return float(torch.corrcoef(torch.tensor([list(x), list(y)], dtype=torch.float64))[0, 1])


EXERCISES = (
    Exercise(
        name="review_rows",
        notebook="05",
        reference=review_rows,
        hint="start from torch.full((len(ids), n_ctx), pad); put cls in the last column; the review's first n_ctx - 1 ids "
        "go right before it, ending at column n_ctx - 2 (so [PAD]s come first).",
        mistakes=(
            Mistake(
                "padding on the right: [CLS] right after the review, [PAD]s after it",
                "Attention is causal and the model reads out the *last* position: put [CLS] in the last column, pad on the left.",
                _rows_right_padded,
            ),
            Mistake(
                "truncating from the front (keeping the last n_ctx - 1 tokens)",
                "Keep the first n_ctx - 1 tokens of a long review: ids[: n_ctx - 1].",
                _rows_keep_end,
            ),
            Mistake(
                "no [CLS] at the end",
                "The classifier reads its decision at [CLS]: the last column is always cls, the review gets n_ctx - 1 places.",
                _rows_no_cls,
            ),
        ),
        examples=_ids,
    ),
    Exercise(
        name="majority_accuracy",
        notebook="05",
        reference=majority_accuracy,
        hint="count the positive labels (sum) and the negative ones (len - sum); always guessing the larger class is "
        "right on max of the two; divide by len(labels) and return a Python float.",
        mistakes=(
            Mistake(
                "the share of positive labels, whichever class is larger",
                "The baseline guesses the *more common* class: take the max of the positive and the negative counts.",
                lambda labels: sum(labels) / len(labels),
            ),
            Mistake(
                "a count instead of a fraction",
                "Divide the larger class's count by len(labels): accuracies lie between 0 and 1.",
                lambda labels: max(sum(labels), len(labels) - sum(labels)),
            ),
        ),
        examples=_labels,
    ),
    Exercise(
        name="cls_dla",
        notebook="05",
        reference=cls_dla,
        hint="weight each head's write by its attention, project on the direction, then sum over heads (not positions).",
        mistakes=(
            Mistake(
                "a sum over the positions instead of over the heads",
                "Keep the position axis (one number per source token) and sum over the heads: einsum 'hk,hkd,d->k'.",
                lambda pattern, head_out, direction: torch.einsum("hk,hkd,d->h", pattern, head_out, direction),
            ),
            Mistake(
                "the writes not weighted by [CLS]'s attention",
                "A token only moves what [CLS] attends to it: multiply o_h[j] . d by A_h[j].",
                lambda pattern, head_out, direction: torch.einsum("hkd,d->k", head_out, direction),
            ),
        ),
        examples=_dla_inputs,
    ),
    Exercise(
        name="norm_weighted_attention",
        notebook="05",
        reference=norm_weighted_attention,
        hint="the norm of each head's write, head_out.norm(dim=-1) [head, pos], times the attention, summed over heads.",
        mistakes=(
            Mistake(
                "the heads averaged instead of summed",
                "[CLS] receives the sum of all heads' writes: sum over the head axis.",
                lambda pattern, head_out: (pattern * head_out.norm(dim=-1)).mean(0),
            ),
            Mistake(
                "the norm of the heads' summed write instead of the sum of each head's norm",
                "Take |A_h[j] o_h[j]| for each head, then sum over heads (the norms of the separate writes).",
                lambda pattern, head_out: (pattern[..., None] * head_out).sum(0).norm(dim=-1),
            ),
            Mistake(
                "squared norms",
                "Use the norm itself, |o_h[j]| = .norm(dim=-1), not its square.",
                lambda pattern, head_out: (pattern * head_out.pow(2).sum(-1)).sum(0),
            ),
        ),
        examples=_norm_inputs,
    ),
    Exercise(
        name="rank_correlation",
        notebook="05",
        reference=stats.rank_correlation,
        hint="replace each value by its rank within its own list (argsort of argsort; these values have no ties), then take "
        "the Pearson correlation of the two rank lists (torch.corrcoef).",
        mistakes=(
            Mistake(
                "the Pearson correlation of the raw values, not of their ranks",
                "Spearman's rho compares orders only: rank each list first, then correlate the ranks.",
                _pearson,
            ),
        ),
        examples=_ranks,
    ),
    Exercise(
        name="sign_agreement",
        notebook="05",
        reference=sentiment.sign_agreement,
        hint="for each token id i in top_ids compare (model_scores[i] > 0) with (weights[i] > 0); return the fraction that agree.",
        mistakes=(
            Mistake(
                "the weights looked up by position in top_ids instead of by token id",
                "weights is indexed by token id: weights[i] for i in top_ids.",
                lambda top_ids, model_scores, weights: (
                    sum((model_scores[i] > 0) == (float(weights[k]) > 0) for k, i in enumerate(top_ids)) / len(top_ids)
                ),
            ),
        ),
        examples=_signs,
    ),
    Exercise(
        name="tokens_per_review",
        notebook="05",
        reference=tokens_per_review,
        hint="average the lengths of the encodings, not of the texts.",
        mistakes=(
            Mistake(
                "the mean length in characters, not in tokens",
                "Count len(encode(text)), the tokens, not len(text).",
                lambda encode, texts: sum(len(t) for t in texts) / len(texts),
            ),
            Mistake(
                "the total number of tokens, not the mean per review",
                "Divide by the number of reviews.",
                lambda encode, texts: float(sum(len(encode(t)) for t in texts)),
            ),
        ),
        examples=_texts,
    ),
    Exercise(
        name="wordpiece_split",
        notebook="05",
        reference=wordpiece_split,
        hint="from start = 0, try the longest piece word[start:end] first (end from len(word) down to start + 1), with '##' "
        "in front unless start == 0; take the first that is in vocab and move start to end. If none fits, the whole word "
        "is [unk].",
        mistakes=(
            Mistake(
                "pieces without the '##' prefix",
                "A piece that continues a word is a different token from the same letters starting one: look up and "
                "return '##' + piece for every piece but the first.",
                _split_no_prefix,
            ),
            Mistake(
                "the shortest matching piece first",
                "WordPiece is greedy for the *longest* piece: try end from len(word) downwards.",
                _split_shortest_first,
            ),
            Mistake(
                "keeping the pieces found before an unknown part",
                "If some part of a word matches no piece, BERT maps the *whole* word to [UNK].",
                _split_partial_unk,
            ),
        ),
        examples=_words,
    ),
)
