"""benchmarks/second_seed.py's table: claims match across seeds whatever heads they name; the doc is rewritten in place."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def second_seed():
    spec = importlib.util.spec_from_file_location("second_seed", ROOT / "benchmarks" / "second_seed.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["second_seed"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_generic_names_heads_neurons_and_layers(second_seed):
    assert second_seed.generic("ablating L1N507 of layer 1 hurts L0H3 and L1H2") == (
        "ablating L1Nx of layer N hurts L0Hx and L1Hx"
    )
    assert second_seed.generic("d_model 128, 4 heads") == "d_model 128, 4 heads"  # nothing else changes


def test_table_matches_claims_that_name_different_heads(second_seed):
    by_seed = {
        0: {
            "03_induction_heads": [(True, "L0H3 is the previous-token head", "0.91")],
            "02_one_layer_attention": [(True, "|x| < 1", "|x| 0.5")],
        },
        1: {"03_induction_heads": [(False, "L0H1 is the previous-token head", "0.40")]},
    }
    text = second_seed.table(by_seed)
    rows = [line for line in text.splitlines() if line.startswith("| 03")]
    assert rows == ["| 03 | L0Hx is the previous-token head | 0.91 | **✘** 0.40 |"], text
    assert "| 02 | \\|x\\| < 1 | \\|x\\| 0.5 | (not run) |" in text  # a | inside a cell is escaped
    assert text.endswith("1 failure(s) over 2 seeds.")


def test_write_doc_replaces_only_between_markers(second_seed, tmp_path):
    group = second_seed.GROUPS["lm"]
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{group.start}\nold table\n{group.end}\nafter\n")
    second_seed.write_doc("new table", group, doc)
    assert doc.read_text() == f"before\n{group.start}\nnew table\n{group.end}\nafter\n"
    doc.write_text("no markers here\n")
    with pytest.raises(SystemExit, match="markers"):
        second_seed.write_doc("new table", group, doc)
    assert doc.read_text() == "no markers here\n"  # nothing lost


@pytest.mark.parametrize("name", ["lm"])  # ioi's table lands with notebook 12's four seeds
def test_the_documented_table_is_complete(second_seed, name):
    group = second_seed.GROUPS[name]
    text = group.doc.read_text()
    table = text.split(group.start, 1)[1].split(group.end, 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| 0") or line.startswith("| 1")]
    notebooks = {row.split("|")[1].strip() for row in rows}
    assert notebooks == {nb[:2] for nb in group.notebooks}, notebooks
    assert all(len(re.split(r"(?<!\\)\|", row)) == 8 for row in rows), "every row has seeds 0-3, its | escaped"


def test_the_documented_table_reads_back_as_the_claims_it_shows(second_seed, tmp_path):
    """A notebook not rerun keeps the evidence the doc recorded: table -> documented_claims -> table is the identity."""
    from dataclasses import replace

    by_seed = {
        0: {"03_induction_heads": [(True, "L0H3 is the previous-token head", "0.91")]},
        1: {
            "03_induction_heads": [(False, "L0H1 is the previous-token head", "0.40 | 0.2")],
            "02_one_layer_attention": [(True, "|x| < 1", "")],
        },
    }
    text = second_seed.table(by_seed)
    group = replace(second_seed.GROUPS["lm"], doc=tmp_path / "doc.md")
    group.doc.write_text(f"intro\n{group.start}\n{text}\n{group.end}\n")
    read = second_seed.documented_claims(group)
    assert read[1]["03_induction_heads"] == [(False, "L0Hx is the previous-token head", "0.40 | 0.2")]
    assert read[1]["02_one_layer_attention"] == [(True, "|x| < 1", "")]
    assert "02_one_layer_attention" not in read[0]  # "(not run)" is no claim
    assert second_seed.table(read) == text


def test_each_group_names_its_committed_seed(second_seed):
    groups = second_seed.GROUPS
    assert groups["lm"].committed_seed == 0 and groups["ioi"].committed_seed == 3
    assert set(groups["lm"].models).isdisjoint(groups["ioi"].models)
    from helpers import recipes

    assert recipes.get("ioi3l").flags["seed"] == groups["ioi"].committed_seed, "the recipe trains the committed seed"
    text = second_seed.table({3: {"12_indirect_object": [(True, "c", "e")]}}, groups["ioi"])
    assert text.splitlines()[0] == "| notebook | claim | seed 3 (committed) |"
