"""Plotly figures and circuitsvis views that render offline (introduced in notebook 00).

Plotly figures are returned, not shown, so a notebook decides (``fig.show()`` or just leave it
as the cell's last expression). ``runtime.setup_notebook`` picks the ``plotly_mimetype``
renderer: small JSON that JupyterLab draws offline. When the committed notebooks are built
(``tools/nb.py run``), each figure also carries a PNG, so GitHub, nbviewer and nbconvert show it.

circuitsvis views (``attention_heads``, ``colored_tokens``) work with no network: their
JavaScript comes from the installed circuitsvis package (gzip-compressed and embedded once per
kernel, ~0.5 MB, with the first view; later views reuse it), never from a CDN. Each view also
carries a static, token-labelled HTML heatmap that needs no script, so a notebook opened
untrusted (a fresh clone, GitHub) still shows the pattern. Each circuitsvis view comes with a
plotly twin (``attention_heatmaps``).

Token labels show whitespace visibly: ``visible_token`` turns a newline into ``↵``, a tab
into ``⇥`` and leading or trailing spaces into ``·``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import uuid
from collections.abc import Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from jaxtyping import Float
from torch import Tensor

# Numbers as the notebooks pass them: lists (ints for steps, floats), tensors, arrays.
Values = Sequence[float | int] | Tensor | np.ndarray


def _np(x: Values) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


def visible_token(token: str) -> str:
    """A token as a tick label: newlines ``↵``, tabs ``⇥``, leading/trailing spaces ``·``.

    Inner spaces are kept ("head 0" stays readable); a token of spaces only becomes dots."""
    t = str(token).replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵").replace("\t", "⇥")
    core = t.strip(" ")
    if not core:
        return "·" * len(t) if t else "∅"
    left = len(t) - len(t.lstrip(" "))
    right = len(t) - len(t.rstrip(" "))
    return "·" * left + core + "·" * right


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


# circuitsvis --------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _circuitsvis_js_gz_b64() -> str:
    """circuitsvis's browser bundle from the installed package, gzip-compressed, as base64."""
    from pathlib import Path

    import circuitsvis

    js = (Path(circuitsvis.__file__).parent / "dist" / "cdn" / "iife.js").read_text(encoding="utf-8")
    # The bundle is strict code, so its ``var CircuitsVis`` stays inside eval: publish it.
    js += "\n;window.CircuitsVis = CircuitsVis;\n"
    return base64.b64encode(gzip.compress(js.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


class _Bundle:
    """Whether this kernel has already embedded circuitsvis's JavaScript in an output."""

    embedded = False


# Defines window.__courseCircuitsVis: a promise of circuitsvis's module, decompressed in the
# browser (DecompressionStream) and evaluated in the global scope (the bundle declares a global).
_LOADER = """if (!window.__courseCircuitsVis) {
  window.__courseCircuitsVis = (async () => {
    const raw = atob("%s");
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    (0, eval)(await new Response(stream).text());
    return window.CircuitsVis;
  })();
}
"""

_RENDER = """const uid = "%(uid)s", t0 = Date.now();
const note = (msg) => { const e = document.getElementById(uid); if (e) e.textContent = msg; };
const go = () => {
  const el = document.getElementById(uid);
  if (!el || !window.__courseCircuitsVis) {
    if (Date.now() - t0 < 30000) return setTimeout(go, 200);
    return note("(interactive view not loaded: run this notebook's first circuitsvis cell, or pass inline=True)");
  }
  window.__courseCircuitsVis.then((CV) => {
    CV.render(uid, CV.%(element)s, %(props)s);
    setTimeout(() => {
      const s = document.getElementById(uid + "-static");
      if (s && el.childElementCount) s.style.display = "none";
    }, 500);
  }).catch((e) => note("(interactive view failed: " + e + ")"));
};
go();
"""


class CircuitsVisHTML:
    """A circuitsvis view that needs no network: a static HTML picture plus the interactive view.

    ``_repr_html_`` gives both: with scripts (a trusted notebook, a live kernel, nbconvert's
    HTML) the interactive view replaces the picture; without (an untrusted notebook, GitHub)
    the picture stays. The HTML is the same on every machine (no network probe)."""

    def __init__(self, element: str, props: dict, static_html: str, inline: bool | None = None):
        import sys

        from circuitsvis.utils.convert_props import convert_props

        self.uid = "course-cv-" + uuid.uuid4().hex[:12]
        # Colab draws each output in its own frame, so there every view carries the JavaScript.
        embed = inline if inline is not None else not _Bundle.embedded or "google.colab" in sys.modules
        if embed:
            _Bundle.embedded = True
        script = (_LOADER % _circuitsvis_js_gz_b64() if embed else "") + _RENDER % {
            "uid": self.uid,
            "element": element,
            "props": convert_props(props),
        }
        self._html = (
            f'<div class="course-circuitsvis">\n<div id="{self.uid}" style="margin: 15px 0;"></div>\n'
            f'<div id="{self.uid}-static" class="course-circuitsvis-static">{static_html}</div>\n'
            f'<script type="module">\n{script}</script>\n</div>'
        )

    def _repr_html_(self) -> str:
        return self._html

    def __str__(self) -> str:
        return self._html


def _blue(v: float) -> str:
    # white -> dark blue in 16 steps (as plotly's "Blues"), as a short CSS colour
    v = min(max(v, 0.0), 1.0)
    r, g, b = (round((255 + (c - 255) * v) / 17) for c in (8, 48, 107))
    return f"#{r:x}{g:x}{b:x}"


STATIC_MAX_POSITIONS = 48  # a static picture shows at most this many positions (the first ones)


def _static_attention(p: np.ndarray, tokens: Sequence[str], names: Sequence[str]) -> str:
    """Token-labelled heatmaps as plain HTML tables (no script, no image, so an untrusted
    notebook keeps them): rows are queries, columns keys, numbered; the row labels give each
    position's token. Runs of near-zero cells are merged, so a causal pattern stays small."""
    n = min(len(tokens), STATIC_MAX_POSITIONS)
    shown = [html.escape(visible_token(t)) for t in tokens[:n]]
    tables = []
    for h, name in enumerate(names):
        head = "".join(f'<th title="{shown[j]}">{j}</th>' for j in range(n))
        rows = [f'<tr style="font-size:8px;color:#555"><th></th>{head}</tr>']
        for i in range(n):
            cells, blank = [], 0
            for j in range(n):
                v = float(p[h, i, j])
                if v < 0.04:
                    blank += 1
                    continue
                if blank:
                    cells.append(f'<td colspan="{blank}"></td>' if blank > 1 else "<td></td>")
                    blank = 0
                cells.append(f'<td style="background:{_blue(v)}"></td>')
            if blank:
                cells.append(f'<td colspan="{blank}"></td>' if blank > 1 else "<td></td>")
            rows.append(
                f'<tr style="height:12px"><th style="text-align:right;white-space:pre;padding:0 4px">{i} {shown[i]}</th>{"".join(cells)}</tr>'
            )
        tables.append(
            '<table style="border-collapse:collapse;table-layout:fixed;margin:0 16px 8px 0;font-size:10px;font-weight:normal">'
            f'<caption style="font-size:11px">{html.escape(str(name))}</caption>'
            f'<colgroup><col><col span="{n}" style="width:12px"></colgroup>{"".join(rows)}</table>'
        )
    cut = f" (first {n} of {len(tokens)} positions)" if n < len(tokens) else ""
    legend = (f'<div style="font-size:10px;color:#555">static picture{cut}: rows are queries, columns keys; darker = more '
              "attention. The interactive view needs the notebook trusted or this cell run.</div>")  # fmt: skip
    return f'<div style="display:flex;flex-wrap:wrap;font-family:monospace">{"".join(tables)}</div>{legend}'


def _static_tokens(tokens: Sequence[str], values: np.ndarray) -> str:
    """Tokens coloured by value (blue positive, red negative) as plain HTML spans."""
    top = float(np.abs(values).max()) or 1.0
    spans = []
    for t, v in zip(tokens, values):
        a = min(abs(float(v)) / top, 1.0)
        rgb = "8,48,107" if v >= 0 else "178,24,43"
        fg = "#fff" if a > 0.6 else "#000"
        spans.append(f'<span style="background-color:rgba({rgb},{a:.2f});color:{fg};white-space:pre;padding:0 1px" '
                     f'title="{float(v):.3g}">{html.escape(visible_token(t))}</span>')  # fmt: skip
    return f'<div style="font-family:monospace;line-height:1.8">{"".join(spans)}</div>'


def attention_heads(
    pattern: Float[Tensor, "n_heads query_pos key_pos"] | np.ndarray,
    tokens: Sequence[str],
    head_names: Sequence[str] | None = None,
    inline: bool | None = None,
) -> CircuitsVisHTML:
    """circuitsvis's interactive attention view (hover a token to see where it attends).

    Works offline: the first view in a kernel embeds circuitsvis's own JavaScript (from the
    installed package, ~0.5 MB compressed); later views reuse it. ``inline=True`` embeds it in
    this view too, ``inline=False`` never. Without scripts the view shows a static heatmap.
    """
    p = _np(pattern)
    names = list(head_names) if head_names else [f"head {h}" for h in range(p.shape[0])]
    props = {"attention": np.round(p.astype(float), 3), "tokens": list(tokens), "attentionHeadNames": names}
    return CircuitsVisHTML("AttentionHeads", props, _static_attention(p, tokens, names), inline)


def colored_tokens(tokens: Sequence[str], values: Values, inline: bool | None = None) -> CircuitsVisHTML:
    """circuitsvis's tokens coloured by a value each (e.g. per-token loss); offline, with a
    static fallback, as ``attention_heads``."""
    v = _np(values).astype(float)
    props = {"tokens": list(tokens), "values": [float(a) for a in v]}
    return CircuitsVisHTML("ColoredTokens", props, _static_tokens(tokens, v), inline)
