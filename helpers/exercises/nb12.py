"""Exercises of notebook 12 (indirect object identification in a model trained here): references, mistakes."""

from __future__ import annotations

import operator

import torch

from helpers import ioi, ioi_heads
from helpers.exercises import Exercise, Mistake
from helpers.probes import Probe


def io_logit_diff(logits: torch.Tensor, dataset: ioi.IOIDataset) -> torch.Tensor:
    return ioi.logit_diff(logits, dataset)


def head_dla(
    z_end: torch.Tensor, W_O: torch.Tensor, W_U: torch.Tensor, io_token: torch.Tensor, s_token: torch.Tensor
) -> torch.Tensor:
    out = torch.einsum("lbhe,lhed->lbhd", z_end, W_O)  # what each head writes at END
    answer = (W_U[:, io_token] - W_U[:, s_token]).T  # [batch, d_model]: logit(IO) - logit(S), row by row
    return torch.einsum("lbhd,bd->lh", out, answer) / z_end.shape[1]


def attention_between(pattern: torch.Tensor, query_pos: torch.Tensor, key_pos: torch.Tensor) -> torch.Tensor:
    return pattern[torch.arange(pattern.shape[0]), :, query_pos, key_pos]  # [batch, n_heads]


def name_copying_score(ov: torch.Tensor) -> torch.Tensor:
    return (ov.argmax(-1) == torch.arange(ov.shape[-1])).float().mean(-1)


def classify_ioi_heads(catalogue: dict, thresholds: ioi_heads.HeadThresholds) -> list[tuple[int, int, str]]:
    return ioi_heads.classify_heads(catalogue, thresholds)


def mean_ablate_heads(z: torch.Tensor, heads: list[int]) -> torch.Tensor:
    out = z.clone()
    out[:, :, heads] = z[:, :, heads].mean(0)  # each position keeps its own mean over the rows
    return out


def probe_test_accuracy(probe: Probe, acts: torch.Tensor, labels: torch.Tensor, test_rows: torch.Tensor) -> float:
    return float((probe.predict(acts[test_rows]) == labels[test_rows]).float().mean())


def steering_directions(probe: Probe, from_class: torch.Tensor, to_class: torch.Tensor) -> torch.Tensor:
    w = (probe.weight[to_class] - probe.weight[from_class]) / probe.std  # back to raw residual units
    return w / w.norm(dim=-1, keepdim=True)


def _classify(cat: dict, t: ioi_heads.HeadThresholds, cmp=operator.ge, relative=True, dla_rule=True) -> list:
    """classify_heads, with one of its rules broken on purpose (defaults: the helper's rules)."""
    dla_min = t.dla_frac * float(cat["dla"].abs().max()) if relative else t.dla_frac
    moves = cmp(cat["name_mover"], t.name_mover)
    rules = {
        "duplicate-token": cmp(cat["duplicate"], t.duplicate),
        "S-inhibition": cmp(cat["s_inhibition"], t.s_inhibition),
        "name mover": moves & (cat["dla"] >= dla_min) if dla_rule else moves,
        "negative name mover": moves & (cat["dla"] <= -dla_min) if dla_rule else moves & (cat["dla"] < 0),
    }
    found = [(int(layer), int(h), kind) for kind, mask in rules.items() for layer, h in mask.nonzero().tolist()]
    return sorted(found, key=lambda x: (x[0], x[1], list(rules).index(x[2])))


def _is_in(heads: list[int], n_heads: int) -> torch.Tensor:
    return torch.isin(torch.arange(n_heads), torch.tensor(heads))[:, None]  # [n_heads, 1]: broadcasts over d_head


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _logits_and_rows() -> list[tuple]:
    data = ioi.ioi_dataset(ioi.IOIConfig(), 8, "test", seed=3)  # mixed templates: END is not always the last position
    return [(torch.randn(*data.tokens.shape, ioi.IOIVocab().vocab_size, generator=_gen()) * 3, data)]


def _dla_inputs() -> list[tuple]:
    g = _gen(1)
    shapes = [(2, 5, 3, 4), (2, 3, 4, 8), (8, 10)]  # z_end, W_O, W_U
    return [(*(torch.randn(s, generator=g) for s in shapes), *torch.randint(10, (2, 5), generator=g))]


def _patterns() -> list[tuple]:
    g = _gen(2)
    scores = torch.randn(4, 3, 9, 9, generator=g).masked_fill(torch.ones(9, 9).triu(1).bool(), float("-inf"))
    query = torch.tensor([8, 7, 6, 8])
    return [(scores.softmax(-1), query, torch.tensor([2, 3, 1, 5])), (scores.softmax(-1), query - 1, query - 3)]


def _ovs() -> list[tuple]:  # some heads copy (a large diagonal), some suppress, some neither
    diagonal = 1.5 * torch.eye(6) * torch.randn(2, 3, 1, 1, generator=_gen(9))
    return [(torch.randn(2, 3, 6, 6, generator=_gen(3)) + diagonal,)]


