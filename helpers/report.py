"""The course's results in one place: ``Documentation/Report.md`` (introduced with notebook 05).

    python -m helpers.report            # reads notebooks/*.ipynb, writes the report and its figures

It reads every notebook's *stored* outputs (nothing is re-run): its title, the headline claims
that ``helpers.checks.claim`` printed (lines starting with "✔", exercise checks left out),
and its plotly figures: the PNG each figure stores (``tools/nb.py run`` makes them, the same
pictures GitHub and nbconvert show), copied to ``Documentation/figures/``; a figure stored
without one is redrawn with matplotlib. A notebook added later appears automatically: the
report discovers ``notebooks/NN_*.ipynb``.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from helpers.errors import ConfigError

EXERCISE_LINE = re.compile(r"^✔ [\w.]+: correct on \d+ test case")
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@dataclass
class NotebookResults:
    """What one executed notebook shows: title, claim lines, plotly figures (as dicts) and the
    PNG stored with each figure (base64, or None), in the same order."""

    path: Path
    title: str
    claims: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)


def _text(x: str | list[str]) -> str:
    return "".join(x) if isinstance(x, list) else x


def read_notebook(path: str | Path) -> NotebookResults:
    """Title, claims and figures from a notebook's stored outputs."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    title = Path(path).stem
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^# (.+)$", _text(cell.get("source", "")), re.M)
            if m:
                title = m.group(1).strip()
                break
    res = NotebookResults(Path(path), title)
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                for line in _text(out.get("text", "")).splitlines():
                    if line.startswith("✔ ") and not EXERCISE_LINE.match(line):
                        res.claims.append(line[2:].strip())
            fig = out.get("data", {}).get(PLOTLY_MIME)
            if fig is not None:
                res.figures.append(fig)
                png = out["data"].get("image/png")
                res.images.append(_text(png) if png else None)
    return res


def decode(values: Any) -> np.ndarray | list:
    """Plotly's JSON arrays: plain lists, or typed arrays ``{"dtype", "bdata", "shape"}``."""
    if isinstance(values, dict) and "bdata" in values:
        arr = np.frombuffer(base64.b64decode(values["bdata"]), dtype=np.dtype(values["dtype"]))
        shape = values.get("shape")
        if shape:
            arr = arr.reshape([int(s) for s in str(shape).split(",")])
        return arr
    return values if values is not None else []


def _title(fig: dict[str, Any]) -> str:
    t = fig.get("layout", {}).get("title", "")
    return (t.get("text", "") if isinstance(t, dict) else str(t or "")).strip()


