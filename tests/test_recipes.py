"""Recipes as data: one per committed checkpoint, meaning the same as the command recorded with it."""

import shlex

import pytest

from helpers import algorithmic, ioi_model, lm, recipes, train
from helpers.grokking import cli as grok_cli
from helpers.paths import data_dir

PARSERS = {"lm": lm._parser, "grokking": grok_cli._parser, "select": algorithmic._parser, "ioi": ioi_model._parser}
FOLDER = data_dir() / "checkpoints"


def _parse(args: list[str]) -> dict:
    parser, _ = PARSERS[args[0]]()
    ns = vars(parser.parse_args(args[1:]))
    ns.pop("out")  # compared on its own: the recorded commands use relative paths
    return ns


def test_every_committed_checkpoint_has_a_recipe_and_every_recipe_a_checkpoint():
    committed = {p.stem for p in FOLDER.glob("*.safetensors") if not p.stem.endswith("_snapshots")}
    committed |= {p.name for p in FOLDER.iterdir() if (p / "metrics.json").exists()}
    assert committed == set(recipes.RECIPES)


@pytest.mark.parametrize("name", list(recipes.RECIPES))
def test_a_recipe_means_the_recorded_command(name):
    recorded = shlex.split(recipes.recorded_command(name, FOLDER))[3:]  # after "python -m helpers.train"
    built = recipes.argv(name)
    assert _parse(built) == _parse(recorded)
    out = [a for a, b in zip(built, built[1:] + [""]) if a == "--out"]
    if recipes.get(name).task != "lm":  # a checkpoint path (select) or a run folder (grokking), named after the recipe
        assert built[built.index("--out") + 1].endswith("checkpoints/" + name)
    else:
        assert not out  # lm writes to data/checkpoints by default


def test_recipe_dry_run_prints_the_command_and_trains_nothing(tmp_path, capsys):
    assert train.main(["recipe", "attn2l", "--out", str(tmp_path), "--dry-run"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("python -m helpers.train lm --name attn2l") and f"--out {tmp_path}" in line
    assert not list(tmp_path.iterdir())
    assert train.main(["recipe", "nope", "--dry-run"]) == 2


def test_the_checkpoint_table_in_the_documentation_is_up_to_date(tmp_path):
    doc = tmp_path / "checkpoints.md"
    doc.write_text(recipes.DOC.read_text())
    assert not recipes.write_table(doc), "Documentation/checkpoints.md is stale: run python -m helpers.recipes --table"
