"""Exercises of notebook 09 (find-median): references, hints and the mistakes their checks name."""

from __future__ import annotations

from typing import Any

import torch

from helpers.exercises import Exercise, Mistake


def smallest_passing(search: list[dict[str, Any]], threshold: float = 0.99) -> dict[str, Any] | None:
    passing = [r for r in search if r["test_acc"] > threshold]  # strictly above, as the claim says
    return min(passing, key=lambda r: r["params"], default=None)  # the fewest parameters; None if none passes


def sep_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float(
        (logits[:, -1].argmax(dim=-1) == labels).float().mean()
    )  # the answer is read at SEP, the last position


def value_ranks(seqs: torch.Tensor) -> torch.Tensor:
    return seqs.argsort(dim=1).argsort(dim=1)  # positions in sorted order, then each position's rank


def attention_by_rank(sep_attn: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
    n = ranks.shape[1]
    # mass[h, r]: SEP's attention on the key of rank r, summed over that key's positions, averaged over the batch
    return torch.stack([(sep_attn * (ranks == r)[:, None]).sum(-1).mean(0) for r in range(n)], dim=1)


def dla_on_answer(head_dla: torch.Tensor, labels: torch.Tensor, n_values: int) -> torch.Tensor:
    on_label = head_dla.gather(2, labels[:, None, None].expand(-1, head_dla.shape[1], 1)).squeeze(2)  # [batch, head]
    return (on_label - head_dla[..., :n_values].mean(-1)).mean(0)  # relative to the mean logit over the values


def mean_ablated_z(z: torch.Tensor, heads: list[int]) -> torch.Tensor:
    out = z.clone()  # never edit an activation in place
    out[:, :, heads] = z[:, :, heads].mean(dim=0, keepdim=True)  # the batch mean, at each position
    return out


def patching_effect(
    clean: torch.Tensor,
    corrupt: torch.Tensor,
    patched: torch.Tensor,
    clean_label: torch.Tensor,
    corrupt_label: torch.Tensor,
) -> torch.Tensor:
    def diff(logits: torch.Tensor) -> torch.Tensor:
        return logits.gather(1, corrupt_label[:, None]).squeeze(1) - logits.gather(1, clean_label[:, None]).squeeze(1)

    return ((diff(patched) - diff(clean)) / (diff(corrupt) - diff(clean))).mean()


def tent_logits(attn: torch.Tensor, ov: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    tents = ov[:, values].permute(1, 0, 2, 3)  # [batch, head, n, V]: each head's OV row (tent) for each key's value
    return torch.einsum("bhn,bhnv->bv", attn, tents)  # each head's tents weighted by its own attention


def _search() -> list[tuple[list[dict[str, Any]], float]]:
    rows = [(2, 2, 0, 37888, 0.9785), (1, 4, 0, 21248, 0.9965), (1, 1, 128, 37824, 0.994),
            (1, 1, 0, 16000, 0.99), (2, 4, 128, 90000, 0.999), (1, 1, 0, 9000, 0.52)]  # fmt: skip
    search = [{"layers": L, "heads": h, "d_mlp": m, "params": p, "test_acc": a} for L, h, m, p, a in rows]
    return [(search, 0.99), (search, 0.995)]


def _sep_logits() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(40, 6, 9, generator=g)
    labels = torch.randint(0, 8, (40,), generator=g)
    logits[torch.arange(20), -1, labels[:20]] += 4.0  # half the rows answer right at SEP
    logits[torch.arange(20, 40), 0, labels[20:]] += 4.0  # the other half only at position 0
    return [(logits, labels)]


def _seqs() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [
        (torch.tensor([[30, 2, 17, 5, 9]]),),
        (torch.stack([torch.randperm(32, generator=g)[:5] for _ in range(20)]),),
    ]


def _logits() -> list[tuple[torch.Tensor, ...]]:
    g = torch.Generator().manual_seed(0)
    clean, corrupt = torch.randn(8, 10, generator=g), torch.randn(8, 10, generator=g)
    a, b = torch.randint(0, 10, (8,), generator=g), torch.randint(0, 10, (8,), generator=g)
    b = torch.where(a == b, (b + 1) % 10, b)
    w = torch.rand(8, 1, generator=g)  # a patch that moves each row by a different fraction
    return [
        (clean, corrupt, clean, a, b),
        (clean, corrupt, corrupt, a, b),
        (clean, corrupt, (clean + corrupt) / 2, a, b),
        (clean, corrupt, clean + w * (corrupt - clean), a, b),
    ]


def _attention() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    seqs = torch.stack([torch.randperm(32, generator=g)[:5] for _ in range(6)])
    attn = torch.randn(6, 4, 5, generator=g).softmax(-1)  # [batch, head, key]
    return [(attn, value_ranks(seqs))]


def _dla() -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    g = torch.Generator().manual_seed(0)
    head_dla = torch.randn(7, 4, 9, generator=g)
    head_dla[..., 8] += 5.0  # the SEP column (not a value) far from the others, as in a real model
    return [(head_dla, torch.randint(0, 8, (7,), generator=g), 8)]


def _z() -> list[tuple[torch.Tensor, list[int]]]:
    z = torch.randn(5, 3, 4, 2, generator=torch.Generator().manual_seed(0))  # [batch, pos, head, d_head]
    return [(z, [0]), (z, [1, 3])]


def _votes() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    values = torch.stack([torch.randperm(12, generator=g)[:5] for _ in range(40)])
    attn = (3 * torch.randn(40, 3, 5, generator=g)).softmax(-1)
    return [(attn, torch.randn(3, 12, 12, generator=g), values)]


EXERCISES = (
    Exercise(
        name="smallest_passing",
        notebook="09",
        reference=smallest_passing,
        hint="keep the rows with test_acc strictly above the threshold, then min(..., key=lambda r: r['params']).",
        mistakes=(
            Mistake(
                "a model exactly at the threshold counted as passing (>= instead of >)",
                "'Above 99 %' is strict: keep test_acc > threshold.",
                lambda search, threshold=0.99: min(
                    (r for r in search if r["test_acc"] >= threshold), key=lambda r: r["params"], default=None
                ),
            ),
            Mistake(
                "the most accurate passing model instead of the smallest",
                "Among the passing models pick the fewest parameters: min with key params, not max with key test_acc.",
                lambda search, threshold=0.99: max(
                    (r for r in search if r["test_acc"] > threshold), key=lambda r: r["test_acc"], default=None
                ),
            ),
            Mistake(
                "the smallest model of the search, passing or not",
                "Filter first: only models above the threshold count.",
                lambda search, threshold=0.99: min(search, key=lambda r: r["params"]),
            ),
        ),
        examples=_search,
    ),
    Exercise(
        name="value_ranks",
        notebook="09",
        reference=value_ranks,
        hint="one argsort gives the positions in sorted order; a second argsort turns that into each position's rank.",
        mistakes=(
            Mistake(
                "a single argsort: the positions in sorted order, not each position's rank",
                "argsort once more: the rank of position j is where j appears in the sorted order.",
                lambda seqs: seqs.argsort(dim=1),
            ),
            Mistake(
                "ranks counted from the largest (0 = largest)",
                "Rank 0 is the smallest value: sort in increasing order.",
                lambda seqs: seqs.argsort(dim=1, descending=True).argsort(dim=1),
            ),
        ),
        examples=_seqs,
    ),
    Exercise(
        name="attention_by_rank",
        notebook="09",
        reference=attention_by_rank,
        hint="for each rank r, (ranks == r) is a [batch, n] mask; broadcast it over the heads ([:, None]), "
        "sum the attention over the keys, average over the batch; stack the ranks as the last axis.",
        mistakes=(
            Mistake(
                "the table transposed ([rank, head])",
                "One row per head, one column per rank: stack the ranks along dim=1.",
                lambda attn, ranks: attention_by_rank(attn, ranks).T,
            ),
            Mistake(
                "a sum over the batch instead of a mean",
                "Average over the sequences, so that each head's row sums to (about) 1.",
                lambda attn, ranks: attention_by_rank(attn, ranks) * attn.shape[0],
            ),
        ),
        examples=_attention,
    ),
    Exercise(
        name="dla_on_answer",
        notebook="09",
        reference=dla_on_answer,
        hint="gather each row's label from the last axis ([batch, head]), subtract each (row, head)'s mean logit "
        "over the n_values value tokens, then average over the batch.",
        mistakes=(
            Mistake(
                "the raw logit of the answer, without subtracting the mean logit",
                "A head can raise every logit alike; what helps the answer is its logit minus the mean over the values.",
                lambda d, labels, n: d.gather(2, labels[:, None, None].expand(-1, d.shape[1], 1)).squeeze(2).mean(0),
            ),
            Mistake(
                "the mean logit taken over the whole vocabulary, SEP included",
                "SEP is never an answer: average over the value tokens only (head_dla[..., :n_values]).",
                lambda d, labels, n: (
                    d.gather(2, labels[:, None, None].expand(-1, d.shape[1], 1)).squeeze(2) - d.mean(-1)
                ).mean(0),
            ),
        ),
        examples=_dla,
    ),
    Exercise(
        name="mean_ablated_z",
        notebook="09",
        reference=mean_ablated_z,
        hint="clone z, then overwrite z[:, :, heads] with z[:, :, heads].mean(dim=0, keepdim=True): "
        "the mean over the batch, separately at each position.",
        mistakes=(
            Mistake(
                "the mean over positions instead of over the batch",
                "Mean ablation keeps each position's typical output: average over dim 0 (the sequences), keep the positions.",
                lambda z, heads: _replace(z, heads, z[:, :, heads].mean(dim=1, keepdim=True)),
            ),
            Mistake(
                "the mean over the batch and the positions together",
                "Average over dim 0 only: each position keeps its own mean output.",
                lambda z, heads: _replace(z, heads, z[:, :, heads].mean(dim=(0, 1), keepdim=True)),
            ),
            Mistake(
                "zero ablation (the heads' output set to 0)",
                "Replace by the mean over the batch, not by zero: the head still adds its typical output.",
                lambda z, heads: _replace(z, heads, torch.zeros(())),
            ),
        ),
        examples=_z,
    ),
    Exercise(
        name="sep_accuracy",
        notebook="09",
        reference=sep_accuracy,
        hint="logits[:, -1] is [batch, d_vocab] at SEP; compare its argmax with labels and take the mean, as a float.",
        mistakes=(
            Mistake(
                "the prediction read at position 0 instead of at SEP (the last position)",
                "The model answers at SEP: take logits[:, -1].",
                lambda logits, labels: float((logits[:, 0].argmax(-1) == labels).float().mean()),
            ),
            Mistake(
                "the accuracy averaged over every position, not only SEP",
                "Only the SEP position predicts the median: read logits[:, -1], not every position.",
                lambda logits, labels: float((logits.argmax(-1) == labels[:, None]).float().mean()),
            ),
            Mistake(
                "a count of correct rows instead of a fraction",
                "Divide by the number of rows (take .float().mean()): accuracy is between 0 and 1.",
                lambda logits, labels: float((logits[:, -1].argmax(-1) == labels).sum()),
            ),
        ),
        examples=_sep_logits,
    ),
    Exercise(
        name="patching_effect",
        notebook="09",
        reference=patching_effect,
        hint="gather the two labels' logits per row, subtract, and normalise by the clean-to-corrupt change before the mean.",
        mistakes=(
            Mistake(
                "the mean change of the logit difference, not normalised",
                "Divide each row's change by that row's clean-to-corrupt change: 1 then means 'all the way'.",
                lambda cl, co, pa, a, b: (_diff(pa, a, b) - _diff(cl, a, b)).mean(),
            ),
            Mistake(
                "a ratio of means (mean change / mean clean-to-corrupt change)",
                "Normalise each row first, then average the ratios.",
                lambda cl, co, pa, a, b: (
                    (_diff(pa, a, b) - _diff(cl, a, b)).mean() / (_diff(co, a, b) - _diff(cl, a, b)).mean()
                ),
            ),
        ),
        examples=_logits,
    ),
    Exercise(
        name="tent_logits",
        notebook="09",
        reference=tent_logits,
        hint="ov[:, values] is [head, batch, n, V]; permute it to [batch, head, n, V] and weight it by attn "
        "[batch, head, n] with einsum('bhn,bhnv->bv', ...).",
        mistakes=(
            Mistake(
                "heads mixed up: the attention summed over heads times the OV tables summed over heads",
                "Each head's attention weights that head's own OV rows: keep the head axis in the einsum.",
                lambda attn, ov, values: torch.einsum("bn,bnv->bv", attn.sum(1), ov.sum(0)[values]),
            ),
            Mistake(
                "the voted value (argmax) instead of the summed logits",
                "Return the logits, [batch, V]: the notebook adds the positional part before taking the argmax.",
                lambda attn, ov, values: tent_logits(attn, ov, values).argmax(-1),
            ),
        ),
        examples=_votes,
    ),
)


def _replace(z: torch.Tensor, heads: list[int], value: torch.Tensor) -> torch.Tensor:
    out = z.clone()
    out[:, :, heads] = value
    return out


def _diff(logits: torch.Tensor, clean_label: torch.Tensor, corrupt_label: torch.Tensor) -> torch.Tensor:
    return logits.gather(1, corrupt_label[:, None]).squeeze(1) - logits.gather(1, clean_label[:, None]).squeeze(1)
