"""Exercises of notebook 06 (grokking and its algorithm): references, hints and the mistakes their checks name."""

from __future__ import annotations

import math

import torch

from helpers import fourier
from helpers.exercises import Exercise, Mistake


def fourier_basis(p: int) -> torch.Tensor:
    """``helpers.fourier.fourier_basis`` without its row names."""
    return fourier.fourier_basis(p)[0]


def excluded_loss(logits: torch.Tensor, freqs: list[int], train_pairs: torch.Tensor) -> float:
    return fourier.grid_loss(fourier.excluded_logits(logits, freqs), pairs=train_pairs)


# ---- wrong variants (what a learner with that mistake returns)


def _basis_unnormalised(p: int) -> torch.Tensor:
    x = torch.arange(p, dtype=torch.float64)
    rows = [torch.ones(p, dtype=torch.float64)]
    for k in range(1, (p - 1) // 2 + 1):
        rows += [torch.cos(2 * math.pi * k * x / p), torch.sin(2 * math.pi * k * x / p)]
    return torch.stack(rows).float()


def _basis_sin_first(p: int) -> torch.Tensor:
    b = fourier_basis(p).clone()
    b[1::2], b[2::2] = b[2::2].clone(), b[1::2].clone()
    return b


def _sq(W: torch.Tensor) -> torch.Tensor:
    return (fourier_basis(W.shape[0]) @ W.float()).pow(2).sum(dim=1)


def _keys_short(W: torch.Tensor, share: float = 0.8, max_k: int = 10) -> list[int]:
    norms = fourier.frequency_norms(W)
    order = norms.argsort(descending=True)
    n = int((norms[order].cumsum(0) / norms.sum() < share).sum())
    return [int(k) + 1 for k in order[: min(n, max_k)]]


def _fractions_with_constant(acts: torch.Tensor) -> torch.Tensor:
    p = acts.shape[0]
    coef = fourier.grid_2d_fourier(acts).pow(2)
    total = coef.sum(dim=(0, 1))  # the constant term left in: a neuron's mean counts as "variance"
    out = []
    for k in range(1, (p - 1) // 2 + 1):
        idx = torch.tensor([0, 2 * k - 1, 2 * k])
        out.append((coef[idx][:, idx].sum(dim=(0, 1)) - coef[0, 0]) / total)
    return torch.stack(out, dim=1)


def _fractions_products_only(acts: torch.Tensor) -> torch.Tensor:
    p = acts.shape[0]
    coef = fourier.grid_2d_fourier(acts).pow(2)
    total = coef.sum(dim=(0, 1)) - coef[0, 0]
    out = []
    for k in range(1, (p - 1) // 2 + 1):
        idx = torch.tensor([2 * k - 1, 2 * k])
        out.append(coef[idx][:, idx].sum(dim=(0, 1)) / total)  # only cos/sin(a) x cos/sin(b)
    return torch.stack(out, dim=1)


def _cos_fit(logits: torch.Tensor, freqs: list[int], sign_c: int, centre: bool) -> float:
    p = logits.shape[0]
    a = torch.arange(p, dtype=torch.float64)[:, None, None]
    b = torch.arange(p, dtype=torch.float64)[None, :, None]
    c = torch.arange(p, dtype=torch.float64)[None, None, :]
    y = logits[:, :, :p].double()
    if centre:
        y = y - y.mean(dim=(0, 1), keepdim=True)
    y = y.reshape(-1)
    X = torch.stack(
        [torch.cos(2 * math.pi * k * (a + b + sign_c * c) / p).expand(p, p, p).reshape(-1) for k in freqs], 1
    )
    resid = y - (X @ torch.linalg.lstsq(X, y[:, None]).solution).squeeze(1)
    return float(1 - resid.pow(2).sum() / y.pow(2).sum())


def _restricted_no_mean(logits: torch.Tensor, freqs: list[int]) -> torch.Tensor:
    return fourier.restricted_logits(logits, freqs) - logits.float().mean(dim=(0, 1), keepdim=True)


def _restricted_unnormalised(logits: torch.Tensor, freqs: list[int]) -> torch.Tensor:
    p = logits.shape[0]
    a = torch.arange(p, dtype=torch.float64)[:, None]
    b = torch.arange(p, dtype=torch.float64)[None, :]
    waves = []
    for k in freqs:
        waves += [torch.cos(2 * math.pi * k * (a + b) / p), torch.sin(2 * math.pi * k * (a + b) / p)]
    d = torch.stack(waves).float()  # not divided by their norms
    coef = torch.einsum("nab,abc->nc", d, logits.float())
    return logits.float().mean(dim=(0, 1), keepdim=True) + torch.einsum("nab,nc->abc", d, coef)


def _circle_raw(W: torch.Tensor, k: int) -> torch.Tensor:
    b = fourier_basis(W.shape[0])
    Wc = W.float() - W.float().mean(0)
    return Wc @ torch.stack(
        [b[2 * k - 1] @ W.float(), b[2 * k] @ W.float()], dim=1
    )  # neither normalised nor orthogonalised


# ---- small seeded inputs for the unit tests


def _grid() -> list[tuple[torch.Tensor, list[int], torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(13, 13, 13, generator=g), [1, 2], torch.tensor([[0, 1], [3, 4], [12, 5]]))]


def _embedding(p: int = 13, d: int = 6, seed: int = 0) -> torch.Tensor:
    """A p x d 'embedding': strong waves at k = 2 and 5, weaker noise, and a constant offset."""
    g = torch.Generator().manual_seed(seed)
    b = fourier_basis(p)
    W = 0.3 * torch.randn(p, d, generator=g) + 2.0
    W += 3 * b[3][:, None] * torch.randn(d, generator=g) + 3 * b[4][:, None] * torch.randn(d, generator=g)  # k = 2
    W += 2 * b[9][:, None] * torch.randn(d, generator=g) + 2 * b[10][:, None] * torch.randn(d, generator=g)  # k = 5
    return W


def _embeddings() -> list[tuple[torch.Tensor]]:
    return [(_embedding(),), (torch.randn(7, 4, generator=torch.Generator().manual_seed(1)),)]


def _key_cases() -> list[tuple[torch.Tensor, float, int]]:
    return [(_embedding(), 0.8, 10), (_embedding(seed=2), 0.5, 10), (_embedding(), 0.99, 2)]


def _circle_cases() -> list[tuple[torch.Tensor, int]]:
    return [(_embedding(), 2), (_embedding(), 5), (_embedding(seed=3), 1)]


def _acts() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    p = 7
    a = torch.arange(p, dtype=torch.float64)[:, None, None]
    b = torch.arange(p, dtype=torch.float64)[None, :, None]
    wave = torch.cos(2 * math.pi * 2 * a / p) * torch.cos(2 * math.pi * 2 * b / p) + 0.7 * torch.sin(
        2 * math.pi * 3 * a / p
    )
    return [
        (
            (
                1.0
                + wave * torch.randn(1, 1, 3, generator=g, dtype=torch.float64)
                + 0.3 * torch.randn(p, p, 3, generator=g, dtype=torch.float64)
            ).float(),
        )
    ]


def _logit_grids() -> list[tuple[torch.Tensor, list[int]]]:
    g = torch.Generator().manual_seed(0)
    p = 7
    a = torch.arange(p, dtype=torch.float64)[:, None, None]
    b = torch.arange(p, dtype=torch.float64)[None, :, None]
    c = torch.arange(p, dtype=torch.float64)[None, None, :]
    waves = 2 * torch.cos(2 * math.pi * 1 * (a + b - c) / p) + 1.0 * torch.cos(2 * math.pi * 3 * (a + b - c) / p)
    logits = (
        waves
        + 0.5 * torch.randn(p, p, p, generator=g, dtype=torch.float64)
        + 3 * torch.randn(1, 1, p, generator=g, dtype=torch.float64)
    )
    return [(logits.float(), [1, 3]), (logits.float(), [2])]


def _restricted_cases() -> list[tuple[torch.Tensor, list[int]]]:
    g = torch.Generator().manual_seed(0)
    return [(torch.randn(7, 7, 7, generator=g) + torch.randn(1, 1, 7, generator=g) * 3, [1, 3])]


EXERCISES = (
    Exercise(
        name="fourier_basis",
        notebook="06",
        reference=fourier_basis,
        hint="normalise each row (the constant row is 1/sqrt(p)); order const, cos 1, sin 1, cos 2, ...",
        mistakes=(
            Mistake(
                "rows that are not normalised",
                "Divide each row by its norm (the constant row becomes 1/sqrt(p), a cos/sin row sqrt(2/p) cos ...).",
                _basis_unnormalised,
            ),
            Mistake(
                "sin and cos in the wrong order (sin k before cos k)",
                "The order is const, cos 1, sin 1, cos 2, sin 2, ...: cos first in each pair.",
                _basis_sin_first,
            ),
        ),
        examples=lambda: [(5,), (13,)],
    ),
    Exercise(
        name="frequency_norms",
        notebook="06",
        reference=fourier.frequency_norms,
        hint="coefficients = fourier_basis(p) @ W ([p, d]); square and sum each row; add the cos k and sin k rows "
        "(rows 2k-1 and 2k) for k = 1 .. (p-1)/2, leaving out the constant row 0.",
        mistakes=(
            Mistake(
                "norms, not squared norms",
                "Sum the *squares* of the coefficients: squared norms add up over frequencies, norms do not.",
                lambda W: (_sq(W)[1::2] + _sq(W)[2::2]).sqrt(),
            ),
            Mistake(
                "only the cos half of each frequency",
                "A frequency has two basis rows: add the sin k row (2k) to the cos k row (2k - 1).",
                lambda W: _sq(W)[1::2],
            ),
        ),
        examples=_embeddings,
    ),
    Exercise(
        name="key_frequencies",
        notebook="06",
        reference=fourier.key_frequencies,
        hint="sort the frequency norms in decreasing order, take the cumulative share; keep frequencies until the share "
        "is reached (including the one that crosses it), at most max_k; return 1-based k.",
        mistakes=(
            Mistake(
                "0-based frequencies (the index into the norms, not k)",
                "Index i of frequency_norms is frequency k = i + 1: add 1.",
                lambda W, share=0.8, max_k=10: [k - 1 for k in fourier.key_frequencies(W, share, max_k)],
            ),
            Mistake(
                "one frequency short: the frequency that takes the share past the threshold is left out",
                "Keep frequencies *until* the share is reached: count those with cumulative share below it, plus one.",
                _keys_short,
            ),
        ),
        examples=_key_cases,
    ),
    Exercise(
        name="circle_projection",
        notebook="06",
        reference=fourier.circle_projection,
        hint="u = basis[2k-1] @ W and v = basis[2k] @ W are [d] directions; e1 = u/|u|, e2 = v minus its e1 part, "
        "normalised; return (W - W.mean(0)) @ stack([e1, e2], 1).",
        mistakes=(
            Mistake(
                "sin and cos swapped (the sin direction first)",
                "Put the cos direction first (x) and the sin direction second (y), so that the angle grows as w_k a.",
                lambda W, k: fourier.circle_projection(W, k).flip(1),
            ),
            Mistake(
                "rows not centred",
                "Subtract the mean row (W - W.mean(0)) first: the constant part of the embedding moves the circle off the origin.",
                lambda W, k: fourier.circle_projection(W, k) + W.float().mean(0) @ _plane(W, k),
            ),
            Mistake(
                "projecting on the raw cos/sin directions, not normalised and not orthogonalised",
                "Turn u and v into an orthonormal pair (e1 = u/|u|, e2 = v minus its e1 part, normalised) before projecting.",
                _circle_raw,
            ),
        ),
        examples=_circle_cases,
    ),
    Exercise(
        name="neuron_frequency_fractions",
        notebook="06",
        reference=fourier.neuron_frequency_fractions,
        hint="coef = fourier.grid_2d_fourier(acts).pow(2) ([p, p, n]); the variance is coef summed over (a, b) minus "
        "coef[0, 0]; frequency k owns the 3 x 3 block of rows/columns {0, 2k-1, 2k}, minus coef[0, 0].",
        mistakes=(
            Mistake(
                "the constant term left in the total (a neuron's mean counted as variance)",
                "Subtract coef[0, 0] from the total: fractions of the *variance* over (a, b).",
                _fractions_with_constant,
            ),
            Mistake(
                "only the products cos/sin(w_k a) x cos/sin(w_k b), without the terms in a alone or b alone",
                "Frequency k's block includes the constant: indices {0, 2k-1, 2k} on each axis (minus the [0, 0] term).",
                _fractions_products_only,
            ),
        ),
        examples=_acts,
    ),
    Exercise(
        name="cos_fit_fraction",
        notebook="06",
        reference=fourier.cos_fit_fraction,
        hint="remove each output's mean over (a, b); one regressor per frequency, cos(2 pi k (a + b - c) / p) flattened "
        "over the p^3 grid; torch.linalg.lstsq; the fraction is 1 - |residual|^2 / |centred logits|^2.",
        mistakes=(
            Mistake(
                "waves of a + b + c instead of a + b - c",
                "The logit of c peaks at c = a + b: the phase is w_k (a + b - c).",
                lambda logits, freqs, op="add": _cos_fit(logits, freqs, sign_c=+1, centre=True),
            ),
            Mistake(
                "logits not centred (each output's mean over (a, b) left in)",
                "Subtract logits.mean(dim=(0, 1), keepdim=True) first: a per-output offset is not part of the algorithm.",
                lambda logits, freqs, op="add": _cos_fit(logits, freqs, sign_c=-1, centre=False),
            ),
        ),
        examples=_logit_grids,
    ),
    Exercise(
        name="restricted_logits",
        notebook="06",
        reference=fourier.restricted_logits,
        hint="the 2 x len(freqs) functions cos/sin(w_k (a + b)) on the p x p grid, each divided by its norm, are "
        "orthonormal: project the logits on them (einsum over a, b), rebuild, and add back each output's mean.",
        mistakes=(
            Mistake(
                "each output's mean left out",
                "Add logits.mean(dim=(0, 1), keepdim=True) back: the restricted logits keep the mean and the key waves.",
                _restricted_no_mean,
            ),
            Mistake(
                "wave directions not normalised",
                "Divide each cos/sin(w_k (a + b)) grid by its norm before projecting, or the projection is scaled by p^2/2.",
                _restricted_unnormalised,
            ),
        ),
        examples=_restricted_cases,
    ),
    Exercise(
        name="excluded_loss",
        notebook="06",
        reference=excluded_loss,
        hint="evaluate on the training pairs only (pairs=train_pairs), not on all p^2 pairs",
        mistakes=(
            Mistake(
                "the loss over all p^2 pairs instead of the training pairs",
                "Pass pairs=train_pairs to fourier.grid_loss: the excluded loss asks how well the model could *memorise*.",
                lambda logits, freqs, pairs: fourier.grid_loss(fourier.excluded_logits(logits, freqs)),
            ),
            Mistake(
                "the restricted logits (key frequencies kept) instead of the excluded ones (removed)",
                "Use fourier.excluded_logits: the key-frequency terms are the ones taken *out*.",
                lambda logits, freqs, pairs: fourier.grid_loss(fourier.restricted_logits(logits, freqs), pairs=pairs),
            ),
        ),
        examples=_grid,
    ),
)


def _plane(W: torch.Tensor, k: int) -> torch.Tensor:
    """The [d, 2] orthonormal basis circle_projection projects on (for the 'not centred' mistake)."""
    b = fourier_basis(W.shape[0])
    u, v = b[2 * k - 1] @ W.float(), b[2 * k] @ W.float()
    e1 = u / u.norm()
    e2 = v - (v @ e1) * e1
    return torch.stack([e1, e2 / e2.norm()], dim=1)