def render_figure(fig: dict[str, Any], path: str | Path) -> bool:
    """Redraw a plotly figure (heatmap, scatter/line, bar, parallel coordinates) with matplotlib.

    Returns False (and writes nothing) for figures with no trace it knows how to draw.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    traces = [
        t
        for t in fig.get("data", [])
        if t.get("type", "scatter") in ("heatmap", "scatter", "scattergl", "bar", "parcoords")
    ]
    if not traces:
        return False
    layout = fig.get("layout", {})
    f, ax = plt.subplots(figsize=(7, 3.6), dpi=90)
    for t in traces:
        kind = t.get("type", "scatter")
        if kind == "heatmap":
            z = np.asarray(decode(t.get("z")), dtype=float)
            finite = np.abs(z[np.isfinite(z)])
            vmax = float(finite.max()) if finite.size else 1.0
            im = ax.imshow(z, aspect="auto", cmap="RdBu", vmin=-vmax, vmax=vmax)
            f.colorbar(im, ax=ax)
            for axis, key, setter in (("x", "x", ax.set_xticks), ("y", "y", ax.set_yticks)):
                labels = list(decode(t.get(key)))
                if labels and len(labels) <= 40:
                    setter(
                        range(len(labels)), [str(s)[:12] for s in labels], rotation=90 if axis == "x" else 0, fontsize=7
                    )
        elif kind == "parcoords":
            dims = t.get("dimensions", [])
            cols = [np.asarray(decode(d.get("values")), dtype=float) for d in dims]
            m = np.stack(cols, 1)
            span = np.where(m.max(0) > m.min(0), m.max(0) - m.min(0), 1.0)
            norm = (m - m.min(0)) / span
            colour = plt.cm.viridis(norm[:, -1])
            for row, c in zip(norm, colour):
                ax.plot(range(len(dims)), row, color=c, alpha=0.8)
            ax.set_xticks(range(len(dims)), [d.get("label", "") for d in dims])
            ax.set_yticks([])
        elif kind == "bar":
            x, y = list(decode(t.get("x"))), list(decode(t.get("y")))
            ax.bar([str(v) for v in x], y, label=t.get("name") or None)
        else:
            x, y = decode(t.get("x")), decode(t.get("y"))
            y = list(y)
            x = list(x) if len(x) else list(range(len(y)))
            if x and isinstance(x[0], str):
                ax.set_xticks(range(len(x)), x, rotation=15, fontsize=7)
                x = list(range(len(x)))
            style = "o" if "markers" in str(t.get("mode", "markers")) and "lines" not in str(t.get("mode", "")) else "-"
            ax.plot(x, y, style, ms=3, label=t.get("name") or None)
    for axis in ("xaxis", "yaxis"):
        a = layout.get(axis, {})
        label = a.get("title", {})
        label = label.get("text", "") if isinstance(label, dict) else str(label or "")
        (ax.set_xlabel if axis == "xaxis" else ax.set_ylabel)(label)
        if a.get("type") == "log":
            (ax.set_xscale if axis == "xaxis" else ax.set_yscale)("log")
        if isinstance(a.get("range"), list) and len(a["range"]) == 2 and a.get("type") != "log":
            (ax.set_xlim if axis == "xaxis" else ax.set_ylim)(*a["range"])
    _draw_marks(ax, layout)
    if any(t.get("name") for t in traces if t.get("type", "scatter") in ("scatter", "scattergl", "bar")):
        ax.legend(fontsize=7)
    ax.set_title(_title(fig)[:90], fontsize=9)
    f.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    f.savefig(path)
    plt.close(f)
    return True


def _draw_marks(ax: Any, layout: dict[str, Any]) -> None:
    """Vertical lines (``fig.add_vline``) and shaded spans (``plots.band``) and their labels."""
    for shape in layout.get("shapes", []):
        if shape.get("xref", "x") != "x" or shape.get("yref") not in ("paper", "y domain"):
            continue
        x0, x1 = shape.get("x0"), shape.get("x1")
        if shape.get("type") == "rect":
            ax.axvspan(x0, x1, color=shape.get("fillcolor", "grey"), alpha=shape.get("opacity", 0.12), lw=0)
        elif shape.get("type") == "line" and x0 == x1:
            ax.axvline(x0, color="grey", ls=":", lw=1)
    log_x = layout.get("xaxis", {}).get("type") == "log"
    for note in layout.get("annotations", []):
        if note.get("yref") != "paper" or note.get("xref", "x") != "x" or "x" not in note:
            continue
        x = 10 ** note["x"] if log_x else note["x"]  # annotations on a log axis are in log10 units
        ax.text(x, min(note.get("y", 1.0), 0.97), str(note.get("text", "")), transform=ax.get_xaxis_transform(),
                fontsize=7, ha="center", va="top")  # fmt: skip


def build_report(root: str | Path, max_figures: int = 4) -> str:
    """Markdown for ``Documentation/Report.md``; figures are written under Documentation/figures/."""
    if max_figures < 0:
        raise ConfigError(
            f"max_figures must be 0 or more, got {max_figures}. Fix: e.g. --max-figures 4 (0: no figures)."
        )
    root = Path(root)
    try:
        import matplotlib  # noqa: F401

        can_draw = True
    except ImportError:
        can_draw = False
    notebooks = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    lines = [
        "# Results report",
        "",
        "Each notebook's headline claims (asserted by `helpers.checks.claim`, so CI re-checks them on",
        "every run) and its key figures, collected from the notebooks' stored outputs. Regenerate with",
        "",
        "    python -m helpers.report",
        "",
        "Figures are the PNGs stored with the notebooks' figures; the notebooks hold the interactive ones.",
        "",
        "| notebook | claims |",
        "|---|---|",
    ]
    results = [read_notebook(p) for p in notebooks]
    for old in (root / "Documentation" / "figures").glob("[0-9][0-9]_*.png"):  # figures of a previous run
        old.unlink()
    lines += [f"| [{r.path.stem}](../notebooks/{r.path.name}) | {len(r.claims)} |" for r in results]
    for r in results:
        lines += ["", f"## {r.title}", "", f"Notebook: [`notebooks/{r.path.name}`](../notebooks/{r.path.name})", ""]
        lines += [f"- ✔ {c}" for c in r.claims] or ["- (no claims in the stored outputs)"]
        drawn = 0
        for k, fig in enumerate(r.figures):
            if drawn >= max_figures:
                break
            name = f"{r.path.stem}_{k}.png"
            path = root / "Documentation" / "figures" / name
            png = r.images[k] if k < len(r.images) else None
            if png:  # the picture the notebook stores (tools/nb.py run): no second drawing
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(base64.b64decode(png))
            elif not can_draw or not render_figure(fig, path):
                continue
            lines += ["", f"![{_title(fig) or name}](figures/{name})"]
            drawn += 1
        if r.figures and not can_draw and not all(r.images):
            lines += ["", "(figures skipped: matplotlib is not installed)"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.report``: regenerate Documentation/Report.md from the notebooks."""
    from helpers.errors import run_cli

    return run_cli(_main, argv)


def _main(argv: list[str]) -> int:
    from helpers.errors import ArgumentParser, MissingDataError, with_flags

    ap = ArgumentParser(prog="python -m helpers.report", description=main.__doc__)
    ap.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    ap.add_argument("--max-figures", type=int, default=4, help="figures per notebook (0: none)")
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    args = ap.parse_args(argv)
    root = Path(args.root)
    if args.max_figures < 0:  # a negative count once deleted every committed figure and drew none
        raise ConfigError(
            with_flags(
                f"max_figures must be 0 or more, got {args.max_figures}. Fix: e.g. --max-figures 4 (0: no figures).",
                {"max_figures": "--max-figures"},
            )
        )
    if not list((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        raise MissingDataError(
            f"--root {root} has no notebooks/NN_*.ipynb. Fix: give the course's root folder as --root."
        )
    out = root / "Documentation" / "Report.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_report(root, args.max_figures), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
