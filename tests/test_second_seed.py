"""benchmarks/second_seed.py's table: claims match across seeds whatever heads they name; the doc is rewritten in place."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def second_seed():
    spec = importlib.util.spec_from_file_location("second_seed", ROOT / "benchmarks" / "second_seed.py")
    module = importlib.util.module_from_spec(spec)
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
    doc = tmp_path / "doc.md"
    doc.write_text(f"before\n{second_seed.START}\nold table\n{second_seed.END}\nafter\n")
    second_seed.write_doc("new table", doc)
    assert doc.read_text() == f"before\n{second_seed.START}\nnew table\n{second_seed.END}\nafter\n"
    doc.write_text("no markers here\n")
    with pytest.raises(SystemExit, match="markers"):
        second_seed.write_doc("new table", doc)
    assert doc.read_text() == "no markers here\n"  # nothing lost


def test_the_documented_table_is_complete(second_seed):
    text = (ROOT / "Documentation" / "checkpoints.md").read_text()
    table = text.split(second_seed.START, 1)[1].split(second_seed.END, 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| 0") or line.startswith("| 1")]
    notebooks = {row.split("|")[1].strip() for row in rows}
    assert notebooks == {"01", "02", "03", "04", "10", "11"}, notebooks
    assert all(len(re.split(r"(?<!\\)\|", row)) == 8 for row in rows), "every row has seeds 0-3, its | escaped"
