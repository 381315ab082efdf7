"""The package's module map (the docstring of helpers/__init__.py) lists every module."""

import re
from pathlib import Path

import helpers


def test_module_map_lists_every_helpers_module():
    modules = {p.stem for p in Path(helpers.__file__).parent.glob("*.py")} - {"__init__"}
    listed = set(re.findall(r"^- ``(\w+)``", helpers.__doc__ or "", flags=re.MULTILINE))
    assert not modules - listed, f"add these modules to the map in helpers/__init__.py: {sorted(modules - listed)}"
    assert not listed - modules, f"the map in helpers/__init__.py lists modules that do not exist: {sorted(listed - modules)}"
