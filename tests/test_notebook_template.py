"""Every notebook follows the course template (tools/nb.py check) and its source is in notebooks/src."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _nb_tool():
    spec = importlib.util.spec_from_file_location("nb_tool", ROOT / "tools" / "nb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_template(path):
    assert _nb_tool().check(path) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_source(path):
    assert (ROOT / "notebooks" / "src" / f"{path.stem}.py").exists(), (
        "notebooks are built from notebooks/src/NN_topic.py"
    )


def test_template_check_catches_a_bare_notebook(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print(1)"))
    nbformat.write(nb, tmp_path / "x.ipynb")
    problems = _nb_tool().check(tmp_path / "x.ipynb")
    assert any("Colab badge" in p for p in problems) and any("claim" in p for p in problems)


def test_check_catches_a_notebook_out_of_date_with_its_source(tmp_path):
    import nbformat

    tool = _nb_tool()
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "x.py"
    src.write_text("# %% [markdown]\n# # x\n\n# %%\nprint(1)\n")
    out = tool.build(src, notebooks_dir=tmp_path)  # not into the course's notebooks/
    assert not any("out of date" in p for p in tool.check(out))
    src.write_text("# %% [markdown]\n# # x\n\n# %%\nprint(2)\n")  # edited, never rebuilt
    assert any("out of date" in p for p in tool.check(out))
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "y.ipynb")
    assert any("no source" in p for p in tool.check(tmp_path / "y.ipynb"))


def test_sources_and_notebooks_sync_both_ways_with_jupytext(tmp_path):
    """An edit made in JupyterLab goes back to the source with `jupytext --sync` (issue #15)."""
    import shutil
    import subprocess
    import sys

    import nbformat

    tool = _nb_tool()
    (tmp_path / "src").mkdir()
    src = tmp_path / "src" / "00_tour.py"
    shutil.copy(ROOT / "notebooks" / "src" / "00_tour.py", src)
    out = tool.build(src, notebooks_dir=tmp_path)
    nb = nbformat.read(out, as_version=4)
    nb.cells[0].source += "\n\nAn edit made in JupyterLab."  # the first markdown cell
    nbformat.write(nb, out)
    jupytext = [sys.executable, "-m", "jupytext"]
    subprocess.run([*jupytext, "--sync", str(out)], check=True, capture_output=True)
    assert "# An edit made in JupyterLab." in src.read_text()
    assert [c.source for c in tool.build_notebook(src).cells] == [c.source for c in nb.cells]


def _markdown_notebook(text):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell(text))
    return nb


def test_markdown_check_flags_a_code_span_cut_by_a_wrapped_list_marker():
    """Issue #22: a source line starting with '+ ' made a bullet and the code span spilled over."""
    broken = "The key input is the residual stream `embed + pos + Σ layer-0 head outputs\n+ b_O`, so it can be cut."
    problems = _nb_tool().markdown_problems(_markdown_notebook(broken))
    assert problems and all("code span does not close" in p for p in problems)
    unclosed = "A span `that never closes.\n\nNext paragraph."
    assert _nb_tool().markdown_problems(_markdown_notebook(unclosed))


def test_markdown_check_passes_well_formed_markdown():
    ok = (
        "The key input is the residual stream\n`embed + pos + Σ layer-0 head outputs + b_O`, so it can be cut.\n\n"
        "- a list item with `code`\n- another, with ``a ` inside`` and an escaped \\` backtick\n\n"
        "```python\nx = `not a span\n```\n\n    indented `code block\n\n"
        "| a | `b` |\n|---|---|\n| `c` | d |\n\n<details><summary>Hint</summary>\n\n`hint`\n\n</details>"
    )
    assert _nb_tool().markdown_problems(_markdown_notebook(ok)) == []
