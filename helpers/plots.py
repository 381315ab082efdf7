"""Plotly figures and circuitsvis views that render offline (introduced in notebook 00).

Plotly figures are returned, not shown, so a notebook decides (``fig.show()`` or just leave it
as the cell's last expression). ``runtime.setup_notebook`` picks the ``plotly_mimetype``
renderer: small JSON that JupyterLab draws offline.

circuitsvis normally probes the network on every render and then embeds either a link to
its JavaScript on a CDN (online) or a 1.3 MB copy of it (offline): so the same notebook saves
different outputs on different machines. ``attention_heads`` never probes: it embeds the
CDN link unless you ask for ``inline=True`` (for offline use). Each circuitsvis view here
comes with a plotly twin that works everywhere.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import torch
from jaxtyping import Float
from torch import Tensor


def _np(x: Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


def imshow(
    matrix: Float[Tensor, "rows cols"] | np.ndarray,
    x: Sequence[str] | None = None,
    y: Sequence[str] | None = None,
    title: str = "",
    xaxis: str = "",
    yaxis: str = "",
    zmid: float | None = 0.0,
    colorscale: str = "RdBu",
    height: int | None = None,
    width: int | None = None,
    **kwargs: object,
) -> go.Figure:
    """A heatmap, TransformerLens-demo style: diverging colours centred on ``zmid``."""
    z = _np(matrix)
    fig = px.imshow(
        z,
        x=list(x) if x is not None else None,
        y=list(y) if y is not None else None,
        color_continuous_scale=colorscale if zmid is not None else "Blues",
        color_continuous_midpoint=zmid,
        labels={"x": xaxis, "y": yaxis},
        title=title,
        aspect="auto",
        **kwargs,
    )
    fig.update_layout(height=height, width=width, margin=dict(l=40, r=20, t=50, b=40))
    return fig


def line(
    y: dict[str, Sequence[float] | Tensor] | Sequence[float] | Tensor,
    x: Sequence[float] | None = None,
    title: str = "",
    xaxis: str = "",
    yaxis: str = "",
    log_x: bool = False,
    log_y: bool = False,
) -> go.Figure:
    """One or several named lines (pass a dict ``{name: values}``)."""
    series = y if isinstance(y, dict) else {"": y}
    fig = go.Figure()
    for name, values in series.items():
        v = _np(values)
        fig.add_trace(go.Scatter(x=list(x) if x is not None else list(range(len(v))), y=v, name=name, mode="lines"))
    fig.update_layout(title=title, xaxis_title=xaxis, yaxis_title=yaxis, showlegend=len(series) > 1)
    if log_x:
        fig.update_xaxes(type="log")
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def _x_for_annotation(fig: go.Figure, x: float) -> float:
    # Plotly places shapes in data units but annotations on a log axis in log10 units
    # (plotly.py #2580), so a label given the data x would land at 10**x, off the plot.
    return float(np.log10(x)) if fig.layout.xaxis.type == "log" else x


def band(fig: go.Figure, x0: float, x1: float, label: str, color: str = "grey", y: float = 0.98) -> go.Figure:
    """A shaded, labelled span of the x-axis (e.g. a training phase), log x-axes included.

    ``y`` is the label's height as a fraction of the plot (stagger labels of narrow bands)."""
    fig.add_vrect(x0=x0, x1=x1, fillcolor=color, opacity=0.12, line_width=0, layer="below")
    lo, hi = _x_for_annotation(fig, x0), _x_for_annotation(fig, x1)
    fig.add_annotation(x=(lo + hi) / 2, y=y, yref="paper", text=label, showarrow=False, yanchor="top", font_size=10)
    return fig


def scatter(
    x: Sequence[float] | Tensor,
    y: Sequence[float] | Tensor,
    labels: Sequence[str] | None = None,
    color: Sequence[float] | Sequence[str] | None = None,
    title: str = "",
    xaxis: str = "",
    yaxis: str = "",
) -> go.Figure:
    """A scatter plot whose points show ``labels`` on hover."""
    fig = px.scatter(
        x=_np(x),
        y=_np(y),
        hover_name=list(labels) if labels is not None else None,
        color=list(_np(color)) if color is not None and not isinstance(color[0], str) else color,
        labels={"x": xaxis, "y": yaxis},
        title=title,
    )
    return fig


def attention_heatmaps(
    pattern: Float[Tensor, "n_heads query_pos key_pos"],
    tokens: Sequence[str],
    title: str = "attention patterns",
    head_names: Sequence[str] | None = None,
) -> go.Figure:
    """One heatmap per head, queries down, keys across (the plotly twin of ``attention_heads``)."""
    p = _np(pattern)
    names = list(head_names) if head_names is not None else [f"head {h}" for h in range(p.shape[0])]
    labels = [f"{i}:{t}" for i, t in enumerate(tokens)]
    fig = px.imshow(
        p,
        facet_col=0,
        facet_col_wrap=min(4, p.shape[0]),
        color_continuous_scale="Blues",
        zmin=0,
        zmax=1,
        x=labels,
        y=labels,
        title=title,
        labels={"x": "key", "y": "query"},
    )
    for i, ann in enumerate(fig.layout.annotations):
        ann.text = names[i]
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False)
    return fig


class CircuitsVisHTML:
    """A rendered circuitsvis view whose HTML does not depend on the network state."""

    def __init__(self, rendered: object, inline: bool):
        self._html = rendered.local_src if inline else rendered.cdn_src  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        return self._html

    def __str__(self) -> str:
        return self._html


def attention_heads(
    pattern: Float[Tensor, "n_heads query_pos key_pos"],
    tokens: Sequence[str],
    head_names: Sequence[str] | None = None,
    inline: bool = False,
) -> CircuitsVisHTML:
    """circuitsvis's interactive attention view (hover a token to see where it attends).

    ``inline=False`` (default) links circuitsvis's JavaScript from its CDN: small and the same
    on every machine, but needs the network to display. ``inline=True`` embeds it (1.3 MB).
    """
    import circuitsvis as cv

    rendered = cv.attention.attention_heads(
        attention=_np(pattern), tokens=list(tokens), attention_head_names=list(head_names) if head_names else None
    )
    return CircuitsVisHTML(rendered, inline)


def colored_tokens(tokens: Sequence[str], values: Sequence[float] | Tensor, inline: bool = False) -> CircuitsVisHTML:
    """circuitsvis's tokens coloured by a value each (e.g. per-token loss)."""
    import circuitsvis as cv

    return CircuitsVisHTML(cv.tokens.colored_tokens(tokens=list(tokens), values=list(map(float, _np(values)))), inline)
