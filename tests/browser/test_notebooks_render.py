"""The committed notebooks, as a learner on a fresh clone sees them: JupyterLab in headless Chromium.

    pytest -m browser                      # just these (about 2-3 minutes on 2 cores)
    COURSE_NOTEBOOKS="notebooks/03_*.ipynb" pytest -m browser    # a subset, or notebooks elsewhere

JupyterLab serves a copy of the notebooks on 127.0.0.1 (nothing in the checkout is written);
Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright; ``make chromium`` installs it)
opens each one *untrusted*, as a fresh clone opens, with every host name but loopback unresolvable,
so anything fetched from the network fails. It fails when
- a stored plotly figure does not render, or renders tiny;
- an attention view (a circuitsvis output) or any other HTML output is blank;
- a widget shows an error;
- a reference solution (a cell tagged ``solution``) is visible;
- the page asks the network for anything (but the Colab badge's image, which is only a link).
``test_attention_view_runs_offline`` runs a two-cell notebook in the live kernel: circuitsvis's
interactive views must draw with no network (their JavaScript comes from the installed package).
``test_figures_carry_images`` (no browser) checks that every stored plotly figure also carries a
PNG, so GitHub, nbviewer and nbconvert show it: ``python tools/nb.py run`` stores them.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")
PLOTLY_MIME = "application/vnd.plotly.v1+json"
NOTEBOOKS = sorted(
    Path(p).resolve()
    for p in glob.glob(os.environ.get("COURSE_NOTEBOOKS", str(ROOT / "notebooks" / "[0-9][0-9]_*.ipynb")))
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # offline: only loopback resolves
]

BADGE = "https://colab.research.google.com/assets/colab-badge.svg"  # a link's picture; offline, its alt text shows

pytestmark = pytest.mark.browser

# What the page shows, measured in the browser. Cells are attached all at once (windowingMode
# none), so the i-th .jp-Cell is the notebook's i-th cell.
INSPECT_JS = r"""(solutionCells) => {
  const root = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  const q = (s, el) => Array.from((el || root).querySelectorAll(s));
  const text = e => (e.innerText || '').trim();
  const short = s => s.replace(/\s+/g, ' ').trim().slice(0, 160);
  const tall = e => { const r = e.getBoundingClientRect(); return r.height > 5 && r.width > 5; };
  const plots = q('.js-plotly-plot');
  const cells = q('.jp-Cell');
  return {
    cells: cells.length,
    plotly: plots.length,
    plotly_tiny: plots.filter(p => { const r = p.getBoundingClientRect(); return r.width < 100 || r.height < 100; }).length,
    plotly_empty: plots.filter(p => !p.querySelector('.main-svg')).length,
    images: q('.jp-OutputArea-output .jp-RenderedImage img, .jp-RenderedPlotly img.plot-img[src^="data:"]').length,
    images_broken: q('.jp-OutputArea-output .jp-RenderedImage img, .jp-RenderedPlotly img.plot-img[src^="data:"]')
      .filter(i => !i.complete || !i.naturalWidth || !tall(i)).length,
    blank_html: q('.jp-OutputArea-output[data-mime-type="text/html"]').filter(o => {
      const kids = q('*', o).filter(e => !['SCRIPT', 'STYLE'].includes(e.tagName));
      return !tall(o) || !kids.length || (!text(o) && !o.querySelector('img, svg, canvas, iframe, video, td[style]'));
    }).map(o => short(o.innerHTML)),
    attention_views: q('.course-circuitsvis').length,
    attention_blank: q('.course-circuitsvis').filter(v => {
      const painted = q('td[style*="background"], span[style*="background"]', v).filter(tall).length
                      + q('canvas, svg', v).filter(tall).length;
      return !tall(v) || painted === 0;
    }).length,
    widget_errors: q('.jp-OutputArea-output').map(text)
      .filter(t => /Error displaying widget|model not found|Failed to (load|create) (model|view)/i.test(t)).map(short),
    solutions_visible: solutionCells.filter(i => {
      const ed = cells[i] && cells[i].querySelector('.jp-InputArea-editor');
      return ed && tall(ed);
    }),
  };
}"""


def _stored(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    outs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    return {
        "plotly": sum(PLOTLY_MIME in o.get("data", {}) for o in outs),
        "figures": sum(PLOTLY_MIME in o.get("data", {}) or "image/png" in o.get("data", {}) for o in outs),
        "solutions": [i for i, c in enumerate(nb["cells"]) if "solution" in c.get("metadata", {}).get("tags", [])],
        "cells": len(nb["cells"]),
    }


LIVE = "_live_attention_view.ipynb"


def _write_live_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import torch\nfrom helpers import plots\n"
            "pattern = torch.tensor([[1.0, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]).expand(2, 3, 3)\n"
            "plots.attention_heads(pattern, ['<bos>', ' cat', '\\n'])"
        ),
        nbformat.v4.new_code_cell("plots.colored_tokens(['a', ' b', 'c'], [0.5, -1.0, 2.0])"),
    ]
    nbformat.write(nb, path)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a process this test started, and its process group (kernels), by id."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 serving a copy of the notebooks; yields its base URL and folder."""
    if not NOTEBOOKS:
        pytest.fail(f"no notebooks match {os.environ.get('COURSE_NOTEBOOKS', 'notebooks/NN_*.ipynb')}")
    tmp = tmp_path_factory.mktemp("lab")
    served = tmp / "nb"
    served.mkdir()
    for nb in NOTEBOOKS:
        shutil.copy(nb, served / nb.name)
    _write_live_notebook(served / LIVE)
    settings = {
        "notebook-extension/tracker": {"windowingMode": "none"},  # attach every cell
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }
    for rel, value in settings.items():
        f = tmp / "config/lab/user-settings/@jupyterlab" / f"{rel}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(value))
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "config/lab/user-settings"),
        IPYTHONDIR=str(tmp / "ipython"),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
    )
    port = _free_port()
    log = open(tmp / "jupyterlab.log", "wb")  # noqa: SIM115 - closed below
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--allow-root",
        f"--ServerApp.root_dir={served}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    proc = subprocess.Popen(
        cmd, cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        t0 = time.time()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited ({proc.returncode}); see {tmp / 'jupyterlab.log'}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{base}/api/status", timeout=5).read()
                break
            if time.time() - t0 > 120:
                pytest.fail(f"JupyterLab did not answer within 120 s; see {tmp / 'jupyterlab.log'}")
            time.sleep(0.5)
        yield base, served
    finally:
        _stop(proc)
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run `make chromium` (apt-get install chromium), or set COURSE_CHROMIUM"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements.txt (playwright)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


