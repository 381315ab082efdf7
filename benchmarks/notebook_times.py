"""Time each notebook's full execution and print a Markdown table (for the README).

    python benchmarks/notebook_times.py                 # every notebook, outputs discarded
    python benchmarks/notebook_times.py notebooks/03_*.ipynb

Runs each notebook in a fresh kernel, as nbval does in CI, without writing it back. Reports
wall-clock seconds and the CPU minutes of the kernel process (user + system), which is what a
laptop pays. Run it on a quiet machine: other load inflates wall time.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient


def time_notebook(path: Path, timeout: int = 1200) -> tuple[float, float]:
    """(wall seconds, kernel CPU minutes) for one execution of ``path``."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    with client.setup_kernel():
        pid = client.km.provisioner.pid if hasattr(client.km, "provisioner") else None
        proc = psutil.Process(pid) if pid else None
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        cpu = proc.cpu_times() if proc else None
    wall = time.perf_counter() - start
    cpu_min = (cpu.user + cpu.system) / 60 if cpu else float("nan")
    return wall, cpu_min


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*", type=Path)
    args = ap.parse_args()
    paths = args.paths or sorted(Path(__file__).resolve().parent.parent.glob("notebooks/*.ipynb"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    rows = []
    for p in paths:
        wall, cpu = time_notebook(p)
        rows.append((p.name, wall, cpu))
        print(f"{p.name}: {wall:.0f} s wall, {cpu:.1f} CPU-min", flush=True)
    print(f"\nOn {os.cpu_count()} cores:\n")
    print("| notebook | wall time | kernel CPU |")
    print("|---|---|---|")
    for name, wall, cpu in rows:
        print(f"| {name} | {wall / 60:.1f} min | {cpu:.1f} CPU-min |")
    print(f"| **total** | {sum(r[1] for r in rows) / 60:.1f} min | {sum(r[2] for r in rows):.1f} CPU-min |")


if __name__ == "__main__":
    main()
