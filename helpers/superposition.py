"""Toy models of superposition (Elhage et al. 2022), introduced in notebook 10.

``n_features`` sparse features are squeezed through ``d_hidden < n_features`` dimensions and read
back out: ``x' = ReLU(W^T W x + b)``. Feature ``i`` has an *importance* (how much its
reconstruction error counts) and every feature is zero with probability ``sparsity``. Dense
features: the model keeps the ``d_hidden`` most important ones and drops the rest. Sparse
features: it stores more features than dimensions, at the price of *interference* (non-zero
off-diagonal entries of ``W^T W``).

Many small models train at once: every tensor has a leading ``inst`` axis (one model per
instance, e.g. one per sparsity), so a whole sweep is one batched Adam run of a few seconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import torch
from jaxtyping import Float
from torch import Tensor, nn

from helpers.errors import ConfigError


@dataclass(frozen=True)
class ToyConfig:
    """A batch of toy models: one instance per entry of ``sparsities`` (each its own W and b)."""

    n_features: int = 5
    d_hidden: int = 2
    sparsities: tuple[float, ...] = (0.0, 0.7, 0.9, 0.97, 0.99)  # P(feature == 0), one per instance
    importance_decay: float = 0.8  # importance of feature i is decay**i
    n_steps: int = 4_000
    batch_size: int = 1_024
    lr: float = 1e-2

    def __post_init__(self) -> None:
        if not self.d_hidden >= 1 or not self.n_features > self.d_hidden:
            raise ConfigError(
                f"n_features ({self.n_features}) must exceed d_hidden ({self.d_hidden}) >= 1. "
                "Fix: e.g. n_features=5, d_hidden=2."
            )
        if not self.sparsities or not all(0.0 <= s < 1.0 for s in self.sparsities):
            raise ConfigError(
                f"sparsities must be a non-empty tuple of probabilities in [0, 1), got {self.sparsities!r}. "
                "Fix: e.g. sparsities=(0.0, 0.9)."
            )
        if not 0.0 < self.importance_decay <= 1.0:
            raise ConfigError(
                f"importance_decay must be in (0, 1], got {self.importance_decay!r}. Fix: e.g. importance_decay=0.8."
            )
        for name in ("n_steps", "batch_size"):
            if not getattr(self, name) >= 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}. Fix: e.g. {name}=1000.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be positive, got {self.lr!r}. Fix: e.g. lr=1e-2.")

    @property
    def n_instances(self) -> int:
        return len(self.sparsities)


def importance(n_features: int, decay: float) -> Float[Tensor, " n_features"]:
    """Feature ``i`` counts ``decay**i`` in the loss: feature 0 matters most."""
    return decay ** torch.arange(n_features, dtype=torch.float32)


def toy_forward(
    W: Float[Tensor, "inst d_hidden n_features"],
    b: Float[Tensor, "inst n_features"],
    x: Float[Tensor, "batch inst n_features"],
) -> Float[Tensor, "batch inst n_features"]:
    """``ReLU(W^T W x + b)`` for every instance: compress to ``d_hidden`` dims, read back, rectify."""
    h = torch.einsum("imf,bif->bim", W, x)  # [batch, inst, d_hidden]
    return torch.relu(torch.einsum("imf,bim->bif", W, h) + b)


def hidden(W: Float[Tensor, "inst d_hidden n_features"], x: Float[Tensor, "batch inst n_features"]) -> Tensor:
    """The hidden layer ``W x`` (``[batch, inst, d_hidden]``): what a sparse autoencoder reads."""
    return torch.einsum("imf,bif->bim", W, x)


def importance_weighted_loss(
    out: Float[Tensor, "batch inst n_features"],
    x: Float[Tensor, "batch inst n_features"],
    weights: Float[Tensor, " n_features"],
) -> Float[Tensor, " inst"]:
    """Per instance: the mean over the batch of ``sum_i weights[i] * (x_i - out_i)**2``."""
    return (weights * (x - out) ** 2).sum(-1).mean(0)


def sample_features(
    n: int, sparsities: Sequence[float], n_features: int, generator: torch.Generator
) -> Float[Tensor, "batch inst n_features"]:
    """``n`` draws per instance: each feature uniform in [0, 1], zero with probability ``sparsities[inst]``."""
    shape = (n, len(sparsities), n_features)
    keep = torch.rand(shape, generator=generator) >= torch.tensor(sparsities, dtype=torch.float32)[:, None]
    return torch.rand(shape, generator=generator) * keep


class ToyModel(nn.Module):
    """``inst`` independent toy models in two tensors: ``W`` [inst, d_hidden, n_features], ``b`` [inst, n_features]."""

    def __init__(self, cfg: ToyConfig, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.cfg = cfg
        w = torch.randn(cfg.n_instances, cfg.d_hidden, cfg.n_features, generator=g) * math.sqrt(2 / cfg.n_features)
        self.W = nn.Parameter(w)
        self.b = nn.Parameter(torch.zeros(cfg.n_instances, cfg.n_features))

    def forward(self, x: Float[Tensor, "batch inst n_features"]) -> Float[Tensor, "batch inst n_features"]:
        return toy_forward(self.W, self.b, x)


def train_toy(cfg: ToyConfig, seed: int = 0) -> ToyModel:
    """Train every instance at once with Adam on fresh samples each step (seeded: init and data)."""
    model = ToyModel(cfg, seed=seed)
    g = torch.Generator().manual_seed(seed + 1)
    weights = importance(cfg.n_features, cfg.importance_decay)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    for _ in range(cfg.n_steps):
        x = sample_features(cfg.batch_size, cfg.sparsities, cfg.n_features, g)
        loss = importance_weighted_loss(model(x), x, weights).sum()  # instances are independent: sum their losses
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def feature_norms(W: Float[Tensor, "inst d_hidden n_features"]) -> Float[Tensor, "inst n_features"]:
    """``||W_i||``: the length of feature ``i``'s direction in the hidden space (0: not represented)."""
    return W.norm(dim=1)