FIGURES_JS = """() => {
  const q = s => Array.from(document.querySelectorAll(s));
  return q('.js-plotly-plot').filter(p => p.querySelector('.main-svg')).length
       + q('.jp-RenderedImage img, .jp-RenderedPlotly img.plot-img[src^="data:"]').filter(i => i.complete && i.naturalWidth).length;
}"""


def _wait_for_figures(page, expected: int, limit: float = 120) -> None:
    """Until the stored figures have rendered (as plotly or as their PNG), or, once some have,
    their number stops changing for 15 s (a slow machine may take a while to start)."""
    t0, last, since = time.time(), -1, time.time()
    while time.time() - t0 < limit:
        n = page.evaluate(FIGURES_JS)
        if n != last:
            last, since = n, time.time()
        if (n >= expected and time.time() - since > 1) or (n > 0 and time.time() - since > 15):
            return
        time.sleep(0.5)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_renders_offline(path, lab, browser):
    lab, served = lab
    stored = _stored(served / path.name)  # the copy JupyterLab serves, even if the checkout changes meanwhile
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    external, page_errors = [], []
    page.on(
        "request",
        lambda r: (
            urllib.parse.urlsplit(r.url).hostname not in ("127.0.0.1", None)
            and r.url.split(":")[0] in ("http", "https", "ws", "wss")
            and external.append(r.url[:160])
        ),
    )
    page.on("pageerror", lambda e: page_errors.append(str(e)[:200]))
    try:
        page.goto(f"{lab}/lab/tree/{urllib.parse.quote(path.name)}?reset", timeout=120_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=120_000)
        page.wait_for_function(
            f"() => document.querySelectorAll('.jp-NotebookPanel .jp-Cell').length >= {stored['cells']}", timeout=60_000
        )
        _wait_for_figures(page, stored["figures"])
        page.wait_for_timeout(500)
        seen = page.evaluate(INSPECT_JS, stored["solutions"])
        page.evaluate("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.shutdown()")  # free the kernel
        page.wait_for_timeout(300)
    finally:
        ctx.close()
    problems = []
    # In an untrusted notebook (a fresh clone) plotly's renderer shows a figure's stored PNG when
    # it has one; once its cell runs (or the notebook is trusted), the interactive figure.
    if seen["plotly"] + seen["images"] != stored["figures"] or seen["images_broken"]:
        problems.append(
            f"{seen['plotly']} plotly figures and {seen['images'] - seen['images_broken']} images rendered "
            f"of {stored['figures']} stored figures"
        )
    if seen["plotly_tiny"] or seen["plotly_empty"]:
        problems.append(f"{seen['plotly_tiny']} plotly figures tiny, {seen['plotly_empty']} without a plot")
    if seen["attention_blank"]:
        problems.append(f"{seen['attention_blank']} of {seen['attention_views']} attention views blank")
    problems += [f"blank HTML output: {h!r}" for h in seen["blank_html"]]
    problems += [f"widget error: {w!r}" for w in seen["widget_errors"]]
    if seen["solutions_visible"]:
        problems.append(f"reference solutions visible in cells {seen['solutions_visible']}")
    problems += [f"network request: {u}" for u in sorted(set(external) - {BADGE})]
    assert not problems, f"{path.name}: " + "; ".join(problems)