def _catalogues() -> list[tuple]:
    g = _gen(4)
    cat = {k: torch.rand(3, 4, generator=g) * 0.6 for k in ("duplicate", "s_inhibition", "name_mover", "to_s1")}
    cat["dla"] = torch.randn(3, 4, generator=g) * 0.5
    cat["dla"][2, 1] = 4.0  # one large DLA: a relative rule and an absolute one disagree
    return [(cat, ioi_heads.HeadThresholds())]


def _zs() -> list[tuple]:
    return [(torch.randn(5, 4, 3, 2, generator=_gen(5)), [0, 2]), (torch.randn(5, 4, 3, 2, generator=_gen(6)), [1])]


def _probe(seed: int) -> tuple[Probe, torch.Tensor]:  # a random 4-class probe on 6 features, and 40 rows
    g = _gen(seed)
    w, b, mean = (torch.randn(s, generator=g) for s in [(4, 6), (4,), (6,)])
    return Probe(w, b, mean, torch.rand(6, generator=g) + 0.5, 0.0, 0.0), torch.randn(40, 6, generator=g) * 2 + 1


def _probe_rows() -> list[tuple]:
    probe, acts = _probe(10)
    labels, test_rows = probe.predict(acts), torch.arange(30, 40)  # right on the held-out rows ...
    labels[:30:2] = (labels[:30:2] + 1) % 4  # ... and wrong on half the training rows
    return [(probe, acts, labels, test_rows)]


def _class_pairs() -> list[tuple]:
    return [(_probe(8)[0], torch.tensor([0, 1, 3, 2]), torch.tensor([2, 3, 0, 1]))]


def _dla_with(answer) -> object:
    return lambda z, W_O, W_U, io, s: torch.einsum(
        "lbhe,lhed,bd->lh", z, W_O, answer(W_U, io, s)) / z.shape[1]  # fmt: skip


