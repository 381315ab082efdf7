"""Tests for helpers.report: a hand-built notebook with known claims and figures."""

import base64

import nbformat
import numpy as np
import plotly.graph_objects as go
import pytest

from helpers import report


def make_notebook(root, name="01_demo.ipynb"):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# 01 — A demo\n\ntext"))
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [
        nbformat.v4.new_output(
            "stream", name="stdout", text="✔ f: correct on 2 test case(s).\n✔ The loss falls  (3 < 5)\nother\n"
        ),
        nbformat.v4.new_output("stream", name="stderr", text="✔ not a claim\n"),
        nbformat.v4.new_output(
            "display_data", data={report.PLOTLY_MIME: go.Figure(go.Heatmap(z=np.eye(3))).to_plotly_json()}
        ),
        nbformat.v4.new_output(
            "display_data",
            data={
                report.PLOTLY_MIME: {
                    "data": [{"type": "scatter", "y": [1, 2, 3]}],
                    "layout": {"title": {"text": "a line"}},
                }
            },
        ),
    ]
    nb.cells.append(code)
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, root / "notebooks" / name)


def test_read_notebook_keeps_claims_not_exercises(tmp_path):
    make_notebook(tmp_path)
    r = report.read_notebook(tmp_path / "notebooks" / "01_demo.ipynb")
    assert r.title == "01 — A demo"
    assert r.claims == ["The loss falls  (3 < 5)"]
    assert len(r.figures) == 2


def test_decode_typed_arrays():
    raw = np.arange(6, dtype="f8")
    typed = {"dtype": "f8", "bdata": base64.b64encode(raw.tobytes()).decode(), "shape": "2, 3"}
    assert report.decode(typed).tolist() == [[0, 1, 2], [3, 4, 5]]
    assert report.decode([1, 2]) == [1, 2] and report.decode(None) == []


def test_build_report_lists_every_notebook_and_draws_figures(tmp_path):
    pytest.importorskip("matplotlib")
    make_notebook(tmp_path)
    make_notebook(tmp_path, "02_other.ipynb")
    md = report.build_report(tmp_path)
    assert md.count("- ✔ The loss falls") == 2 and "correct on" not in md
    assert "## 01 — A demo" in md and "(figures/01_demo_1.png)" in md
    pngs = sorted(p.name for p in (tmp_path / "Documentation" / "figures").glob("*.png"))
    assert pngs == ["01_demo_0.png", "01_demo_1.png", "02_other_0.png", "02_other_1.png"]
    assert report.render_figure({"data": [{"type": "pie"}]}, tmp_path / "x.png") is False


def test_render_figure_draws_bands_and_lines_on_log_axes(tmp_path):
    from helpers import plots

    fig = plots.line({"a": [1.0, 2.0, 3.0]}, x=[1, 10, 100], log_x=True)
    fig.add_vline(x=10, line_dash="dot", annotation_text="memorised")  # as notebook 03 marks a step
    plots.band(fig, 1, 10, "phase", "orange")
    assert report.render_figure(fig.to_plotly_json(), tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 0


def test_build_report_reuses_the_png_a_figure_stores(tmp_path, monkeypatch):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nstored by tools/nb.py run").decode()
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# 03 — stored images"))
    code = nbformat.v4.new_code_cell("fig")
    fig = go.Figure(go.Scatter(y=[1, 2])).update_layout(title="with a png").to_plotly_json()
    code.outputs = [nbformat.v4.new_output("display_data", data={report.PLOTLY_MIME: fig, "image/png": png})]
    nb.cells.append(code)
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nb, tmp_path / "notebooks" / "03_stored.ipynb")
    monkeypatch.setattr(report, "render_figure", lambda *a: pytest.fail("a stored PNG must not be redrawn"))
    md = report.build_report(tmp_path)
    assert "![with a png](figures/03_stored_0.png)" in md
    assert (tmp_path / "Documentation" / "figures" / "03_stored_0.png").read_bytes() == base64.b64decode(png)
