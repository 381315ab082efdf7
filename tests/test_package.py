"""The package's shape: the module map (helpers/__init__.py) lists every module, and modules stay readable."""

import importlib
import re
from pathlib import Path

import helpers

ROOT = Path(helpers.__file__).parent
MAX_LINES = 320  # about 300: a module reads top to bottom in one sitting (issue #15)
# Justified exceptions, each with its reason. Keep this list short.
LONG_MODULES = {  # one job each, long because they are lists: one notebook's 8 exercise references, each with its mistakes
    "exercises/nb03.py": "notebook 03's 8 exercise references with their named mistakes and example inputs",
    "exercises/nb05.py": "notebook 05's 8 exercise references with their named mistakes and example inputs",
    "exercises/nb06.py": "notebook 06's 8 exercise references with their named mistakes and example inputs",
}
FACADES = ("grokking", "lm", "sentiment")  # packages that were one module: their map entry names each part


def _listed(doc: str | None) -> set[str]:
    return set(re.findall(r"^- ``(\w+)``", doc or "", flags=re.MULTILINE))


def test_module_map_lists_every_helpers_module_and_package():
    modules = {p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")}
    modules -= {"__init__"}
    listed = _listed(helpers.__doc__)
    assert not modules - listed, f"add these modules to the map in helpers/__init__.py: {sorted(modules - listed)}"
    assert not listed - modules, (
        f"the map in helpers/__init__.py lists modules that do not exist: {sorted(listed - modules)}"
    )


def test_each_split_package_names_its_modules_in_the_map_and_its_docstring():
    for init in (ROOT / name / "__init__.py" for name in FACADES):
        package = importlib.import_module(f"helpers.{init.parent.name}")
        for sub in sorted(p.stem for p in init.parent.glob("*.py") if p.stem != "__init__"):
            assert f"``{sub}``" in (package.__doc__ or ""), (
                f"helpers.{init.parent.name}'s docstring should name ``{sub}``"
            )
            entry = re.search(
                rf"^- ``{init.parent.name}``.*?(?=^- ``)", helpers.__doc__ or "", re.MULTILINE | re.DOTALL
            )
            assert entry and f"``{sub}``" in entry.group(0), (
                f"the map in helpers/__init__.py should name {init.parent.name}.{sub}"
            )


def test_modules_stay_under_the_line_limit():
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in ROOT.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES and str(p.relative_to(ROOT)) not in LONG_MODULES
    }
    assert not too_long, f"split these modules (over {MAX_LINES} lines; see issue #15): {too_long}"


def test_the_exceptions_are_still_needed():
    stale = [name for name in LONG_MODULES if len((ROOT / name).read_text().splitlines()) <= MAX_LINES]
    assert not stale, f"remove these from LONG_MODULES, they are short now: {stale}"


def test_shape_annotations_are_checked_during_the_tests():
    """tests/conftest.py installs jaxtyping's import hook with beartype: a wrong shape fails loudly."""
    import os

    import pytest
    import torch
    from jaxtyping import TypeCheckError

    from helpers import stats

    if os.environ.get("COURSE_SHAPE_CHECKS", "1") == "0":
        pytest.skip("shape checks turned off")
    with pytest.raises(TypeCheckError):
        stats.entropy(torch.ones(3, dtype=torch.long))  # an Int tensor where Float[Tensor, "... d"] is declared


def test_every_module_imports_on_its_own():
    """A module imported first must not hit a circular import (neurons <-> dla once did).

    One interpreter imports the heavy third-party packages once, then forks a child per module,
    which imports that module first thing: as fresh as a new interpreter, in a fraction of the time.
    """
    import subprocess
    import sys

    names = sorted(p.stem for p in ROOT.glob("*.py") if p.stem != "__init__")
    names += sorted(p.parent.name for p in ROOT.glob("*/__init__.py"))
    code = """
import importlib, os, sys, traceback
import torch, transformer_lens.model_bridge, jaxtyping, plotly, scipy.stats, safetensors.torch  # heavy, not ours: imported once, before the forks
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module("helpers." + name)
        except Exception:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    if os.waitpid(pid, 0)[1] != 0:
        failed.append(name)
print("FAILED", failed)
sys.exit(1 if failed else 0)
"""
    result = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True)
    assert result.returncode == 0, (
        f"these modules fail when imported first: {result.stdout[-300:]}\n{result.stderr[-900:]}"
    )
