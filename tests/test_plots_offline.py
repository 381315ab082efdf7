"""helpers.plots: circuitsvis views that need no network and degrade to a static picture;
figure details that make the course's plots readable (token ticks, log axes, bands)."""

import base64
import gzip
import re
from pathlib import Path

import circuitsvis
import torch

from helpers import plots


def _pattern(n_heads=2, n=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(n_heads, n, n, generator=g) * 3
    return scores.masked_fill(torch.triu(torch.ones(n, n, dtype=torch.bool), 1), -1e9).softmax(-1)


def test_attention_view_embeds_circuitsvis_from_the_installed_package():
    html = plots.attention_heads(_pattern(), ["<bos>", " the", "\n", " ", "cat"], inline=True)._repr_html_()
    assert "unpkg.com" not in html and "http" not in html.split("<script")[1][:200]
    payload = re.search(r'atob\("([A-Za-z0-9+/=]+)"\)', html).group(1)
    js = gzip.decompress(base64.b64decode(payload)).decode()
    bundled = (Path(circuitsvis.__file__).parent / "dist" / "cdn" / "iife.js").read_text(encoding="utf-8")
    assert js.startswith(bundled) and "window.CircuitsVis = CircuitsVis" in js
    assert len(html) < 700_000  # compressed: ~0.5 MB once per notebook, not the 1.3 MB bundle


def test_only_the_first_view_in_a_kernel_embeds_the_bundle(monkeypatch):
    monkeypatch.setattr(plots._Bundle, "embedded", False)
    first = plots.attention_heads(_pattern(), list("abcde"))._repr_html_()
    second = plots.colored_tokens(list("abc"), [0.1, -0.5, 1.0])._repr_html_()
    assert "atob(" in first and "atob(" not in second and "__courseCircuitsVis" in second
    assert len(second) < 10_000


def test_on_colab_every_view_embeds_the_bundle(monkeypatch):
    import sys
    import types

    monkeypatch.setattr(plots._Bundle, "embedded", True)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert "atob(" in plots.attention_heads(_pattern(), list("abcde"))._repr_html_()  # outputs are separate frames


def test_static_picture_needs_no_script_and_labels_tokens():
    view = plots.attention_heads(_pattern(n_heads=2), ["<bos>", " the", "\n", " ", "cat"], head_names=["L0H0", "L0H1"],
                                 inline=False)._repr_html_()  # fmt: skip
    static = view.split('-static" class="course-circuitsvis-static">')[1].split("<script")[0]
    assert "<script" not in static and "<svg" not in static and "data:" not in static  # survives a sanitiser
    assert static.count("<table") == 2 and "L0H0" in static and "L0H1" in static
    for shown in ("·the", "↵", "cat", "&lt;bos&gt;"):
        assert shown in static
    assert "background:#" in static  # painted cells
    long = plots.attention_heads(_pattern(n_heads=4, n=80), [f"t{i}" for i in range(80)], inline=False)._repr_html_()
    assert "first 48 of 80 positions" in long and len(long) < 300_000  # dense random patterns: the worst case


def test_visible_tokens():
    assert plots.visible_token(" the") == "·the"
    assert plots.visible_token("\n") == "↵" and plots.visible_token("a\tb") == "a⇥b"
    # a raw control character in a tick label stops plotly.js drawing the figure (kaleido error 525)
    assert plots.visible_token("\x1a") == "\\x1a" and plots.visible_token("é\x7f") == "é\\x7f"
    assert plots.visible_token("  ") == "··" and plots.visible_token("") == "∅"
    assert plots.visible_token("head 0") == "head 0"  # inner spaces stay


def test_attention_heatmaps_have_token_ticks():
    fig = plots.attention_heatmaps(_pattern(n=4), ["<bos>", " a", "\n", " a"], head_names=["x", "y"])
    assert [a.text for a in fig.layout.annotations] == ["x", "y"]
    assert list(fig.layout.xaxis.ticktext) == ["<bos>", "·a", "↵", "·a"] and fig.layout.xaxis.showticklabels


def test_imshow_names_facets_and_shows_whitespace():
    fig = plots.imshow(
        torch.randn(2, 3, 3), x=[" a", "\n", " a"], y=list("xyz"), facet_col=0, facet_names=["counted", "model"]
    )
    assert [a.text for a in fig.layout.annotations] == ["counted", "model"]
    assert fig.data[0].x[0] == "·a" and fig.data[0].x[1] == "↵" and len(set(fig.data[0].x)) == 3  # repeats kept apart
    assert plots.imshow(torch.tensor([[1.0, float("nan")]]), zmid=None).layout.plot_bgcolor == "#a0a0a0"
    unnamed = plots.imshow(torch.randn(2, 3, 3), facet_col=0)
    assert all(not str(a.text).startswith("facet_col") for a in unnamed.layout.annotations)


def test_log_axes_use_powers_of_ten_and_colours_are_fixed_per_name():
    fig = plots.line({"train": [1e-4, 1e-2], "test": [1.0, 0.1]}, x=[1, 10], log_y=True, colors={"test": "red"})
    assert fig.layout.yaxis.type == "log" and fig.layout.yaxis.exponentformat == "power"
    assert fig.data[1].line.color == "red" and [t.name for t in fig.data] == ["train", "test"]
    assert plots.line([1.0, 2.0, 3.0]).layout.xaxis.dtick == 1  # heads/positions: no 0.5 ticks


def test_bar_is_categorical_with_a_baseline():
    fig = plots.bar([0.9, 0.5], x=["L0H0", "L0H1"], baseline=0.95, baseline_label="unablated")
    assert fig.layout.xaxis.type == "category" and fig.layout.shapes[0].y0 == 0.95
    assert "unablated" in fig.layout.annotations[0].text


def test_band_labels_sit_above_the_plot_and_alternate():
    fig = plots.line([1.0, 2.0, 3.0], x=[1, 10, 100], log_x=True)
    plots.band(fig, 1, 10, "memorisation", "royalblue")
    plots.band(fig, 10, 20, "circuit formation", "orange")
    a, b = fig.layout.annotations
    assert a.y == 1.0 and a.yanchor == "bottom" and a.yshift != b.yshift and a.font.color == "royalblue"


def test_scatter_labels_points_when_few():
    assert list(plots.scatter([1, 2], [3, 4], labels=[" a", "b"]).data[0].text) == ["·a", "b"]
    assert plots.scatter(list(range(100)), list(range(100)), labels=[str(i) for i in range(100)]).data[0].text is None
