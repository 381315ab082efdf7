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
    assert (ROOT / "notebooks" / "src" / f"{path.stem}.py").exists(), "notebooks are built from notebooks/src/NN_topic.py"


def test_template_check_catches_a_bare_notebook(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("print(1)"))
    nbformat.write(nb, tmp_path / "x.ipynb")
    problems = _nb_tool().check(tmp_path / "x.ipynb")
    assert any("Colab badge" in p for p in problems) and any("claim" in p for p in problems)