def features_represented(W: Float[Tensor, "inst d_hidden n_features"], threshold: float = 0.5) -> Tensor:
    """How many features each instance represents (``||W_i|| > threshold``), as ``[inst]`` integers."""
    return (feature_norms(W) > threshold).sum(-1)


def interference(W: Float[Tensor, "inst d_hidden n_features"]) -> Float[Tensor, "inst n_features"]:
    """``sum_{j != i} (W_i . W_j)**2`` per feature: the squared off-diagonal of ``W^T W`` in feature ``i``'s row,
    how much the other features leak into its read-out (0 when the stored features are orthogonal)."""
    g2 = gram(W) ** 2
    return g2.sum(-1) - torch.diagonal(g2, dim1=1, dim2=2)


def gram(W: Float[Tensor, "inst d_hidden n_features"]) -> Float[Tensor, "inst n_features n_features"]:
    """``W^T W`` per instance: its diagonal is ``||W_i||**2``, its off-diagonal the interference."""
    return torch.einsum("imf,img->ifg", W, W)


def geometry_figure(W: Float[Tensor, "inst d_hidden n_features"], titles: Sequence[str], title: str = "") -> go.Figure:
    """One panel per instance: each feature's direction ``W_i`` in the 2 hidden dimensions, as a line from
    the origin, coloured by feature index (feature 0, the most important, darkest)."""
    if W.shape[1] != 2:
        raise ConfigError(f"geometry_figure draws 2 hidden dimensions, got d_hidden={W.shape[1]}. Fix: d_hidden=2.")
    from plotly.colors import sample_colorscale
    from plotly.subplots import make_subplots

    n_inst, _, n_feat = W.shape
    colours = sample_colorscale("Viridis", [i / max(n_feat - 1, 1) for i in range(n_feat)])
    fig = make_subplots(rows=1, cols=n_inst, subplot_titles=list(titles))
    lim = float(W.abs().max()) * 1.15
    for k in range(n_inst):
        for i in range(n_feat):
            x, y = W[k, :, i].tolist()
            fig.add_trace(go.Scatter(x=[0, x], y=[0, y], mode="lines+markers", line=dict(color=colours[i]),
                                     marker=dict(size=[0, 8]), name=f"feature {i}", legendgroup=str(i),
                                     showlegend=k == 0), row=1, col=k + 1)  # fmt: skip
        fig.update_xaxes(range=[-lim, lim], row=1, col=k + 1, zeroline=True)
        fig.update_yaxes(range=[-lim, lim], row=1, col=k + 1, scaleanchor=f"x{k + 1 if k else ''}", zeroline=True)
    fig.update_layout(title=title, height=300, width=220 * n_inst + 120, margin=dict(l=30, r=20, t=70, b=30))
    return fig
