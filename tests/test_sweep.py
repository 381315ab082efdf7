"""Tests for helpers.sweep (notebook 05)."""

import sys

import pytest
import torch

from helpers import sentiment as S
from helpers import sweep
from helpers.data import CharTokenizer
from helpers.errors import ConfigError, MissingDataError


def test_grid_points_and_validation():
    cfg = sweep.SweepConfig(d_model=(8, 16), n_heads=(1, 2), n_layers=(1,), lr=(1e-3, 1e-2))
    pts = cfg.points()
    assert len(pts) == 8 and pts[0] == {"d_model": 8, "n_heads": 1, "n_layers": 1, "lr": 1e-3}
    with pytest.raises(ConfigError):
        sweep.SweepConfig(d_model=(6,), n_heads=(4,))
    with pytest.raises(ConfigError):
        sweep.SweepConfig(lr=())


def test_table_best_plot_and_json_round_trip(tmp_path):
    rows = [
        {"d_model": 8, "n_heads": 1, "n_layers": 1, "lr": 0.001, "val_acc": 0.6, "train_acc": 0.7, "seconds": 1.0},
        {"d_model": 16, "n_heads": 2, "n_layers": 2, "lr": 0.01, "val_acc": 0.8, "train_acc": 0.9, "seconds": 2.0},
    ]
    assert sweep.best(rows)["d_model"] == 16
    table = sweep.results_table(rows).splitlines()
    assert len(table) == 3 and "0.8" in table[1]  # best first
    fig = sweep.parallel_coordinates(rows)
    assert len(fig.data[0].dimensions) == 5 and list(fig.data[0].dimensions[3].values) == pytest.approx([-3, -2])
    cfg = sweep.SweepConfig(d_model=(8, 16))
    sweep.save(rows, cfg, tmp_path / "s.json")
    cfg2, rows2 = sweep.load(tmp_path / "s.json")
    assert cfg2 == cfg and rows2 == rows
    with pytest.raises(MissingDataError, match="python -m helpers.sweep"):
        sweep.load(tmp_path / "none.json")
    with pytest.raises(ConfigError):
        sweep.best([])


def test_run_sweep_trains_each_point_without_wandb():
    texts = ["good", "bad", "good good", "bad bad"] * 5
    labels = [1, 0, 1, 0] * 5
    tok = CharTokenizer("abdgo ")
    vocab = S.Vocab(tok, texts)
    enc = S.Encoded(vocab, 10, vocab.rows(texts, 10), torch.tensor(labels), vocab.rows(texts, 10), torch.tensor(labels))
    sys.modules.pop("wandb", None)
    rows = sweep.run_sweep(sweep.SweepConfig(d_model=(8,), n_heads=(1, 2), n_layers=(1,), lr=(1e-2,), n_steps=20), enc)
    assert [r["n_heads"] for r in rows] == [1, 2] and all(0 <= r["val_acc"] <= 1 for r in rows)
    assert "wandb" not in sys.modules  # never imported unless asked for
