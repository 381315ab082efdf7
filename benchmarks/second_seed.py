"""Retrain every committed language model with other seeds and re-run the claims of the notebooks that use them.

    PYTHONPATH=. python benchmarks/second_seed.py --seeds 1 2 3 --out /tmp/seeds [--skip-training]
    PYTHONPATH=. python benchmarks/second_seed.py --seeds 1 2 3 --out /tmp/seeds --table-only [--write-doc]

For each seed N:
1. Trains attn0l, attn1l, attn2l and full2l by their recipes (``helpers.recipes``) with ``--seed N``,
   into ``OUT/seedN/data/checkpoints`` (the course's tokenizers are copied next to them).
   ``--models`` trains only some; ``--skip-training`` reuses what is there.
2. Executes notebooks 01-04, 10 and 11 from their sources with ``COURSE_DATA=OUT/seedN/data``, so
   every ``lm_checkpoint`` loads that seed's models, and ``COURSE_CLAIMS=record``, so a claim that
   fails prints ``✘`` and the notebook goes on instead of stopping. The claims go to
   ``OUT/seedN/claims.json``.
3. Prints a markdown table: each claim, with its evidence (the measured values) on the committed
   models (seed 0, read from the committed notebooks' outputs) and on every seed.
   ``Documentation/checkpoints.md`` records the table (issue #22); ``--write-doc`` rewrites it there,
   between the ``seeds:table`` markers.

Training takes about 16 minutes a seed on 2 quiet cores, the notebooks about 4; one job at a time.
"""

from __future__ import annotations

import argparse
import json
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
Claims = dict[str, list[tuple[bool, str, str]]]  # notebook -> [(holds, statement, evidence)]


def train(seed: int, out: Path, threads: int, models: list[str]) -> None:
    from helpers import recipes

    for name in models:
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


def run_notebooks(data: Path, notebooks: list[str]) -> Claims:
    sys.path.insert(0, str(ROOT / "tools"))
    import nb as tool  # tools/nb.py

    os.environ.update(COURSE_DATA=str(data), COURSE_CLAIMS="record", HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    results = {}
    for name in notebooks:
        built = tool.build(ROOT / "notebooks" / "src" / f"{name}.py", notebooks_dir=data.parent)
        tool.run(built, images=False)
        results[name] = claims_of(nbformat.read(built, as_version=4))
        print(f"{name}: {sum(h for h, _, _ in results[name])} of {len(results[name])} claims hold", flush=True)
    return results


def committed_claims() -> Claims:
    """The claims the committed notebooks printed (they load the committed, seed-0 models)."""
    return {name: claims_of(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)) for name in NOTEBOOKS}


def generic(statement: str) -> str:
    """The statement with head and neuron names (``L1H0``, ``L1N507``) and layer numbers written generically: seeds name different heads."""
    statement = re.sub(r"\bL([0-9])H[0-9]+\b", r"L\1Hx", statement)
    statement = re.sub(r"\bL([0-9])N[0-9]+\b", r"L\1Nx", statement)
    return re.sub(r"\blayer [0-9]\b", "layer N", statement)


def table(by_seed: dict[int, Claims]) -> str:
    """One row per claim (in the committed notebooks' order): its evidence on every seed, **✘** where it fails.

    Claims are matched across seeds by their generic statement (head names differ between seeds)."""
    by_seed = {
        seed: {nb: [(h, generic(s), e) for h, s, e in cl] for nb, cl in claims.items()}
        for seed, claims in by_seed.items()
    }
    seeds = sorted(by_seed)
    lines = ["| notebook | claim | " + " | ".join(f"seed {s}" for s in seeds) + " |", "|---|---|" + "---|" * len(seeds)]
    n_fail = 0
    for name in NOTEBOOKS:
        statements = list(dict.fromkeys(s for claims in by_seed.values() for _, s, _ in claims.get(name, [])))
        for statement in statements:
            cells = []
            for seed in seeds:
                found = [(h, e) for h, s, e in by_seed[seed].get(name, []) if s == statement]
                if not found:
                    cells.append("(not run)")
                    continue
                holds, evidence = found[0]
                n_fail += not holds
                cells.append((evidence or "holds") if holds else f"**✘** {evidence}")
            cells = [statement.replace("|", "\\|"), *(c.replace("|", "\\|") for c in cells)]  # a markdown cell
            lines.append(f"| {name[:2]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n{n_fail} failure(s) over {len(seeds)} seeds."


DOC = ROOT / "Documentation" / "checkpoints.md"
START, END = "<!-- seeds:table:start (benchmarks/second_seed.py --write-doc) -->", "<!-- seeds:table:end -->"


def write_doc(text: str, doc: Path = DOC) -> None:
    """Replace what lies between the ``seeds:table`` markers of ``doc`` with ``text`` (atomically)."""
    from helpers.errors import ConfigError
    from helpers.recipes import rewrite_between

    try:
        rewrite_between(doc, START, END, text)
    except ConfigError as e:
        sys.exit(str(e))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="training seeds besides the committed 0")
    ap.add_argument("--out", type=Path, required=True, help="one folder seedN/ per seed goes here")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS), help="train only these")
    ap.add_argument("--skip-training", action="store_true", help="reuse the checkpoints already in OUT")
    ap.add_argument("--notebooks", nargs="+", choices=NOTEBOOKS, default=list(NOTEBOOKS), help="run only these")
    ap.add_argument("--table-only", action="store_true", help="print the table from OUT/seedN/claims.json")
    ap.add_argument("--write-doc", action="store_true", help="also write the table into Documentation/checkpoints.md")
    args = ap.parse_args()
    if 0 in args.seeds:
        ap.error("--seeds: seed 0 is the committed models (its column comes from the committed notebooks); drop 0.")
    by_seed: dict[int, Claims] = {0: committed_claims()}
    for seed in args.seeds:
        folder = args.out / f"seed{seed}"
        if args.table_only:
            by_seed[seed] = {
                k: [tuple(c) for c in v] for k, v in json.loads((folder / "claims.json").read_text()).items()
            }
            continue
        data = folder / "data"
        (data / "checkpoints").mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "data" / "tokenizers", data / "tokenizers", dirs_exist_ok=True)
        if not args.skip_training:
            train(seed, data / "checkpoints", args.threads, args.models)
        saved = folder / "claims.json"  # the notebooks not run this time keep their earlier claims
        earlier = json.loads(saved.read_text()) if saved.exists() else {}
        by_seed[seed] = {k: [tuple(c) for c in v] for k, v in earlier.items()} | run_notebooks(data, args.notebooks)
        saved.write_text(json.dumps(by_seed[seed], indent=1, ensure_ascii=False))
    text = table(by_seed)
    print("\n" + text)
    if args.write_doc:
        write_doc(text)


if __name__ == "__main__":
    main()
