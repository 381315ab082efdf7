"""Plotly figures, and circuitsvis views that render offline (introduced in notebook 00).

Plotly figures are returned, not shown, so a notebook decides (``fig.show()`` or just leave it
as the cell's last expression). ``runtime.setup_notebook`` picks the ``plotly_mimetype``
renderer: small JSON that JupyterLab draws offline. When the committed notebooks are built
(``tools/nb.py run``), each figure also carries a PNG, so GitHub, nbviewer and nbconvert show it.

The circuitsvis views (``attention_heads``, ``colored_tokens``) live in ``helpers.attention_views``
and are re-exported here; each comes with a plotly twin (``attention_heatmaps``). Token labels
show whitespace visibly (``visible_token``: newline ``↵``, tab ``⇥``, edge spaces ``·``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from jaxtyping import Float
from torch import Tensor

from helpers.attention_views import (  # noqa: F401  (re-exported: notebooks call plots.attention_heads)
    CircuitsVisHTML,
    Values,
    _Bundle,
    _np,
    attention_heads,
    colored_tokens,
    visible_token,
)


def _labels(values: Sequence[object] | None) -> list | None:
    if values is None:
        return None
    return [visible_token(v) if isinstance(v, str) else v for v in values]


def _unique(labels: list[str]) -> list[str]:
    # plotly merges equal category labels into one row/column; keep every position apart
    # by appending zero-width spaces to repeats (invisible in the figure).
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        n = seen.get(label, 0)
        seen[label] = n + 1
        out.append(label + "\u200b" * n)
    return out


def imshow(
    matrix: Float[Tensor, "*facets rows cols"] | np.ndarray,
    x: Sequence[str] | None = None,
    y: Sequence[str] | None = None,
    title: str = "",
    xaxis: str = "",
    yaxis: str = "",
    zmid: float | None = 0.0,
    colorscale: str = "RdBu",
    height: int | None = None,
    width: int | None = None,
    facet_names: Sequence[str] | None = None,
    **kwargs: object,
) -> go.Figure:
    """A heatmap, TransformerLens-demo style: diverging colours centred on ``zmid``.

    String tick labels show whitespace visibly (``visible_token``). With ``facet_col=0``, name
    the panels with ``facet_names`` (plotly would title them ``facet_col=0``, ``facet_col=1``).
    NaN cells (e.g. "never happened") are drawn grey, apart from every colour of the scale.
    """
    z = _np(matrix)
    xs, ys = _labels(x), _labels(y)
    fig = px.imshow(
        z,
        x=_unique(xs) if xs and all(isinstance(v, str) for v in xs) else xs,
        y=_unique(ys) if ys and all(isinstance(v, str) for v in ys) else ys,
        color_continuous_scale=colorscale if zmid is not None else "Blues",
        color_continuous_midpoint=zmid,
        labels={"x": xaxis, "y": yaxis},
        title=title,
        aspect="auto",
        **kwargs,
    )
    if "facet_col" in kwargs:
        for i, ann in enumerate(fig.layout.annotations):
            if str(ann.text).startswith("facet_col="):
                ann.text = str(facet_names[i]) if facet_names is not None and i < len(facet_names) else ""
    fig.update_layout(height=height, width=width, margin=dict(l=40, r=20, t=50, b=40))
    if np.isnan(z).any():  # missing cells show the background: make it a grey no colour scale uses
        fig.update_layout(plot_bgcolor="#a0a0a0")
    return fig


def _log_axis() -> dict:
    # Powers of ten (10⁻⁴) instead of plotly's SI prefixes (100μ), which read as units.
    return dict(type="log", exponentformat="power", showexponent="all")


def line(
    y: dict[str, Values] | Values,
    x: Values | None = None,
    title: str = "",
    xaxis: str = "",
    yaxis: str = "",
    log_x: bool = False,
    log_y: bool = False,
    colors: dict[str, str] | None = None,
) -> go.Figure:
    """One or several named lines (pass a dict ``{name: values}``; the legend keeps its order).

    ``colors`` fixes a colour per series name, so one series keeps its colour across figures.
    Log axes are labelled with powers of ten. Without ``x``, a short series gets integer ticks.
    """
    series = y if isinstance(y, dict) else {"": y}
    fig = go.Figure()
    n = 0
    for name, values in series.items():
        v = _np(values)
        n = max(n, len(v))
        colour = (colors or {}).get(name)
        fig.add_trace(go.Scatter(x=list(x) if x is not None else list(range(len(v))), y=v, name=name, mode="lines",
                                 line=dict(color=colour) if colour else None))  # fmt: skip
    fig.update_layout(title=title, xaxis_title=xaxis, yaxis_title=yaxis, showlegend=len(series) > 1,
                      legend_traceorder="normal")  # fmt: skip
    if x is None and n <= 20:
        fig.update_xaxes(dtick=1)  # positions, heads, layers: no 0.5 ticks
    if log_x:
        fig.update_xaxes(**_log_axis())
    if log_y:
        fig.update_yaxes(**_log_axis())
    return fig


def bar(
    values: Values,
    x: Sequence[str] | None = None,
    title: str = "",
    xaxis: str = "",
    yaxis: str = "",
    baseline: float | None = None,
    baseline_label: str = "baseline",
) -> go.Figure:
    """Bars on a categorical axis (heads, layers, settings), with an optional dashed baseline
    (e.g. the unablated accuracy)."""
    v = _np(values)
    labels = [str(s) for s in x] if x is not None else [str(i) for i in range(len(v))]
    fig = go.Figure(go.Bar(x=labels, y=v))
    fig.update_layout(title=title, xaxis_title=xaxis, yaxis_title=yaxis)
    fig.update_xaxes(type="category")
    if baseline is not None:
        fig.add_hline(y=baseline, line_dash="dash", line_color="black",
                      annotation_text=f"{baseline_label}: {baseline:.3g}", annotation_position="top left")  # fmt: skip
    return fig


def _x_for_annotation(fig: go.Figure, x: float | int) -> float:
    # Plotly places shapes in data units but annotations on a log axis in log10 units
    # (plotly.py #2580), so a label given the data x would land at 10**x, off the plot.
    return float(np.log10(x)) if fig.layout.xaxis.type == "log" else float(x)


def band(
    fig: go.Figure, x0: float | int, x1: float | int, label: str, color: str = "grey", y: float | None = None
) -> go.Figure:
    """A shaded, labelled span of the x-axis (e.g. a training phase), log x-axes included.

    By default the label sits above the plot, in the band's colour, staggered against the
    previous band's label, so it never covers a curve or spills over a neighbour. ``y`` (a
    fraction of the plot's height) puts it inside the plot instead."""
    fig.add_vrect(x0=x0, x1=x1, fillcolor=color, opacity=0.12, line_width=0, layer="below")
    lo, hi = _x_for_annotation(fig, x0), _x_for_annotation(fig, x1)
    if y is None:
        k = sum(1 for a in fig.layout.annotations if getattr(a, "name", None) == "band")
        fig.add_annotation(x=(lo + hi) / 2, y=1.0, yref="paper", yanchor="bottom", yshift=2 + 14 * (k % 2), text=label,
                           showarrow=False, font=dict(size=10, color=color), name="band")  # fmt: skip
        top = fig.layout.margin.t if fig.layout.margin.t is not None else 80
        fig.update_layout(margin_t=max(top, 100))
    else:
        fig.add_annotation(x=(lo + hi) / 2, y=y, yref="paper", text=label, showarrow=False, yanchor="top", font_size=10,
                           bgcolor="rgba(255,255,255,0.7)", name="band")  # fmt: skip
    return fig