EXERCISES = (
    Exercise(
        name="io_logit_diff",
        notebook="12",
        reference=io_logit_diff,
        hint="rows = torch.arange(len(dataset)); end = logits[rows, dataset.end_pos]; then "
        "end[rows, dataset.io_token] - end[rows, dataset.s_token].",
        mistakes=(
            Mistake(
                "the last position of each row (logits[:, -1]) instead of END",
                "Rows are right-padded: a short template's last position is PAD. Read logits[rows, dataset.end_pos].",
                lambda lg, d: (
                    lg[:, -1].gather(1, d.io_token[:, None])[:, 0] - lg[:, -1].gather(1, d.s_token[:, None])[:, 0]
                ),
            ),
            Mistake(
                "the sign flipped (logit of S minus logit of the IO)",
                "Positive should mean the model prefers the right answer: logit(IO) - logit(S).",
                lambda lg, d: -ioi.logit_diff(lg, d),
            ),
            Mistake(
                "a difference of probabilities (softmax) instead of logits",
                "The metric is a logit difference: it does not squash confident rows. (Log-softmax would give the "
                "same difference: the normaliser cancels.)",
                lambda lg, d: ioi.logit_diff(lg.softmax(-1), d),
            ),
        ),
        examples=_logits_and_rows,
    ),
    Exercise(
        name="head_dla",
        notebook="12",
        reference=head_dla,
        hint="out = einsum('lbhe,lhed->lbhd', z_end, W_O); u = (W_U[:, io_token] - W_U[:, s_token]).T; then "
        "einsum('lbhd,bd->lh', out, u) divided by the number of rows.",
        mistakes=(
            Mistake(
                "the answer direction reversed (W_U[:, S] - W_U[:, IO])",
                "Project on W_U[:, io_token] - W_U[:, s_token], so a head that helps the right answer scores > 0.",
                _dla_with(lambda W_U, io, s: (W_U[:, s] - W_U[:, io]).T),
            ),
            Mistake(
                "the IO's logit alone (W_U[:, IO]), without subtracting S's",
                "The metric is a difference: a head that raises every name equally does not help. Subtract "
                "W_U[:, s_token].",
                _dla_with(lambda W_U, io, s: W_U[:, io].T),
            ),
        ),
        examples=_dla_inputs,
    ),
    Exercise(
        name="attention_between",
        notebook="12",
        reference=attention_between,
        hint="pattern[torch.arange(batch), :, query_pos, key_pos]: each row's own positions, every head.",
        mistakes=(
            Mistake(
                "query and key swapped (pattern[..., key_pos, query_pos])",
                "hook_pattern is [batch, head, query, key]: the query (where we attend *from*) comes first. With "
                "them swapped you read the upper triangle, which a causal model leaves at 0.",
                lambda p, q, k: p[torch.arange(p.shape[0]), :, k, q],
            ),
            Mistake(
                "the first row's positions used for every row",
                "Templates differ, so each row has its own positions: index with torch.arange(batch), query_pos, "
                "key_pos together.",
                lambda p, q, k: p[:, :, int(q[0]), int(k[0])],
            ),
        ),
        examples=_patterns,
    ),
    Exercise(
        name="name_copying_score",
        notebook="12",
        reference=name_copying_score,
        hint="(ov.argmax(-1) == torch.arange(n_names)).float().mean(-1): row i is what attending to name i "
        "writes, so ask whether its largest entry is name i itself.",
        mistakes=(
            Mistake(
                "the argmax over the wrong axis (down a column: which read name raises name j most)",
                "Row i is what the head writes when it attends to name i: take the argmax over the last axis.",
                lambda ov: (ov.argmax(-2) == torch.arange(ov.shape[-1])).float().mean(-1),
            ),
            Mistake(
                "the fraction of names whose own logit goes up (diagonal > 0), not whose own logit is the top one",
                "A head that raises every name raises name i too without copying it: ask whether name i wins its row.",
                lambda ov: (ov.diagonal(dim1=-2, dim2=-1) > 0).float().mean(-1),
            ),
        ),
        examples=_ovs,
    ),
    Exercise(
        name="classify_ioi_heads",
        notebook="12",
        reference=classify_ioi_heads,
        hint="One boolean [n_layers, n_heads] mask per class (score >= threshold; for the name movers also "
        "dla >= dla_frac * max|dla|, or <= -that for the negative ones); then mask.nonzero() and sort.",
        mistakes=(
            Mistake(
                "the thresholds compared the wrong way (score <= threshold)",
                "A head belongs to a class when its attention is at least the threshold: score >= threshold.",
                lambda cat, t: _classify(cat, t, cmp=operator.le),
            ),
            Mistake(
                "an absolute DLA threshold (dla >= dla_frac) instead of one relative to the largest |DLA|",
                "dla_frac is a fraction: compare with dla_frac * cat['dla'].abs().max(), so the rule does not depend "
                "on the model's logit scale.",
                lambda cat, t: _classify(cat, t, relative=False),
            ),
            Mistake(
                "name movers by attention alone (the DLA condition left out)",
                "A name mover must also write the name to the logits: require a large positive DLA (negative for a "
                "negative name mover).",
                lambda cat, t: _classify(cat, t, dla_rule=False),
            ),
        ),
        examples=_catalogues,
    ),
    Exercise(
        name="mean_ablate_heads",
        notebook="12",
        reference=mean_ablate_heads,
        hint="out = z.clone(); out[:, :, heads] = z[:, :, heads].mean(0): one mean per position and head.",
        mistakes=(
            Mistake(
                "a mean over the rows and the positions",
                "Average over the rows only (axis 0): each position keeps its own typical output.",
                lambda z, h: torch.where(_is_in(h, z.shape[2]), z.mean((0, 1), keepdim=True), z),
            ),
            Mistake(
                "zero ablation (the heads set to 0)",
                "Mean ablation keeps the head's average output, which the rest of the model expects; only its "
                "dependence on the sentence goes.",
                lambda z, h: torch.where(_is_in(h, z.shape[2]), 0.0, z),
            ),
            Mistake(
                "the other heads ablated (the list read as the heads to keep)",
                "heads lists the heads to ablate; the others keep their activations.",
                lambda z, h: mean_ablate_heads(z, [i for i in range(z.shape[2]) if i not in h]),
            ),
        ),
        examples=_zs,
    ),
    Exercise(
        name="probe_test_accuracy",
        notebook="12",
        reference=probe_test_accuracy,
        hint="(probe.predict(acts[test_rows]) == labels[test_rows]).float().mean(): only the held-out rows.",
        mistakes=(
            Mistake(
                "the accuracy on the probe's own training rows",
                "A probe scored on the rows it was fitted on measures memory, not what the layer holds: use test_rows.",
                lambda p, a, y, t: probe_test_accuracy(p, a, y, torch.tensor([i for i in range(len(y)) if i not in t])),
            ),
            Mistake(
                "raw activations fed to the weights (the standardisation left out)",
                "The probe was fitted on (acts - mean) / std: use probe.predict or probe.logits.",
                lambda p, a, y, t: float(((a[t] @ p.weight.T + p.bias).argmax(-1) == y[t]).float().mean()),
            ),
        ),
        examples=_probe_rows,
    ),
    Exercise(
        name="steering_directions",
        notebook="12",
        reference=steering_directions,
        hint="w = (probe.weight[to_class] - probe.weight[from_class]) / probe.std, then divide each row by its norm.",
        mistakes=(
            Mistake(
                "the direction in standardised units (not divided by probe.std)",
                "The weights act on (x - mean) / std: divide by probe.std to get the direction in the residual stream.",
                lambda p, f, t: torch.nn.functional.normalize(p.weight[t] - p.weight[f], dim=-1),
            ),
            Mistake(
                "the direction reversed (towards from_class)",
                "Steer towards to_class: weight[to_class] - weight[from_class].",
                lambda p, f, t: -steering_directions(p, f, t),
            ),
            Mistake(
                "directions not normalised",
                "Divide each row by its norm, so alpha is a distance in the residual stream.",
                lambda p, f, t: (p.weight[t] - p.weight[f]) / p.std,
            ),
        ),
        examples=_class_pairs,
    ),
)
