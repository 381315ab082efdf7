"""helpers.ioi_model: the rows the IOI model learns from, its loss, its scores, and a short run that learns."""

from __future__ import annotations

import pytest
import torch

from helpers import ioi, ioi_model
from helpers.configs import TrainConfig
from helpers.errors import ConfigError


@pytest.fixture(scope="module")
def data():
    return ioi.ioi_dataset(ioi.IOIConfig(), 64, "train", seed=0)


def test_answer_rows_put_the_io_right_after_end(data):
    rows = ioi_model.answer_rows(data)
    pad = ioi.IOIVocab().pad_id
    r = torch.arange(len(data))
    assert rows.shape == (len(data), data.tokens.shape[1] + 1)
    assert torch.equal(rows[r, data.end_pos + 1], data.io_token)
    without = rows.clone()
    without[r, data.end_pos + 1] = pad
    assert torch.equal(without[:, :-1], data.tokens) and bool((without[:, -1] == pad).all()), "nothing else changed"


def test_loss_ignores_pad_targets(data):

    class Fixed(torch.nn.Module):
        def forward(self, tokens):
            logits = torch.zeros(*tokens.shape, ioi.IOIVocab().vocab_size)
            logits[..., ioi.IOIVocab().pad_id] = 50.0  # confident PAD everywhere: a huge loss on real tokens
            return logits

    rows = ioi_model.answer_rows(data)
    loss = float(ioi_model.ioi_lm_loss(Fixed(), (rows,)))
    assert loss > 40, "real tokens are scored"
    # Had PAD targets counted, the many correct PAD predictions would pull the mean far below 40.
    n_real = int((rows[:, 1:] != ioi.IOIVocab().pad_id).sum())
    assert n_real < rows[:, 1:].numel()


def test_model_config_and_bad_input():
    cfg = ioi_model.ioi_model_config(n_layers=2, d_model=32, n_heads=4)
    assert cfg.d_vocab == ioi.IOIVocab().vocab_size and cfg.n_ctx == ioi.ioi_n_ctx() + 1 and cfg.d_head == 8
    with pytest.raises(ConfigError, match="divisible"):
        ioi_model.ioi_model_config(d_model=30, n_heads=4)
    with pytest.raises(ConfigError, match="n_train"):
        ioi_model.train_ioi(n_train=0, progress=False)
    with pytest.raises(ConfigError, match="ioi_model_config"):
        ioi_model.train_ioi(cfg.replace(n_ctx=ioi.ioi_n_ctx()), progress=False)


def test_a_short_run_learns_the_template_and_is_deterministic():
    """150 steps: not IOI yet (that takes ~1,000 steps of a 3-layer model), but the template's words
    are learnt (loss from ln 96 = 4.6 to below 1.5) and the prediction at END is a name."""
    cfg = ioi_model.ioi_model_config(n_layers=1, d_model=32, n_heads=2)
    tcfg = TrainConfig(n_steps=150, lr=1e-2, batch_size=64, eval_every=150)
    runs = [ioi_model.train_ioi(cfg, tcfg, n_train=2000, n_test=200, seed=1, progress=False) for _ in range(2)]
    assert runs[0].test_metrics == runs[1].test_metrics, "one seed, one run"
    assert runs[0].history.train_loss[0] > 4.0 and runs[0].history.train_loss[-1] < 1.5
    test = ioi.ioi_dataset(ioi.IOIConfig(), 200, "test", seed=1_000_001)
    top = runs[0].model(test.tokens)[torch.arange(len(test)), test.end_pos].argmax(-1)
    names = torch.tensor([ioi.IOIVocab().stoi[x] for x in ioi.NAMES])
    assert float(torch.isin(top, names).float().mean()) > 0.8, "the answer at END is a name"
    assert set(runs[0].test_metrics) == {"accuracy", "io_beats_s", "logit_diff"}


def test_the_committed_checkpoint_scores_what_its_card_says():
    """data/checkpoints/ioi3l (python -m helpers.train recipe ioi3l): held-out IOI solved, as recorded."""
    from helpers.checkpoints import load_checkpoint
    from helpers.paths import data_dir

    model, card = load_checkpoint(data_dir() / "checkpoints" / "ioi3l")
    seed = card["metrics"]["seed"]  # the command's test rows: train_ioi draws them with seed + 1_000_000
    test = ioi.ioi_dataset(ioi.IOIConfig(), 2000, "test", seed=seed + 1_000_000)
    scores = ioi_model.evaluate_ioi(model, test)
    assert scores["io_beats_s"] == pytest.approx(card["metrics"]["test_io_beats_s"], abs=1e-4)
    assert scores["io_beats_s"] > 0.95 and scores["accuracy"] > 0.9
