"""Retrain every committed language model with another seed and re-run the claims of the notebooks that use them.

    PYTHONPATH=. python benchmarks/second_seed.py --seed 1 --out /tmp/seed1 [--skip-training]

1. Trains attn0l, attn1l, attn2l and full2l by their recipes (``helpers.recipes``) with ``--seed``,
   into ``OUT/data/checkpoints`` (the course's tokenizers are copied next to them).
2. Executes notebooks 01-04, 10 and 11 from their sources with ``COURSE_DATA=OUT/data``, so every
   ``lm_checkpoint`` loads the new models, and ``COURSE_CLAIMS=record``, so a claim that fails
   prints ``✘`` and the notebook goes on instead of stopping.
3. Prints a markdown table: each claim, and whether it holds on the committed models and on
   the new seed. ``Documentation/checkpoints.md`` records the table (issue #17).

Training takes about 15 minutes on 2 quiet cores; one job at a time.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
MODELS = ("attn0l", "attn1l", "attn2l", "full2l")
NOTEBOOKS = (
    "01_bigram",
    "02_one_layer_attention",
    "03_induction_heads",
    "04_full_transformer",
    "10_superposition_saes",  # an SAE on attn2l
    "11_attribution_patching",  # attn2l's circuit
)
CLAIM = re.compile(r"^([✔✘]) (.*?)(?:  \((.*)\))?$")


def train(seed: int, out: Path, threads: int) -> None:
    from helpers import recipes

    for name in MODELS:
        args = recipes.argv(name, out=out, force=True) + ["--seed", str(seed), "--threads", str(threads)]
        print("$ python -m helpers.train", " ".join(args), flush=True)
        subprocess.run([sys.executable, "-m", "helpers.train", *args], check=True, cwd=ROOT)


def claims_of(nb: nbformat.NotebookNode) -> list[tuple[bool, str, str]]:
    """Every ✔ / ✘ claim line a notebook printed: (holds, statement, evidence)."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for line in str(out.get("text", "")).splitlines():
                m = CLAIM.match(line)
                if m and not re.match(r"^\S+: correct on", m.group(2)):  # skip exercise checks
                    found.append((m.group(1) == "✔", m.group(2), m.group(3) or ""))
    return found


def run_notebooks(data: Path) -> dict[str, list[tuple[bool, str, str]]]:
    sys.path.insert(0, str(ROOT / "tools"))
    import nb as tool  # tools/nb.py

    os.environ.update(COURSE_DATA=str(data), COURSE_CLAIMS="record", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    results = {}
    for name in NOTEBOOKS:
        built = tool.build(ROOT / "notebooks" / "src" / f"{name}.py", notebooks_dir=data.parent)
        tool.run(built, images=False)
        results[name] = claims_of(nbformat.read(built, as_version=4))
        print(f"{name}: {sum(h for h, _, _ in results[name])} of {len(results[name])} claims hold", flush=True)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-training", action="store_true", help="reuse the checkpoints already in OUT")
    args = ap.parse_args()
    data = args.out / "data"
    (data / "checkpoints").mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "data" / "tokenizers", data / "tokenizers", dirs_exist_ok=True)
    if not args.skip_training:
        train(args.seed, data / "checkpoints", args.threads)
    new = run_notebooks(data)
    print(f"\n| notebook | claim | committed models (seed 0) | seed {args.seed} |\n|---|---|---|---|")
    for name in NOTEBOOKS:
        committed = {s: h for h, s, _ in claims_of(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4))}
        for holds, statement, evidence in new[name]:
            mark = "holds" if holds else f"**fails** ({evidence})"
            print(f"| {name[:2]} | {statement} | {'holds' if committed.get(statement) else '?'} | {mark} |")


if __name__ == "__main__":
    main()
