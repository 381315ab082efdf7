"""Retrain every committed model with other seeds and re-run the claims of the notebooks that use them.

    PYTHONPATH=. python benchmarks/second_seed.py --seeds 1 2 3 --out /tmp/seeds [--skip-training]
    PYTHONPATH=. python benchmarks/second_seed.py --seeds 1 2 3 --out /tmp/seeds --table-only [--write-doc]
    PYTHONPATH=. python benchmarks/second_seed.py --group ioi --seeds 0 1 2 --out /tmp/seeds [--write-doc]

Two groups of notebooks, each with the models they load and the seed its committed checkpoints
were trained with: ``lm`` (notebooks 01-04, 10 and 11; attn0l, attn1l, attn2l and full2l; seed 0)
and ``ioi`` (notebook 12; ioi3l; seed 3). For each other seed N:
1. Trains the group's models by their recipes (``helpers.recipes``) with ``--seed N``,
   into ``OUT/seedN/data/checkpoints`` (the course's tokenizers are copied next to them).
   ``--models`` trains only some; ``--skip-training`` reuses what is there.
2. Executes the group's notebooks from their sources with ``COURSE_DATA=OUT/seedN/data``, so
   every checkpoint they load is that seed's, and ``COURSE_CLAIMS=record``, so a claim that
   fails prints ``✘`` and the notebook goes on instead of stopping. The claims go to
   ``OUT/seedN/claims.json``; a notebook not run this time keeps the claims recorded there, or
   else those of the documented table.
3. Prints a markdown table: each claim, with its evidence (the measured values) on the committed
   models (read from the committed notebooks' outputs) and on every seed.
   ``Documentation/checkpoints.md`` (lm) and ``Documentation/ioi.md`` (ioi) record the tables
   (issues #22, #23); ``--write-doc`` rewrites the group's table there, between its markers.

Training the lm group takes about 20 minutes a seed on 2 quiet cores, its notebooks about 4; the
ioi group about 1.5 and 1. One job at a time: other jobs on the same cores make it 10x slower.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Group:
    models: tuple[str, ...]
    notebooks: tuple[str, ...]
    committed_seed: int  # the seed of the committed checkpoints: its column comes from the committed notebooks
    doc: Path
    start: str  # the markers around the table in ``doc``
    end: str


GROUPS = {
    "lm": Group(
        models=("attn0l", "attn1l", "attn2l", "full2l"),
        notebooks=(
            "01_bigram",
            "02_one_layer_attention",
            "03_induction_heads",
            "04_full_transformer",
            "10_superposition_saes",  # an SAE on attn2l
            "11_attribution_patching",  # attn2l's circuit
        ),
        committed_seed=0,
        doc=ROOT / "Documentation" / "checkpoints.md",
        start="<!-- seeds:table:start (benchmarks/second_seed.py --write-doc) -->",
        end="<!-- seeds:table:end -->",
    ),
    "ioi": Group(
        models=("ioi3l",),
        notebooks=("12_indirect_object",),
        committed_seed=3,  # of seeds 0-3, the clearest name mover (Documentation/ioi.md)
        doc=ROOT / "Documentation" / "ioi.md",
        start="<!-- ioi:table:start (benchmarks/second_seed.py --group ioi --write-doc) -->",
        end="<!-- ioi:table:end -->",
    ),
}
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


def committed_claims(group: Group = GROUPS["lm"]) -> Claims:
    """The claims the committed notebooks printed (they load the committed checkpoints)."""
    return {
        name: claims_of(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)) for name in group.notebooks
    }


def generic(statement: str) -> str:
    """The statement with head and neuron names (``L1H0``, ``L1N507``) and layer numbers written generically: seeds name different heads."""
    statement = re.sub(r"\bL([0-9])H[0-9]+\b", r"L\1Hx", statement)
    statement = re.sub(r"\bL([0-9])N[0-9]+\b", r"L\1Nx", statement)
    return re.sub(r"\blayer [0-9]\b", "layer N", statement)


def table(by_seed: dict[int, Claims], group: Group = GROUPS["lm"]) -> str:
    """One row per claim (in the committed notebooks' order): its evidence on every seed, **✘** where it fails.

    Claims are matched across seeds by their generic statement (head names differ between seeds)."""
    by_seed = {
        seed: {nb: [(h, generic(s), e) for h, s, e in cl] for nb, cl in claims.items()}
        for seed, claims in by_seed.items()
    }
    seeds = sorted(by_seed)
    heads = [f"seed {s}" + (" (committed)" if s == group.committed_seed else "") for s in seeds]
    lines = ["| notebook | claim | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(seeds)]
    n_fail = 0
    for name in group.notebooks:
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


def documented_claims(group: Group) -> dict[int, Claims]:
    """The claims the group's documented table holds, by seed (the inverse of ``table``; statements generic)."""
    text = group.doc.read_text()
    if group.start not in text or group.end not in text:
        return {}
    rows = [r for r in text.split(group.start, 1)[1].split(group.end, 1)[0].splitlines() if r.startswith("| ")]
    split = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", r)[1:-1]] for r in rows]
    seeds = [int(h.split()[1]) for h in split[0][2:]] if split else []
    by_seed: dict[int, Claims] = {seed: {} for seed in seeds}
    for number, statement, *cells in split[1:]:  # after the header (the |---| row is not kept)
        name = next(n for n in group.notebooks if n.startswith(number))
        for seed, cell in zip(seeds, cells):
            if cell != "(not run)":
                holds = not cell.startswith("**✘**")
                evidence = cell if holds else cell.removeprefix("**✘**").strip()
                by_seed[seed].setdefault(name, []).append((holds, statement, "" if evidence == "holds" else evidence))
    return by_seed


def write_doc(text: str, group: Group = GROUPS["lm"], doc: Path | None = None) -> None:
    """Replace what lies between the group's markers in its doc (or ``doc``) with ``text`` (atomically)."""
    from helpers.errors import ConfigError
    from helpers.recipes import rewrite_between

    try:
        rewrite_between(doc or group.doc, group.start, group.end, text)
    except ConfigError as e:
        sys.exit(str(e))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", choices=GROUPS, default="lm", help="lm: notebooks 01-04, 10, 11; ioi: notebook 12")
    ap.add_argument("--seeds", type=int, nargs="+", default=[1], help="training seeds besides the committed one")
    ap.add_argument("--out", type=Path, required=True, help="one folder seedN/ per seed goes here")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", help="train only these of the group's models")
    ap.add_argument("--skip-training", action="store_true", help="reuse the checkpoints already in OUT")
    ap.add_argument("--notebooks", nargs="+", help="run only these of the group's notebooks")
    ap.add_argument("--table-only", action="store_true", help="print the table from OUT/seedN/claims.json")
    ap.add_argument("--write-doc", action="store_true", help="also write the table into the group's doc")
    args = ap.parse_args()
    group = GROUPS[args.group]
    for flag, given, known in (
        ("--models", args.models, group.models),
        ("--notebooks", args.notebooks, group.notebooks),
    ):
        if given and not set(given) <= set(known):
            ap.error(f"{flag}: the {args.group} group has {', '.join(known)}; got {', '.join(given)}.")
    if group.committed_seed in args.seeds:
        ap.error(
            f"--seeds: seed {group.committed_seed} made the committed checkpoints (its column comes from the "
            f"committed notebooks); drop {group.committed_seed}."
        )
    documented = documented_claims(group)
    by_seed: dict[int, Claims] = {group.committed_seed: committed_claims(group)}
    for seed in args.seeds:
        folder = args.out / f"seed{seed}"
        saved = folder / "claims.json"  # the notebooks not run this time keep their earlier claims
        earlier = documented.get(seed, {}) | (json.loads(saved.read_text()) if saved.exists() else {})
        earlier = {k: [tuple(c) for c in v] for k, v in earlier.items()}
        if args.table_only:
            by_seed[seed] = earlier
            continue
        data = folder / "data"
        (data / "checkpoints").mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "data" / "tokenizers", data / "tokenizers", dirs_exist_ok=True)
        if not args.skip_training:
            train(seed, data / "checkpoints", args.threads, args.models or list(group.models))
        by_seed[seed] = earlier | run_notebooks(data, args.notebooks or list(group.notebooks))
        saved.write_text(json.dumps(by_seed[seed], indent=1, ensure_ascii=False))
    text = table(by_seed, group)
    print("\n" + text)
    if args.write_doc:
        write_doc(text, group)


if __name__ == "__main__":
    main()