def scatter(
    x: Values,
    y: Values,
    labels: Sequence[str] | None = None,
    color: Values | Sequence[str] | None = None,
    title: str = "",
    xaxis: str = "",
    yaxis: str = "",
    show_labels: bool | None = None,
) -> go.Figure:
    """A scatter plot whose points show ``labels`` on hover, and as text next to each point
    when ``show_labels`` (default: when there are at most 60 points)."""
    names = _labels(labels)
    fig = px.scatter(
        x=_np(x),
        y=_np(y),
        hover_name=names,
        text=names if names is not None and (show_labels if show_labels is not None else len(names) <= 60) else None,
        color=list(_np(color)) if color is not None and not isinstance(color[0], str) else color,
        labels={"x": xaxis, "y": yaxis},
        title=title,
    )
    fig.update_traces(textposition="top center", textfont_size=9)
    return fig


def attention_heatmaps(
    pattern: Float[Tensor, "n_heads query_pos key_pos"] | np.ndarray,
    tokens: Sequence[str],
    title: str = "attention patterns",
    head_names: Sequence[str] | None = None,
) -> go.Figure:
    """One heatmap per head, queries down, keys across (the plotly twin of ``attention_heads``).

    Ticks show the tokens (whitespace made visible); hover shows position and token."""
    p = _np(pattern)
    names = list(head_names) if head_names is not None else [f"head {h}" for h in range(p.shape[0])]
    shown = [visible_token(t) for t in tokens]
    labels = [f"{i}:{t}" for i, t in enumerate(shown)]
    cols = min(4, p.shape[0])
    rows = -(-p.shape[0] // cols)
    fig = px.imshow(
        p,
        facet_col=0,
        facet_col_wrap=cols,
        color_continuous_scale="Blues",
        zmin=0,
        zmax=1,
        x=labels,
        y=labels,
        title=title,
        labels={"x": "key", "y": "query"},
        facet_row_spacing=min(0.12, 0.5 / rows) if rows > 1 else None,
    )
    for ann in fig.layout.annotations:
        ann.text = names[int(str(ann.text).split("=")[-1])] if str(ann.text).startswith("facet_col=") else ann.text
    n = len(tokens)
    step = max(1, -(-n // 30))  # at most ~30 labels per axis
    ticks = dict(tickmode="array", tickvals=labels[::step], ticktext=shown[::step], tickfont_size=8 if n > 16 else 10)
    fig.update_xaxes(showticklabels=True, tickangle=-90, **ticks)
    fig.update_yaxes(showticklabels=True, **ticks)
    per = 260 if n <= 16 else 340
    fig.update_layout(height=max(360, rows * per + 80), width=None if cols < 3 else max(700, cols * per),
                      margin=dict(l=60, r=20, t=60, b=40))  # fmt: skip
    return fig