LIVE_JS = """() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .course-circuitsvis'))
  .map(v => ({drawn: v.firstElementChild.childElementCount, text: v.firstElementChild.innerText.slice(0, 80),
              static_shown: getComputedStyle(v.children[1]).display !== 'none'}))"""


def test_attention_view_runs_offline(lab, browser):
    """Run cells that make circuitsvis views: they draw in the page, offline, and hide the picture."""
    lab, _ = lab
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    external = []
    page.on(
        "request",
        lambda r: (
            urllib.parse.urlsplit(r.url).hostname not in ("127.0.0.1", None)
            and r.url.split(":")[0] in ("http", "https", "ws", "wss")
            and external.append(r.url[:160])
        ),
    )
    try:
        page.goto(f"{lab}/lab/tree/{LIVE}?reset", timeout=120_000)
        page.wait_for_function(
            "() => window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel?.status === 'idle'",
            timeout=180_000,
        )
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_function(
            f"() => ({LIVE_JS})().length === 2 && ({LIVE_JS})().every(v => v.drawn > 0 && !v.static_shown)",
            timeout=180_000,
        )
        views = page.evaluate(LIVE_JS)
        page.evaluate("() => window.jupyterapp?.shell.currentWidget?.sessionContext?.shutdown()")
        page.wait_for_timeout(300)
    finally:
        ctx.close()
    assert "Head Selector" in views[0]["text"], views  # circuitsvis's AttentionHeads drew itself
    assert "b" in views[1]["text"], views  # ColoredTokens shows the tokens
    assert not external, f"the live views asked the network for {external}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_figures_carry_images(path):
    """Every stored plotly figure also stores a PNG, for GitHub, nbviewer and nbconvert."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    outs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    figures = [o for o in outs if PLOTLY_MIME in o.get("data", {})]
    without = sum("image/png" not in o["data"] for o in figures)
    assert not without, (
        f"{path.name}: {without} of {len(figures)} plotly figures have no PNG; rebuild with "
        f"`python tools/nb.py run {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}`"
    )
