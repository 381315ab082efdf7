"""The Fourier view of modular arithmetic (introduced in notebook 06).

A model that grokked ``a + b mod p`` works with waves: it embeds each number ``a`` as
``cos(w_k a), sin(w_k a)`` for a few *key frequencies* ``w_k = 2 pi k / p``, multiplies the waves
of ``a`` and ``b`` in its MLP and reads out ``cos(w_k (a + b - c))``, which is largest at
``c = a + b mod p`` (Nanda et al. 2023). This module has the tools to see that:

- ``fourier_basis``: an orthonormal basis of functions on Z_p (constant, then cos/sin pairs);
- ``frequency_norms`` / ``key_frequencies``: how much of a matrix lives at each frequency;
- ``neuron_frequency_fractions``: how much of each MLP neuron's activation one frequency explains;
- ``restricted_logits`` / ``excluded_logits``: the logits with only (or without) the
  key-frequency terms ``cos(w_k (a +- b)), sin(w_k (a +- b))`` — the paper's progress measures.

Grids of logits or activations are indexed ``[a, b, ...]`` over all p^2 inputs.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from helpers.errors import ConfigError, ShapeError


def fourier_basis(p: int) -> tuple[Float[Tensor, "p p"], list[str]]:
    """Rows: the constant, then ``cos(w_k x), sin(w_k x)`` for ``k = 1 .. (p-1)//2``, each unit norm.

    For odd ``p`` the p rows are an orthonormal basis of functions on ``{0, .., p-1}``.
    """
    if p < 3 or p % 2 == 0:
        raise ConfigError(f"fourier_basis needs an odd modulus p >= 3 (the course uses primes), got {p}.")
    x = torch.arange(p, dtype=torch.float64)
    rows, names = [torch.ones(p, dtype=torch.float64)], ["const"]
    for k in range(1, (p - 1) // 2 + 1):
        rows += [torch.cos(2 * math.pi * k * x / p), torch.sin(2 * math.pi * k * x / p)]
        names += [f"cos {k}", f"sin {k}"]
    basis = torch.stack(rows)
    return (basis / basis.norm(dim=1, keepdim=True)).float(), names


def frequency_norms(W: Float[Tensor, "p d"]) -> Float[Tensor, " n_freq"]:
    """Squared norm of ``W`` (rows indexed by a number mod p) at each frequency ``k = 1 .. (p-1)//2``.

    ``W = W_E[:p]`` gives the embedding's Fourier spectrum; the constant term is left out.
    """
    p = W.shape[0]
    basis, _ = fourier_basis(p)
    sq = (basis @ W.float()).pow(2).sum(dim=1)  # [p]: squared norm along each basis vector
    return sq[1::2] + sq[2::2]  # cos k and sin k together


def key_frequencies(W: Float[Tensor, "p d"], share: float = 0.8, max_k: int = 10) -> list[int]:
    """The fewest frequencies (at most ``max_k``) that hold ``share`` of ``W``'s non-constant Fourier norm.

    Returned as frequencies ``k`` (1-based, ``w_k = 2 pi k / p``), largest first.
    """
    if not 0 < share <= 1:
        raise ConfigError(f"share must be in (0, 1], got {share}.")
    norms = frequency_norms(W)
    order = norms.argsort(descending=True)
    cum = norms[order].cumsum(0) / norms.sum()
    n = int((cum < share).sum()) + 1
    return [int(k) + 1 for k in order[: min(n, max_k)]]


def grid_2d_fourier(grid: Float[Tensor, "p p ..."]) -> Float[Tensor, "p p ..."]:
    """Coefficients of a function of ``(a, b)`` in the product basis ``basis[i](a) * basis[j](b)``."""
    p = grid.shape[0]
    if grid.shape[1] != p:
        raise ShapeError(f"expected a [p, p, ...] grid over (a, b), got {tuple(grid.shape)}.")
    basis, _ = fourier_basis(p)
    over_a = torch.einsum("ia,ab...->ib...", basis, grid.float())  # one axis at a time: p^3, not p^4
    return torch.einsum("jb,ib...->ij...", basis, over_a)


def neuron_frequency_fractions(acts: Float[Tensor, "p p n_neurons"]) -> Float[Tensor, "n_neurons n_freq"]:
    """For each neuron, the fraction of its activation's variance over ``(a, b)`` explained by each frequency.

    Frequency ``k``'s terms are every product basis function built only from the constant and
    ``cos/sin(w_k .)`` of ``a`` and of ``b`` (the constant term itself excluded).
    """
    p = acts.shape[0]
    coef = grid_2d_fourier(acts).pow(2)  # [p, p, n]
    total = coef.sum(dim=(0, 1)) - coef[0, 0]
    fracs = []
    for k in range(1, (p - 1) // 2 + 1):
        idx = torch.tensor([0, 2 * k - 1, 2 * k])
        fracs.append((coef[idx][:, idx].sum(dim=(0, 1)) - coef[0, 0]) / total.clamp_min(1e-12))
    return torch.stack(fracs, dim=1)


def _sum_waves(p: int, freqs: list[int], sign: int) -> Float[Tensor, "n_dirs p p"]:
    """The unit-norm functions ``cos(w_k (a + sign b)), sin(w_k (a + sign b))`` on the (a, b) grid."""
    a = torch.arange(p, dtype=torch.float64)[:, None]
    b = torch.arange(p, dtype=torch.float64)[None, :]
    dirs = []
    for k in freqs:
        if not 1 <= k <= (p - 1) // 2:
            raise ConfigError(f"frequency {k} is out of range 1..{(p - 1) // 2} for p={p}.")
        phase = 2 * math.pi * k * (a + sign * b) / p
        dirs += [torch.cos(phase), torch.sin(phase)]
    d = torch.stack(dirs)
    return (d / d.flatten(1).norm(dim=1)[:, None, None]).float()


def _sign(op: str) -> int:
    if op not in ("add", "sub"):
        raise ConfigError(f"op must be 'add' or 'sub', got {op!r}.")
    return 1 if op == "add" else -1


def restricted_logits(
    logits: Float[Tensor, "p p d_out"], freqs: list[int], op: str = "add"
) -> Float[Tensor, "p p d_out"]:
    """Keep only each output's mean over (a, b) and its ``cos/sin(w_k (a +- b))`` terms for ``freqs``.

    These are the only terms the paper's algorithm uses, since
    ``cos(w (a + b - c)) = cos(w (a + b)) cos(w c) + sin(w (a + b)) sin(w c)``.
    """
    p = logits.shape[0]
    dirs = _sum_waves(p, freqs, _sign(op))  # [n, p, p], orthonormal
    coef = torch.einsum("nab,abc->nc", dirs, logits.float())
    mean = logits.float().mean(dim=(0, 1), keepdim=True)
    return mean + torch.einsum("nab,nc->abc", dirs, coef)


def excluded_logits(
    logits: Float[Tensor, "p p d_out"], freqs: list[int], op: str = "add"
) -> Float[Tensor, "p p d_out"]:
    """The logits with the key-frequency terms ``cos/sin(w_k (a +- b))`` removed."""
    return logits.float() - restricted_logits(logits, freqs, op) + logits.float().mean(dim=(0, 1), keepdim=True)


def grid_loss(logits: Float[Tensor, "p p d_out"], op: str = "add", pairs: Int[Tensor, "n 2"] | None = None) -> float:
    """Cross-entropy of grid logits against ``a op b mod p``, over all pairs or only ``pairs``."""
    p = logits.shape[0]
    a = torch.arange(p)[:, None].expand(p, p)
    b = torch.arange(p)[None, :].expand(p, p)
    labels = (a + _sign(op) * b) % p
    if pairs is not None:
        flat = logits[pairs[:, 0], pairs[:, 1]]
        return float(F.cross_entropy(flat.float(), labels[pairs[:, 0], pairs[:, 1]]))
    return float(F.cross_entropy(logits.reshape(p * p, -1).float(), labels.reshape(-1)))


def cos_fit_fraction(logits: Float[Tensor, "p p p"], freqs: list[int], op: str = "add") -> float:
    """Fraction of the logits' variance (after removing each output's mean) explained by
    ``sum_k alpha_k cos(w_k (a +- b - c))``, with one least-squares weight ``alpha_k`` per frequency."""
    p = logits.shape[0]
    s = _sign(op)
    a = torch.arange(p, dtype=torch.float64)[:, None, None]
    b = torch.arange(p, dtype=torch.float64)[None, :, None]
    c = torch.arange(p, dtype=torch.float64)[None, None, :]
    y = logits[:, :, :p].double()
    y = (y - y.mean(dim=(0, 1), keepdim=True)).reshape(-1)
    X = torch.stack([torch.cos(2 * math.pi * k * (a + s * b - c) / p).expand(p, p, p).reshape(-1) for k in freqs], 1)
    alpha = torch.linalg.lstsq(X, y[:, None]).solution
    resid = y - (X @ alpha).squeeze(1)
    return float(1 - resid.pow(2).sum() / y.pow(2).sum())


def circle_projection(W: Float[Tensor, "p d"], k: int) -> Float[Tensor, "p 2"]:
    """Each row of ``W`` (a number ``a`` mod p), centred, in the plane of frequency ``k``: its ``[p, 2]``
    coordinates on an orthonormal basis of ``span(cos_k @ W, sin_k @ W)`` (Gram-Schmidt, cos first).

    If ``W[a] = mean + u cos(w_k a) + v sin(w_k a)`` with ``u, v`` orthogonal and of equal norm, the
    points lie on a circle, at angle ``w_k a`` (notebook 06: a grokked embedding).
    """
    p = W.shape[0]
    if not 1 <= k <= (p - 1) // 2:
        raise ConfigError(f"frequency {k} is out of range 1..{(p - 1) // 2} for p={p}.")
    basis, _ = fourier_basis(p)
    Wf = W.float()
    cos_dir, sin_dir = basis[2 * k - 1] @ Wf, basis[2 * k] @ Wf  # [d] each: where frequency k lives in W's columns
    e1 = cos_dir / cos_dir.norm()
    e2 = sin_dir - (sin_dir @ e1) * e1
    e2 = e2 / e2.norm()
    return (Wf - Wf.mean(dim=0)) @ torch.stack([e1, e2], dim=1)
