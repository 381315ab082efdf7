import pytest

from helpers import lm, train


def test_unknown_task_lists_the_choices(capsys):
    assert train.main(["nope"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_help_lists_tasks(capsys):
    assert train.main(["--help"]) == 0
    assert "grokking" in capsys.readouterr().out


def test_lm_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        lm.cli_main(["--name", "x", "--d-model", "100", "--heads", "3"])
    assert "divisible" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        lm.cli_main(["--name", "x", "--steps", "5", "--warmup", "10"])
    assert "warmup_steps" in capsys.readouterr().err


def test_lm_cli_trains_and_saves_a_loadable_checkpoint(tmp_path):
    from helpers.checkpoints import load_checkpoint

    argv = ["--name", "tiny", "--out", str(tmp_path), "--layers", "1", "--d-model", "32", "--heads", "2",
            "--n-ctx", "32", "--steps", "4", "--warmup", "1", "--batch-size", "4"]
    assert lm.cli_main(argv) == 0
    model, card = load_checkpoint(tmp_path / "tiny")
    assert card["model_config"]["n_layers"] == 1 and "helpers.train lm" in card["notes"]
    assert "val_loss" in card["metrics"]


def test_lm_cli_synthetic_warmup_counts_both_phases(tmp_path):
    """--synthetic-steps trains on repeated random tokens first; the log and snapshots span both phases."""
    from helpers.checkpoints import load_checkpoint

    argv = ["--name", "warm", "--out", str(tmp_path), "--layers", "2", "--d-model", "32", "--heads", "2",
            "--n-ctx", "32", "--synthetic-steps", "3", "--steps", "3", "--warmup", "1", "--batch-size", "4",
            "--repeat-frac", "0.25", "--track-every", "2", "--snapshot-every", "2"]  # fmt: skip
    assert lm.cli_main(argv) == 0
    _, card = load_checkpoint(tmp_path / "warm")
    assert card["metrics"]["steps"] == 6.0
    assert card["metrics"]["track"]["step"] == [1, 2, 4, 6]
    assert card["metrics"]["snapshot_steps"] == [2, 4]


def test_train_lm_rejects_negative_synthetic_steps():
    from helpers.configs import ModelConfig, TrainConfig
    from helpers.errors import ConfigError

    with pytest.raises(ConfigError, match="synthetic_steps"):
        lm.train_lm(ModelConfig(d_vocab=2048, n_ctx=16, d_model=16, n_layers=1, n_heads=2, d_head=8), TrainConfig(n_steps=1), synthetic_steps=-1)
