"""How long each small checkpoint takes to reproduce: run its recipe, time it, record it in its card.

    PYTHONPATH=. python benchmarks/recipe_times.py [--threads 2] [--names attn0l attn1l] [--write-cards]

Each recipe (``helpers.recipes``) runs exactly as ``python -m helpers.train recipe NAME`` would, with
``--threads`` instead of the recipe's thread count and into a temporary folder: the committed
checkpoints are never touched. It prints the wall-clock seconds of each run next to the seconds
its committed card records. ``--write-cards`` stores the new figure in each committed card
(``metrics.seconds``, with ``timing`` saying how and the card's old figure kept as
``metrics.seconds_first_run``), then rewrites the table in ``Documentation/checkpoints.md``.

Only meaningful on a quiet machine: check ``uptime`` (load below ~0.5) and run nothing else.
The script prints the load before and after; it refuses ``--write-cards`` when the load before
was 1 or more.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("attn0l", "attn1l", "attn2l", "full2l", "ioi3l")  # the recipes a notebook loads whole (not the grokking run)


def run_recipe(name: str, threads: int, out: Path) -> float:
    """Wall-clock seconds of one recipe's training run (the process, start to saved checkpoint)."""
    from helpers import recipes

    args = recipes.argv(name, out=out, force=True) + ["--threads", str(threads)]
    env = dict(os.environ, COURSE_PROGRESS="plain", HF_HUB_OFFLINE="1")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "helpers.train", *args], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def card_path(name: str) -> Path:
    return ROOT / "data" / "checkpoints" / f"{name}.json"


def write_card(name: str, seconds: float, threads: int, load: float) -> None:
    from helpers.checkpoints import write_atomic

    path = card_path(name)
    text = path.read_text()
    card = json.loads(text)
    metrics = card["metrics"]
    metrics.setdefault("seconds_first_run", metrics["seconds"])
    metrics["seconds"] = round(seconds, 1)
    card["timing"] = (
        f"metrics.seconds: benchmarks/recipe_times.py re-ran this recipe on a quiet 2-core CPU with {threads} threads "
        f"(load {load:.2f} before); metrics.seconds_first_run is the run that made these weights, on a shared CPU"
    )
    second = text.splitlines()[1:2] or ["  "]
    indent = (len(second[0]) - len(second[0].lstrip())) or 2  # keep the card's layout: a small diff
    new = json.dumps(card, indent=indent, sort_keys=True, allow_nan=False) + "\n"
    write_atomic(path, lambda tmp: tmp.write_text(new))  # a reader sees the old card or the new one


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--names", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--write-cards", action="store_true", help="store the seconds in the committed cards")
    a = ap.parse_args()
    load = os.getloadavg()[0]
    if a.write_cards and load >= 1.0:
        print(f"error: load {load:.2f} >= 1: the machine is busy. Fix: wait until `uptime` is below ~0.5.")
        return 2
    print(f"load before: {load:.2f}; {a.threads} threads")
    print("| checkpoint | seconds now | seconds in its card |\n|---|---|---|")
    for name in a.names:
        card = json.loads(card_path(name).read_text())
        with tempfile.TemporaryDirectory() as out:
            seconds = run_recipe(name, a.threads, Path(out))
        print(f"| `{name}` | {seconds:.0f} | {card['metrics']['seconds']:.0f} |", flush=True)
        if a.write_cards:
            write_card(name, seconds, a.threads, load)
    print(f"load after: {os.getloadavg()[0]:.2f}")
    if a.write_cards:
        from helpers import recipes

        recipes.write_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
