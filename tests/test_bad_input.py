"""Bad input to every entry point (issue #14): one line naming the flag and the fix, exit != 0, no traceback.

Each row runs a command in-process through its ``main(argv)``; every row fails before any training,
so the table runs in seconds. Documentation/bad_input.md lists the same rejections for users.
"""

import json
import socket
import time

import pytest
import torch

from helpers import checkpoints, data, report, train
from helpers.errors import ConfigError

GROK = ["grokking", "--threads", "1"]
LM = ["lm", "--name", "x"]
SELECT = ["select", "--kind", "min"]

# (argv of python -m helpers.train, text the message must hold: the flag as typed)
TRAIN_ROWS = [
    (LM + ["--heads", "0"], "--heads"),
    (LM + ["--threads", "0"], "--threads"),
    (LM + ["--n-ctx", "1"], "--n-ctx"),
    (LM + ["--repeat-frac", "1"], "--repeat-frac"),
    (LM + ["--synthetic-steps", "-3"], "--synthetic-steps"),
    (LM + ["--synthetic-steps", "10", "--kickstart-steps", "20"], "--kickstart-steps"),
    (LM + ["--synthetic-steps", "10", "--kickstart-steps", "5", "--kickstart-vocab", "1"], "--kickstart-vocab"),
    (LM + ["--synthetic-steps", "10", "--kickstart-steps", "5", "--kickstart-lr", "0"], "--kickstart-lr"),
    (LM + ["--weight-decay", "nan"], "--weight-decay"),
    (LM + ["--lr", "inf"], "--lr"),
    (LM + ["--steps", "0"], "--steps"),
    (LM + ["--steps", "5", "--warmup", "10"], "--warmup"),
    (LM + ["--steps", "abc"], "--steps"),
    (LM + ["--vocab-size", "10"], "--vocab-size"),
    (["lm", "--name", "../attn1l"], "--name"),
    (["lm", "--name", "attn2l"], "--force"),  # the committed checkpoint
    (["lm", "--name", "x", "--out", "/proc/no/such/folder"], "--out"),
    (GROK + ["--prime", "8", "--out", "{tmp}"], "--prime"),
    (GROK + ["--prime", "7", "--train-frac", "0.01", "--out", "{tmp}"], "--train-frac"),
    (GROK + ["--lr", "inf", "--out", "{tmp}"], "--lr"),
    (GROK + ["--lr", "nan", "--out", "{tmp}"], "--lr"),
    (GROK + ["--grokfast-alpha", "0.9", "--grokfast-lambda", "nan", "--out", "{tmp}"], "--grokfast-lambda"),
    (GROK + ["--weight-decay", "nan", "--out", "{tmp}"], "--weight-decay"),
    (GROK + ["--epochs", "0", "--out", "{tmp}"], "--epochs"),
    (GROK + ["--eval-every", "10", "--checkpoint-every", "15", "--out", "{tmp}"], "--checkpoint-every"),
    (GROK + ["--beta2", "1", "--out", "{tmp}"], "--beta2"),
    (["grokking", "--threads", "0", "--out", "{tmp}"], "--threads"),
    (GROK + ["--epochs", "10"], "--out"),
    (GROK + ["--out", "/proc/no/such/folder"], "--out"),
    (GROK + ["--out", "{tmp}/a_file"], "--out"),
    (GROK + ["--out", "{tmp}", "--resume"], "--resume"),
    (GROK + ["--out", "{tmp}", "--resume", "--force"], "--force"),
    (SELECT + ["--heads", "0"], "--heads"),
    (SELECT + ["--d-model", "64", "--heads", "3"], "--heads"),
    (SELECT + ["--n", "1"], "--n"),
    (SELECT + ["--n-train", "0"], "--n-train"),
    (SELECT + ["--steps", "0"], "--steps"),
    (SELECT + ["--lr", "nan"], "--lr"),
    (SELECT + ["--threads", "-1"], "--threads"),
    (SELECT + ["--json", "/proc/no/such/folder/results.jsonl"], "--json"),
    (SELECT + ["--json", "{tmp}"], "--json"),
    (SELECT + ["--out", "{tmp}/../"], "--out"),
    (["select", "--kind", "max"], "--kind"),
]  # fmt: skip


