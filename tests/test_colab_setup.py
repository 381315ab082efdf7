"""The Colab setup cell (tools/nb.py SETUP_CELL) in a simulated Colab, offline; one repository URL.

Simulated: a fresh virtual environment whose preinstalled packages are this checkout's (torch
included) minus the course itself, a stub ``google.colab`` module, the course cloned from a local
copy of this repository (``COURSE_REPO_URL``), and pip offline (``PIP_NO_INDEX``). The setup cell
runs as written, but for Colab's fixed folder ``/content/course``, which is moved into a temporary
folder. It must install the course without installing, upgrading or removing torch (or any other
preinstalled package), and notebook 00's setup cell must then import ``helpers`` from the install.
Not simulated: Colab's own torch build (the preinstalled torch here is the pinned one), and pip's
network resolution (test_colab_ranges checks that pyproject's ranges accept the torch Colab ships).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
COURSE_DIST = re.compile(r"^(__editable__\.?_?mechinterp_course_helpers|mechinterp_course_helpers)", re.I)


def _nb_tool():
    spec = importlib.util.spec_from_file_location("nb_tool", ROOT / "tools" / "nb.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_readme_colab_links_and_badges_come_from_repo_url():
    nb = _nb_tool()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://colab\.research\.google\.com/github/[^)\s]+", readme)
    assert links, "the README's notebook table links each notebook on Colab"
    for link in links:
        name = link.rsplit("/", 1)[-1]
        assert link == nb.COLAB_URL.format(name=name), f"README link {link} does not match tools/nb.py REPO_URL"
        assert (ROOT / "notebooks" / name).exists(), f"README links a notebook that does not exist: {name}"
    assert nb.COLAB_URL.startswith(
        "https://colab.research.google.com/github/" + nb.REPO_URL.removeprefix("https://github.com/")
    )
    assert nb.REPO_URL in nb.SETUP_CELL
    src = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))[0]
    badge = nb.build_notebook(src).cells[0].source
    assert nb.COLAB_URL.format(name=src.stem + ".ipynb") in badge


def test_colab_ranges_keep_colabs_torch():
    """pyproject's ranges (what Colab resolves against) accept recent Colab torch builds and the pin."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    deps = {
        Requirement(d).name: Requirement(d)
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    for colab_torch in ("2.5.1+cu121", "2.6.0+cu124", "2.8.0+cu126", "2.9.0+cu126"):
        assert deps["torch"].specifier.contains(Version(colab_torch)), (
            f"pyproject's torch range would replace Colab's torch {colab_torch}"
        )
    pins = dict(
        line.split("==")
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    for name, req in deps.items():
        if name in pins:
            assert req.specifier.contains(Version(pins[name])), (
                f"requirements.txt pins {name}=={pins[name]}, outside pyproject's {req.specifier}"
            )


def _preinstalled(dest: Path) -> Path:
    """A site directory holding links to this environment's packages, the course left out."""
    dest.mkdir()
    site = Path(sysconfig.get_paths()["purelib"])
    for entry in site.iterdir():
        if not COURSE_DIST.match(entry.name) and entry.name != "__pycache__":
            (dest / entry.name).symlink_to(entry)
    return dest


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_setup_cell_installs_the_course_without_touching_torch(tmp_path):
    nb = _nb_tool()
    import torch

    # "Colab": a fresh venv whose preinstalled packages (torch among them) are this checkout's.
    colab = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(colab)], check=True)
    py = colab / "bin" / "python"
    own_site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                   check=True, capture_output=True, text=True).stdout.strip())  # fmt: skip
    pre = _preinstalled(tmp_path / "preinstalled")
    (own_site / "colab_preinstalled.pth").write_text(f"import site; site.addsitedir({str(pre)!r})\n")
    stub = tmp_path / "stub" / "google" / "colab"  # no google/__init__.py: google.protobuf stays importable
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text(
        '"""A stand-in for Colab\'s module: the setup cell only checks that it is imported."""\n'
    )

    # The course, as a learner's Colab clones it: from the repository, here a local copy of it.
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", "--depth=1", f"file://{ROOT}", str(origin)], check=True)
    content = tmp_path / "content"
    content.mkdir()

    setup = next(
        c.source
        for c in nb.build_notebook(ROOT / "notebooks" / "src" / "00_tour.py").cells
        if "setup" in c.metadata.get("tags", [])
    )
    assert setup == nb.SETUP_CELL and "/content/course" in setup
    script = "\n".join([
        "import google.colab  # Colab imports it before any cell runs",
        setup.replace("/content/course", str(content / "course")),
        "import helpers, json, torch",
        "print('RESULT ' + json.dumps({'helpers': helpers.__file__, 'torch': torch.__file__, 'torch_version': torch.__version__,",
        "                              'device': str(device), 'data': os.environ['COURSE_DATA']}))",
    ])  # fmt: skip
    log = tmp_path / "pip.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env.update(
        PYTHONPATH=str(tmp_path / "stub"),
        COURSE_REPO_URL=f"file://{origin}",
        PIP_NO_INDEX="1",  # offline: everything must already be there, as Colab's preinstalled stack is
        PIP_NO_BUILD_ISOLATION="0",  # build with the preinstalled setuptools instead of fetching one
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_LOG=str(log),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
    )
    out = subprocess.run([py, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"setup cell failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}"
    result = json.loads(out.stdout.split("RESULT ", 1)[1])

    assert Path(result["helpers"]).is_relative_to(own_site), "helpers must come from the course the cell installed"
    assert Path(result["torch"]).resolve() == Path(torch.__file__).resolve()  # the preinstalled torch, untouched
    assert Path(result["torch"]).is_relative_to(pre) and result["torch_version"] == torch.__version__
    assert result["data"] == str(content / "course" / "data")
    installed = sorted(p.name for p in own_site.iterdir() if p.name.endswith(".dist-info"))
    assert all(COURSE_DIST.match(n) for n in installed), f"the setup cell installed more than the course: {installed}"
    pip_log = log.read_text(errors="replace")
    for line in re.findall(r"Installing collected packages: (.*)", pip_log) + re.findall(
        r"Uninstalling (\S+)", pip_log
    ):
        assert "torch" not in line.lower(), f"pip touched torch: {line}"
