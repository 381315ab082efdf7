import pytest

from helpers import lm, train


def test_unknown_task_lists_the_choices(capsys):
    assert train.main(["nope"]) == 2
    assert "choose one of" in capsys.readouterr().err


def test_help_lists_tasks(capsys):
    assert train.main(["--help"]) == 0
    assert "grokking" in capsys.readouterr().out


def test_lm_cli_rejects_bad_arguments(capsys):
    assert lm.cli_main(["--name", "x", "--d-model", "100", "--heads", "3"]) == 2
    assert "divisible" in capsys.readouterr().err
    assert lm.cli_main(["--name", "x", "--steps", "5", "--warmup", "10"]) == 2
    assert "--warmup must be between 0 and --steps (5)" in capsys.readouterr().err


def test_lm_cli_default_warmup_fits_short_runs_and_keeps_the_recipes():
    assert lm.default_warmup(2000) == lm.default_warmup(100) == 100  # every committed recipe: 100
    assert lm.default_warmup(50) == 5 and lm.default_warmup(5) == 0


def test_lm_cli_refuses_to_overwrite_a_checkpoint(tmp_path, capsys):
    (tmp_path / "attn2l.json").write_text("{}")
    assert lm.cli_main(["--name", "attn2l", "--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err and (tmp_path / "attn2l.json").read_text() == "{}"
    assert lm.cli_main(["--name", "attn2l"]) == 2  # the committed one, in data/checkpoints
    assert "--force" in capsys.readouterr().err


def test_lm_cli_trains_and_saves_a_loadable_checkpoint(tmp_path):
    from helpers.checkpoints import load_checkpoint

    argv = [
        "--name",
        "tiny",
        "--out",
        str(tmp_path),
        "--layers",
        "1",
        "--d-model",
        "32",
        "--heads",
        "2",
        "--n-ctx",
        "32",
        "--steps",
        "4",
        "--warmup",
        "1",
        "--batch-size",
        "4",
    ]
    assert lm.cli_main(argv) == 0
    model, card = load_checkpoint(tmp_path / "tiny")
    assert card["model_config"]["n_layers"] == 1 and "helpers.train lm" in card["notes"]
    assert "val_loss" in card["metrics"]


def test_lm_cli_force_replaces_a_checkpoint_and_its_stale_snapshots(tmp_path):
    """A dotted name is its own checkpoint; --force removes snapshots the new run did not make."""
    from helpers.checkpoints import load_checkpoint

    argv = ["--name", "wd0.1", "--out", str(tmp_path), "--layers", "1", "--d-model", "32", "--heads", "2",
            "--n-ctx", "32", "--steps", "4", "--batch-size", "4", "--threads", "1"]  # fmt: skip
    assert lm.cli_main(argv + ["--snapshot-every", "2"]) == 0
    assert (tmp_path / "wd0.1_snapshots.safetensors").exists()
    assert lm.cli_main(argv) == 2  # exists
    assert lm.cli_main(argv + ["--force", "--weight-decay", "0.3"]) == 0
    assert not (tmp_path / "wd0.1_snapshots.safetensors").exists()
    _, card = load_checkpoint(tmp_path / "wd0.1")
    assert card["train_config"]["weight_decay"] == 0.3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wd0.1.json", "wd0.1.safetensors"]


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


def test_lm_cli_kickstart_is_the_first_part_of_the_warm_up(tmp_path):
    """--kickstart-steps: the warm-up's first steps draw tokens from a small vocabulary; steps count once."""
    from helpers.checkpoints import load_checkpoint

    argv = ["--name", "kick", "--out", str(tmp_path), "--layers", "2", "--d-model", "32", "--heads", "2",
            "--n-ctx", "32", "--synthetic-steps", "4", "--kickstart-steps", "2", "--kickstart-vocab", "8",
            "--steps", "3", "--warmup", "1", "--batch-size", "4", "--track-every", "2", "--force"]  # fmt: skip
    assert lm.cli_main(argv) == 0
    _, card = load_checkpoint(tmp_path / "kick")
    assert "--kickstart-steps 2" in card["notes"] and "--force" not in card["notes"]  # the weights' command
    assert card["metrics"]["steps"] == 7.0
    assert card["metrics"]["track"]["step"] == [1, 2, 4, 6]
    assert card["metrics"]["kickstart"] == {"steps": 2, "vocab": 8, "lr": 0.01}


def test_kickstart_trains_on_the_small_vocabulary_at_its_own_lr(monkeypatch):
    """The kick-start phase sees only token ids below kickstart.vocab, at kickstart.lr; then the full vocabulary."""
    from helpers.configs import ModelConfig, TrainConfig
    from helpers.lm import trainer

    seen = []
    real_train = trainer.train

    def spy(model, rows, cfg, **kw):
        seen.append((int(rows.max()), cfg.lr, cfg.n_steps))
        return real_train(model, rows, cfg, **kw)

    monkeypatch.setattr(trainer, "train", spy)
    trainer.train_lm(
        ModelConfig(d_vocab=2048, n_ctx=16, d_model=16, n_layers=1, n_heads=2, d_head=8),
        TrainConfig(n_steps=2, batch_size=2, lr=1e-3, warmup_steps=1),
        max_val_rows=2,
        progress=False,
        synthetic_steps=3,
        kickstart=trainer.Kickstart(steps=1, vocab=10, lr=5e-2),
    )
    (kick_max, kick_lr, kick_n), (syn_max, syn_lr, syn_n), (_, corpus_lr, corpus_n) = seen
    assert kick_max < 10 and (kick_lr, kick_n) == (5e-2, 1)
    assert syn_max >= 10 and (syn_lr, syn_n) == (1e-3, 2)
    assert (corpus_lr, corpus_n) == (1e-3, 2)


def test_train_lm_rejects_negative_synthetic_steps():
    from helpers.configs import ModelConfig, TrainConfig
    from helpers.errors import ConfigError

    with pytest.raises(ConfigError, match="synthetic_steps"):
        lm.train_lm(
            ModelConfig(d_vocab=2048, n_ctx=16, d_model=16, n_layers=1, n_heads=2, d_head=8),
            TrainConfig(n_steps=1),
            synthetic_steps=-1,
        )


def test_made_by_records_the_flags_without_this_machines_folders(tmp_path):
    from pathlib import Path

    from helpers.cli import made_by

    root = Path(__file__).resolve().parent.parent
    cmd = made_by("ioi", ["--seed", "3", "--out", str(root / "data" / "checkpoints" / "ioi3l"), "--force", "--debug"])
    assert cmd == "python -m helpers.train ioi --seed 3 --out data/checkpoints/ioi3l"
    # A folder outside the course stays as typed: it is where the weights went.
    assert made_by("lm", ["--out", str(tmp_path)]) == f"python -m helpers.train lm --out {tmp_path}"
