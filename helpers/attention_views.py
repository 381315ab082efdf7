"""circuitsvis views that render offline, with a static picture when scripts are off (notebook 00).

``helpers.plots`` re-exports ``attention_heads``, ``colored_tokens`` and ``visible_token``: notebooks
call them as ``plots.attention_heads(...)``.

The views need no network: their JavaScript comes from the installed circuitsvis package
(gzip-compressed and embedded once per kernel, ~0.5 MB, with the first view; later views reuse
it), never from a CDN. Each view also carries a static, token-labelled HTML heatmap that needs no
script, so a notebook opened untrusted (a fresh clone, GitHub) still shows the pattern. Each
view comes with a plotly twin (``plots.attention_heatmaps``).

Token labels show whitespace visibly: ``visible_token`` turns a newline into ``↵``, a tab into
``⇥`` and leading or trailing spaces into ``·``.
"""

from __future__ import annotations

import base64
import functools
import gzip
import html
import uuid
from collections.abc import Sequence

import numpy as np
from jaxtyping import Float
from torch import Tensor

# Numbers as the notebooks pass them: lists (ints for steps, floats), tensors, arrays.
Values = Sequence[float | int] | Tensor | np.ndarray


def _np(x: Values) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


def visible_token(token: str) -> str:
    """A token as a tick label: newlines ``↵``, tabs ``⇥``, other control characters ``\\x1a``,
    leading/trailing spaces ``·``.

    Inner spaces are kept ("head 0" stays readable); a token of spaces only becomes dots. A raw
    control character in a label makes plotly.js fail to draw the figure (kaleido: error 525)."""
    t = str(token).replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵").replace("\t", "⇥")
    t = "".join(f"\\x{ord(c):02x}" if ord(c) < 32 or 127 <= ord(c) < 160 else c for c in t)
    core = t.strip(" ")
    if not core:
        return "·" * len(t) if t else "∅"
    left = len(t) - len(t.lstrip(" "))
    right = len(t) - len(t.rstrip(" "))
    return "·" * left + core + "·" * right


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