def _one_clean_line(err: str) -> str:
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("argv, flag", TRAIN_ROWS, ids=[" ".join(r[0]) for r in TRAIN_ROWS])
def test_train_rejects_bad_input_in_one_line(argv, flag, tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    before = sorted(p.name for p in tmp_path.iterdir())
    assert train.main(argv) != 0
    captured = capsys.readouterr()
    assert flag in _one_clean_line(captured.err)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, nothing trained
    assert "step " not in captured.out


def test_debug_shows_the_traceback(monkeypatch):
    with pytest.raises(ConfigError, match="--heads"):
        train.main(["lm", "--name", "x", "--heads", "0", "--debug"])
    monkeypatch.setenv("COURSE_DEBUG", "1")
    with pytest.raises(ConfigError, match="--prime"):
        train.main(["grokking", "--prime", "8", "--out", "unused"])


@pytest.mark.parametrize(
    "main, argv, flag",
    [(checkpoints.main, ["/no/such/folder"], "/no/such/folder"), (report.main, ["--max-figures", "-1"], "--max-figures"),
     (report.main, ["--root", "/no/such/root"], "--root"), (data.main, ["--vocab-size", "10"], "--vocab-size")],
)  # fmt: skip
def test_other_commands_reject_bad_input_in_one_line(main, argv, flag, capsys):
    assert main(argv) != 0
    assert flag in _one_clean_line(capsys.readouterr().err)


def test_report_with_negative_max_figures_deletes_nothing(tmp_path):
    figures = tmp_path / "Documentation" / "figures"
    figures.mkdir(parents=True)
    (figures / "06_grokking_0.png").write_bytes(b"png")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_x.ipynb").write_text(json.dumps({"cells": []}))
    assert report.main(["--root", str(tmp_path), "--max-figures", "-1"]) == 2
    assert (figures / "06_grokking_0.png").exists()


def test_checkpoints_cli_lists_a_card_without_metrics(tmp_path, tiny_cfg, capsys):
    from helpers.models import build_model

    checkpoints.save_checkpoint(build_model(tiny_cfg), tmp_path / "m", notes="made by: x")
    card = json.loads((tmp_path / "m.json").read_text())
    del card["metrics"]
    (tmp_path / "m.json").write_text(json.dumps(card))
    assert checkpoints.main([str(tmp_path)]) == 0
    assert "| `m` |" in capsys.readouterr().out
    assert checkpoints.main([str(tmp_path / "m.json")]) == 2  # a file, not a folder


def test_ctrl_c_in_the_lm_trainer_is_one_line(monkeypatch, tmp_path, capsys):
    from helpers.lm import cli as lm_cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(lm_cli, "_train_cli", interrupted)
    assert train.main(["lm", "--name", "x", "--out", str(tmp_path), "--steps", "5"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nothing was saved" in err and not list(tmp_path.glob("x.*"))


def test_hub_loaders_fail_fast_without_a_network(monkeypatch):
    """No network and no HF_*_OFFLINE: one short connect, then the clear message (not ~20 s of retries)."""
    from helpers.errors import MissingDataError

    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(socket, "create_connection", no_network)
    start = time.perf_counter()
    with pytest.raises(MissingDataError, match="shakespeare"):
        data.load_hub_corpus("wikitext-2")
    assert time.perf_counter() - start < 10
    import datasets.config

    assert datasets.config.HF_HUB_OFFLINE is False or isinstance(datasets.config.HF_HUB_OFFLINE, bool)  # restored


def test_nb_build_writes_into_the_course_notebooks_folder(tmp_path):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("nb_tool", Path(__file__).resolve().parent.parent / "tools" / "nb.py")
    nb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nb)
    src = tmp_path / "deep" / "99_x.py"
    src.parent.mkdir()
    src.write_text("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n")
    (tmp_path / "notebooks_out").mkdir()
    out = nb.build(src, notebooks_dir=tmp_path / "notebooks_out")
    assert out == tmp_path / "notebooks_out" / "99_x.ipynb" and out.exists()
    assert not (tmp_path / "99_x.ipynb").exists()  # the source's grandparent is left alone


def test_threads_are_not_changed_by_a_rejected_run():
    before = torch.get_num_threads()
    assert train.main(["grokking", "--threads", "1", "--prime", "8", "--out", "unused"]) == 2
    assert torch.get_num_threads() == before
