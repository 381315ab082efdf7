"""Exercises of notebook 07 (what makes a model grok): references, hints and the mistakes their checks name."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from helpers import grokking
from helpers.exercises import Exercise, Mistake
from helpers.grokking import TrendEvidence


def steps_to_grok(steps: list[int], test_acc: list[float], threshold: float = 0.99) -> int | None:
    return next((s for s, a in zip(steps, test_acc) if a >= threshold), None)


def steps_table(runs: list[dict[str, Any]], seeds: list[int], wds: list[float], fracs: list[float]) -> torch.Tensor:
    table = torch.full((len(seeds), len(wds), len(fracs)), float("inf"), dtype=torch.float64)  # inf: not within the cap
    for r in runs:
        c = r["config"]
        if r["steps_to_grok"] is not None:
            table[seeds.index(c["seed"]), wds.index(c["weight_decay"]), fracs.index(c["train_frac"])] = r[
                "steps_to_grok"
            ]
    return table


def worst_of_seeds(steps: torch.Tensor) -> torch.Tensor:
    return steps.amax(dim=0)  # the slower seed; inf (a missed run) is slower than any run that grokked


def grokfast_summary(pairs: dict[tuple[int, float], dict[str, int | None]]) -> tuple[int, int, float]:
    as_steps = lambda x: float(x) if x is not None else float("inf")  # noqa: E731  (None: not within the cap)
    both = [v for v in pairs.values() if v["plain"] is not None or v["grokfast"] is not None]  # informative pairs
    slower = sum(as_steps(v["grokfast"]) > as_steps(v["plain"]) for v in both)
    best = max(as_steps(v["plain"]) / as_steps(v["grokfast"]) for v in both)  # > 1: Grokfast sooner
    return slower, len(both), best


def decay_factor(lr: float, weight_decay: float, n_steps: int) -> float:
    return (1 - lr * weight_decay) ** n_steps  # AdamW multiplies every weight by (1 - lr * wd) at each step


def grokfast_ema(grad: torch.Tensor, ema: torch.Tensor, alpha: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    new = alpha * ema + (1 - alpha) * grad  # the low-pass filter: a slow average of the gradients
    return grad + lam * new, new


def grokfast_filter(grads: torch.Tensor, alpha: float, lam: float) -> torch.Tensor:
    ema, out = torch.zeros_like(grads[0]), []
    for g in grads:  # one training step at a time, the EMA carried from step to step
        filtered, ema = grokfast_ema(g, ema, alpha, lam)
        out.append(filtered)
    return torch.stack(out)


def _histories() -> list[tuple[list[int], list[float]]]:
    return [([0, 10, 20, 30], [0.0, 0.5, 0.99, 1.0]), ([0, 10], [0.1, 0.2]), ([0, 5, 10], [0.98, 0.991, 0.5])]


def _grads() -> list[tuple[torch.Tensor, torch.Tensor, float, float]]:
    g = torch.randn(3, generator=torch.Generator().manual_seed(0))
    return [(g, torch.zeros(3), 0.98, 2.0), (g, torch.ones(3), 0.9, 5.0)]


def _grad_series() -> list[tuple[torch.Tensor, float, float]]:
    g = torch.randn(12, 3, generator=torch.Generator().manual_seed(0))
    return [(g, 0.9, 2.0), (g, 0.5, 5.0)]


def _runs() -> list[tuple[list[dict[str, Any]], list[int], list[float], list[float]]]:
    seeds, wds, fracs = [0, 1], [0.3, 1.0], [0.3, 0.5, 0.7]
    runs = []
    for s in seeds:
        for w in wds:
            for f in fracs:
                grokked = f > 0.3 or (w == 1.0 and s == 0)
                runs.append({"config": {"seed": s, "weight_decay": w, "train_frac": f},
                             "steps_to_grok": int(2000 * (1.2 - f) / w / (1 + s)) if grokked else None})  # fmt: skip
    return [(runs[::-1], seeds, wds, fracs)]  # in an order that is not the table's


def _grids() -> list[tuple[np.ndarray, int]]:
    inf = np.inf
    t = np.array([[[inf, inf, 900.0], [inf, 800.0, 400.0], [700.0, 500.0, 450.0]],
                  [[inf, inf, inf], [inf, 900.0, 600.0], [800.0, 800.0, 300.0]]])  # fmt: skip
    return [(t, 2), (t, 1)]


def _seed_tables() -> list[tuple[torch.Tensor]]:
    inf = float("inf")
    t = torch.tensor([[[inf, inf, 900.0], [inf, 800.0, 400.0]],
                      [[inf, 1200.0, 700.0], [inf, 600.0, 500.0]]], dtype=torch.float64)  # fmt: skip
    return [(t,), (t.flip(0),)]


def _pairs() -> list[tuple[dict[tuple[int, float], dict[str, int | None]]]]:
    # every mistake shows on the first; the second has a pair where only Grokfast missed (speed-up 0)
    return [
        ({(0, 0.3): {"plain": None, "grokfast": None}, (0, 1.0): {"plain": 1000, "grokfast": 1200},
          (0, 3.0): {"plain": 300, "grokfast": 250}, (1, 1.0): {"plain": 800, "grokfast": 800},
          (1, 3.0): {"plain": 400, "grokfast": 600}},),
        ({(0, 1.0): {"plain": 600, "grokfast": 200}, (0, 3.0): {"plain": None, "grokfast": None},
          (1, 1.0): {"plain": 500, "grokfast": 700}, (1, 0.3): {"plain": 1500, "grokfast": None}},),
    ]  # fmt: skip


def _worst_ignoring_misses(steps: torch.Tensor) -> torch.Tensor:
    finite = torch.where(steps.isinf(), -steps.new_tensor(float("inf")), steps).amax(dim=0)
    return torch.where(finite.isinf(), steps.new_tensor(float("inf")), finite)


def _summary_inverted(pairs: dict) -> tuple[int, int, float]:
    slower, n, _ = grokfast_summary(pairs)
    as_steps = lambda x: float(x) if x is not None else float("inf")  # noqa: E731
    both = [v for v in pairs.values() if v["plain"] is not None or v["grokfast"] is not None]
    return slower, n, max(as_steps(v["grokfast"]) / as_steps(v["plain"]) for v in both)


def _summary_all_pairs(pairs: dict) -> tuple[int, int, float]:
    slower, _, best = grokfast_summary(pairs)
    return slower, len(pairs), best


def _summary_ties_slower(pairs: dict) -> tuple[int, int, float]:
    _, n, best = grokfast_summary(pairs)
    both = [v for v in pairs.values() if v["plain"] is not None or v["grokfast"] is not None]
    as_steps = lambda x: float(x) if x is not None else float("inf")  # noqa: E731
    return sum(as_steps(v["grokfast"]) >= as_steps(v["plain"]) for v in both), n, best


def _evidence_with_failure_ties(steps: Any, axis: int) -> TrendEvidence:
    e = grokking.trend_evidence(steps, axis)
    return TrendEvidence(e.n_sooner, e.n_later, e.n_tied + e.n_uninformative, 0)


def _evidence_reversed(steps: Any, axis: int) -> TrendEvidence:
    e = grokking.trend_evidence(steps, axis)
    return TrendEvidence(e.n_later, e.n_sooner, e.n_tied, e.n_uninformative)


EXERCISES = (
    Exercise(
        name="steps_to_grok",
        notebook="07",
        reference=steps_to_grok,
        hint="use >= (a run that reaches exactly the threshold has grokked) and return None when it never does",
        mistakes=(
            Mistake(
                "a strict comparison (test accuracy > threshold)",
                "A run that reaches exactly the threshold has grokked: use >=.",
                lambda steps, acc, threshold=0.99: next((s for s, a in zip(steps, acc) if a > threshold), None),
            ),
            Mistake(
                "the index of the evaluation instead of its step",
                "Evaluations are logged every few steps: return steps[i], not i.",
                lambda steps, acc, threshold=0.99: next((i for i, a in enumerate(acc) if a >= threshold), None),
            ),
        ),
        examples=_histories,
    ),
    Exercise(
        name="steps_table",
        notebook="07",
        reference=steps_table,
        hint="start from torch.full((n_seeds, n_wds, n_fracs), inf, dtype=torch.float64); for each run put its "
        "steps_to_grok at (seeds.index(seed), wds.index(weight_decay), fracs.index(train_frac)) unless it is None.",
        mistakes=(
            Mistake(
                "runs that missed the cap entered as 0 steps",
                "A run that did not grok within the cap is *later* than any that did: leave it at inf, never 0.",
                lambda runs, seeds, wds, fracs: torch.where(
                    steps_table(runs, seeds, wds, fracs).isinf(), 0.0, steps_table(runs, seeds, wds, fracs)
                ),
            ),
            Mistake(
                "the weight-decay and training-fraction axes swapped",
                "Index the table [seed, weight decay, training fraction], in that order.",
                lambda runs, seeds, wds, fracs: steps_table(runs, seeds, wds, fracs).transpose(1, 2),
            ),
        ),
        examples=_runs,
    ),
    Exercise(
        name="worst_of_seeds",
        notebook="07",
        reference=worst_of_seeds,
        hint="take the max over the seed axis (dim 0) of the [seed, weight decay, training fraction] table, "
        "keeping inf: a run that missed the cap is slower than any that grokked.",
        mistakes=(
            Mistake(
                "the faster seed (the min over seeds)",
                "The heatmap shows what holds on every seed: take the slower one, steps.amax(dim=0).",
                lambda steps: steps.amin(dim=0),
            ),
            Mistake(
                "the mean over seeds",
                "An average hides a slow seed: take the max over seeds, so each cell holds on every seed.",
                lambda steps: steps.mean(dim=0),
            ),
            Mistake(
                "a run that missed the cap ignored (the slower of the seeds that grokked)",
                "A missed run is the slowest of all: keep inf in the max, so the cell is grey when any seed missed.",
                _worst_ignoring_misses,
            ),
        ),
        examples=_seed_tables,
    ),
    Exercise(
        name="trend_evidence",
        notebook="07",
        reference=grokking.trend_evidence,
        hint="move the axis last (np.moveaxis), compare t[..., :-1] (smaller setting) with t[..., 1:] (next larger); "
        "a pair where both are inf is uninformative, not a tie; return grokking.TrendEvidence(sooner, later, tied, uninformative).",
        mistakes=(
            Mistake(
                "pairs where neither run grokked counted as ties",
                "Two runs that both missed the cap say nothing about the trend: count them as uninformative.",
                _evidence_with_failure_ties,
            ),
            Mistake(
                "sooner and later swapped (comparing the larger setting with the smaller one the other way round)",
                "'Sooner' means the larger setting's steps are fewer: b < a with a = t[..., :-1], b = t[..., 1:].",
                _evidence_reversed,
            ),
        ),
        examples=_grids,
    ),
    Exercise(
        name="decay_factor",
        notebook="07",
        reference=decay_factor,
        hint="AdamW's decoupled decay multiplies each weight by (1 - lr * weight_decay) once per step.",
        mistakes=(
            Mistake(
                "the decay without the learning rate ((1 - weight_decay) ** n_steps)",
                "AdamW scales its decay by the learning rate: the factor per step is 1 - lr * weight_decay.",
                lambda lr, wd, n: (1 - wd) ** n,
            ),
            Mistake(
                "the factor of a single step",
                "The decay compounds: raise the per-step factor to the power n_steps.",
                lambda lr, wd, n: 1 - lr * wd,
            ),
        ),
        examples=lambda: [(1e-3, 1.0, 500), (3e-3, 0.3, 2000)],
    ),
    Exercise(
        name="grokfast_ema",
        notebook="07",
        reference=grokfast_ema,
        hint="update the EMA first, then amplify with the *new* EMA",
        mistakes=(
            Mistake(
                "amplifying with the old EMA",
                "Update the EMA with this step's gradient first, then return grad + lam * new_ema.",
                lambda grad, ema, alpha, lam: (grad + lam * ema, alpha * ema + (1 - alpha) * grad),
            ),
            Mistake(
                "the EMA's weights swapped (alpha on the new gradient)",
                "alpha (close to 1) is the weight of the old average: ema <- alpha * ema + (1 - alpha) * grad.",
                lambda grad, ema, alpha, lam: (
                    grad + lam * ((1 - alpha) * ema + alpha * grad),
                    (1 - alpha) * ema + alpha * grad,
                ),
            ),
        ),
        examples=_grads,
    ),
    Exercise(
        name="grokfast_filter",
        notebook="07",
        reference=grokfast_filter,
        hint="start the EMA at zeros_like(grads[0]) and call your grokfast_ema once per row, carrying the new EMA "
        "to the next step; stack the filtered gradients.",
        mistakes=(
            Mistake(
                "an EMA restarted from zero at every step",
                "Carry the EMA returned by one step into the next: it is the filter's memory.",
                lambda grads, alpha, lam: grads + lam * (1 - alpha) * grads,
            ),
            Mistake(
                "the amplified EMA alone (lam * ema) returned, without the gradient",
                "Grokfast adds the amplified EMA to the gradient: return grad + lam * ema at each step.",
                lambda grads, alpha, lam: grokfast_filter(grads, alpha, lam) - grads,
            ),
        ),
        examples=_grad_series,
    ),
    Exercise(
        name="grokfast_summary",
        notebook="07",
        reference=grokfast_summary,
        hint="None means 'not within the cap': count it as inf steps; keep the pairs where either run grokked; "
        "slower: grokfast > plain (strictly); speed-up: plain / grokfast, and take the max.",
        mistakes=(
            Mistake(
                "the speed-up inverted (Grokfast's steps over plain AdamW's)",
                "A speed-up above 1 means Grokfast grokked sooner: divide plain AdamW's steps by Grokfast's.",
                _summary_inverted,
            ),
            Mistake(
                "pairs where neither run grokked counted in the total",
                "Two runs that both missed the cap say nothing about speed: count only pairs where either grokked.",
                _summary_all_pairs,
            ),
            Mistake(
                "ties counted as slower (>= instead of >)",
                "Grokking at the same step is not slower: use a strict comparison.",
                _summary_ties_slower,
            ),
        ),
        examples=_pairs,
    ),
)
