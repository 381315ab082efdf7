"""One named recipe per committed checkpoint: what ``python -m helpers.train recipe NAME`` runs.

A recipe is data: a task and the values of its flags, by config field name (``n_layers``, not
``--layers``). ``argv`` turns it into a ``python -m helpers.train`` command line with the
generated flags (``helpers.cli``); ``tests/test_recipes.py`` checks that each recipe means the
same as the command recorded in its checkpoint's card. The table in
``Documentation/checkpoints.md`` is written from the recipes and the cards:

    python -m helpers.train recipe attn2l --dry-run    # print the command, train nothing
    python -m helpers.train recipe attn2l --out /tmp/ckpt
    python -m helpers.recipes --table                  # rewrite the table in Documentation/checkpoints.md
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from helpers.errors import ArgumentParser, ConfigError, run_cli


@dataclass(frozen=True)
class Recipe:
    task: Literal["lm", "grokking", "select", "ioi"]
    flags: dict[str, Any]  # config field -> value; True for a switch
    notebooks: str
    model: str = ""  # the model column for a checkpoint without a card of its own (the grokking run)
    single_file: bool = True  # NAME.safetensors + NAME.json; False: a folder NAME/ (the grokking run)
    extra: dict[str, Any] = field(default_factory=dict)


LM = {"threads": 1}
RECIPES: dict[str, Recipe] = {
    "attn0l": Recipe("lm", {"n_layers": 0, "n_steps": 1200, "batch_size": 8, "lr": 2e-3, **LM}, "01"),
    "attn1l": Recipe("lm", {"n_layers": 1, "n_steps": 2000, "batch_size": 32, "lr": 3e-3, **LM}, "02, 04"),
    "attn2l": Recipe(
        "lm",
        {
            "n_layers": 2,
            "synthetic_steps": 1000,
            "kickstart_steps": 400,
            "kickstart_vocab": 64,
            "kickstart_lr": 1e-2,
            "n_steps": 1500,
            "batch_size": 32,
            "lr": 3e-3,
            "repeat_frac": 0.25,
            "snapshot_every": 250,
            "track_every": 50,
            "threads": 2,  # the committed run had the machine to itself
        },
        "03, 04",
    ),  # fmt: skip
    "full2l": Recipe(
        "lm",
        {
            "n_layers": 2,
            "d_mlp": 512,
            "normalization_type": "LN",
            "synthetic_steps": 1000,
            "kickstart_steps": 400,
            "kickstart_vocab": 64,
            "kickstart_lr": 1e-3,
            "warmup_without_mlps": True,
            "n_steps": 2000,
            "batch_size": 32,
            "lr": 3e-3,
            "repeat_frac": 0.25,
            "track_every": 100,
            "threads": 2,
        },
        "04",
    ),  # fmt: skip
    "select_median": Recipe(
        "select",
        {"kind": "median", "vocab": 32, "n_heads": 4, "n_steps": 2000, "lr": 3e-3, "seed": 0, "threads": 1},
        "09",
    ),
    "ioi3l": Recipe(
        "ioi",
        {"n_layers": 3, "n_heads": 4, "d_model": 64, "n_steps": 4000, "lr": 3e-3, "seed": 3, "threads": 2},
        "12",
    ),
    "grok_paper_p113": Recipe(
        "grokking",
        {"p": 113, "train_frac": 0.3, "n_steps": 25000, "snapshot_every": 2500, "fp16": True, "threads": 1},
        "06, 07",
        model="1L d_model=128 heads=4 d_mlp=512 (grokking, p = 113, the paper's settings)",
        single_file=False,
    ),
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def argv(name: str, out: str | Path | None = None, force: bool = False) -> list[str]:
    """The ``python -m helpers.train`` arguments of a recipe (task first), writing into folder ``out``.

    ``out=None``: where the committed checkpoint lives (``data/checkpoints``).
    """
    recipe = get(name)
    args = [recipe.task]
    if recipe.task == "lm":
        args += ["--name", name]
    for key, value in recipe.flags.items():
        if value is True:
            args.append(_flag(key))
        elif value is not False and value is not None:
            args += [_flag(key), str(value)]
    if recipe.task == "lm":
        args += ["--out", str(out)] if out is not None else []
    else:
        from helpers.paths import data_dir

        args += ["--out", str(Path(out if out is not None else data_dir() / "checkpoints") / name)]
    return args + (["--force"] if force else [])


def get(name: str) -> Recipe:
    if name not in RECIPES:
        raise ConfigError(f"No recipe {name!r}. Fix: one of {', '.join(sorted(RECIPES))}.")
    return RECIPES[name]


# --- the checkpoint table -----------------------------------------------------------------------

DOC = Path(__file__).resolve().parent.parent / "Documentation" / "checkpoints.md"
START, END = "<!-- recipes:table:start (python -m helpers.recipes --table) -->", "<!-- recipes:table:end -->"


def recorded_command(name: str, folder: Path) -> str:
    """The command recorded with the committed checkpoint (card notes, or the grokking run's metrics.json)."""
    from helpers.checkpoints import read_card

    if not get(name).single_file:
        return json.loads((folder / name / "metrics.json").read_text())["command"]
    notes = str(read_card(folder / f"{name}.json").get("notes", ""))
    match = re.search(r"python -m helpers\.train [^.]*(?:\.\d[^.]*)*", notes)  # up to the sentence's full stop
    return match.group(0).strip() if match else notes


def _grok_summary(folder: Path) -> str:
    record = json.loads((folder / "metrics.json").read_text())
    m = record["metrics"]
    return (
        f"train 100% at step {m['step_train_acc_100']:,}; test 99% at step {m['step_test_acc_99']:,}; "
        f"{m['n_steps_run']:,} steps ({m['ms_per_step']:.0f} ms/step); snapshots at {len(record['snapshot_steps'])} steps"
    )


def table(folder: Path | None = None) -> str:
    """The Markdown table of every recipe and its committed checkpoint."""
    from helpers.checkpoints import metrics_summary, model_summary, read_card
    from helpers.paths import data_dir

    folder = Path(folder) if folder is not None else data_dir() / "checkpoints"
    rows = [
        "| checkpoint | notebooks | model | metrics (from its card) | made by (`python -m helpers.train recipe NAME` runs it) |",
        "|---|---|---|---|---|",
    ]
    for name, recipe in RECIPES.items():
        if recipe.single_file:
            card = read_card(folder / f"{name}.json")
            cells = [f"`{name}`", recipe.notebooks, model_summary(card), metrics_summary(card)]
        else:
            cells = [f"`{name}/`", recipe.notebooks, recipe.model, _grok_summary(folder / name)]
        rows.append("| " + " | ".join(cells + [f"`{recorded_command(name, folder)}`"]) + " |")
    return "\n".join(rows)


def rewrite_between(doc: Path, start: str, end: str, text: str) -> bool:
    """Replace what lies between the markers ``start`` and ``end`` of ``doc`` with ``text`` (an atomic
    write, only if it changes); True if the file changed. Also ``benchmarks/second_seed.py``'s table."""
    from helpers.checkpoints import write_atomic

    old = doc.read_text()
    if start not in old or end not in old:
        raise ConfigError(f"{doc} lacks the markers {start} ... {end}. Fix: put them where the table goes.")
    head, rest = old.split(start, 1)
    new = head + start + "\n" + text + "\n" + end + rest.split(end, 1)[1]
    if new != old:
        write_atomic(doc, lambda p: p.write_text(new))
    return new != old


def write_table(doc: Path = DOC, folder: Path | None = None) -> bool:
    """Rewrite the table between the markers in ``doc``; True if the file changed."""
    return rewrite_between(doc, START, END, table(folder))


# --- commands -----------------------------------------------------------------------------------


def cli_main(argv_: list[str] | None = None) -> int:
    """``python -m helpers.train recipe NAME [--out DIR] [--force] [--dry-run]``: reproduce a committed checkpoint."""
    return run_cli(_recipe_cli, argv_)


def _recipe_cli(args: list[str]) -> int:
    ap = ArgumentParser(prog="python -m helpers.train recipe", description=cli_main.__doc__)
    ap.add_argument("name", choices=sorted(RECIPES), help="the checkpoint to reproduce")
    ap.add_argument("--out", type=Path, default=None, help="write into this folder (default: data/checkpoints)")
    ap.add_argument("--force", action="store_true", help="replace the checkpoint already there")
    ap.add_argument("--dry-run", action="store_true", help="print the command and train nothing")
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    a = ap.parse_args(args)
    command = argv(a.name, a.out, a.force) + (["--debug"] if a.debug else [])
    print("python -m helpers.train " + shlex.join(command), flush=True)
    if a.dry_run:
        return 0
    from helpers import train

    return train.main(command)


def main(args: list[str] | None = None) -> int:
    """``python -m helpers.recipes [--table]``: list the recipes, or rewrite Documentation/checkpoints.md's table."""

    def _main(args: list[str]) -> int:
        ap = ArgumentParser(prog="python -m helpers.recipes", description=main.__doc__)
        ap.add_argument(
            "--table", action="store_true", help=f"rewrite the table in {DOC.name} from the recipes and cards"
        )
        ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
        if ap.parse_args(args).table:
            print(f"{DOC}: {'rewritten' if write_table() else 'already up to date'}")
        else:
            for name in RECIPES:
                print(f"{name:16s} python -m helpers.train {shlex.join(argv(name))}")
        return 0

    return run_cli(_main, args)


if __name__ == "__main__":
    sys.exit(main())
