import pytest
import torch

from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import ShapeError
from helpers.models import build_model
from helpers.training import eval_lm_loss, last_position_accuracy, last_position_loss, next_token_loss, train


def _copy_task(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(1, 10, (n, 4), generator=g)
    return torch.cat([x, x], dim=1)


def test_training_lowers_loss_and_is_deterministic():
    cfg = ModelConfig(d_vocab=10, n_ctx=8, d_model=32, n_layers=1, n_heads=2, d_head=16)
    data = _copy_task(256, 0)
    tcfg = TrainConfig(n_steps=60, lr=3e-3, batch_size=32, eval_every=30)
    m1, m2 = build_model(cfg), build_model(cfg)
    h1 = train(m1, data, tcfg, eval_fn=lambda m: {"val": eval_lm_loss(m, data[:64])}, progress=False)
    h2 = train(m2, data, tcfg, progress=False)
    assert h1.train_loss == h2.train_loss, "same seeds must give the same run"
    assert h1.metrics["val"][-1] < h1.metrics["val"][0] - 0.3
    assert h1.eval_steps == [0, 30, 59]


def test_snapshots_and_full_batch_classification():
    cfg = ModelConfig(d_vocab=6, n_ctx=3, d_model=16, n_layers=1, n_heads=2, d_head=8)
    x = torch.randint(0, 5, (64, 3), generator=torch.Generator().manual_seed(0))
    y = x[:, 0]
    model = build_model(cfg)
    hist = train(
        model,
        (x, y),
        TrainConfig(n_steps=150, lr=1e-2, batch_size=None, snapshot_every=50),
        loss_fn=last_position_loss,
        progress=False,
    )
    assert [s for s, _ in hist.snapshots] == [0, 50, 100, 150]
    assert last_position_accuracy(model, x, y) > 0.9


def test_next_token_loss_matches_definition():
    logits = torch.log(torch.tensor([[[0.5, 0.5], [0.25, 0.75], [1.0, 1.0]]]))
    tokens = torch.tensor([[0, 1, 0]])
    torch.testing.assert_close(
        next_token_loss(logits, tokens), torch.tensor([[-torch.log(torch.tensor(0.5)), -torch.log(torch.tensor(0.25))]])
    )
    with pytest.raises(ShapeError):
        next_token_loss(logits, tokens[:, :2])


def test_mismatched_data_lengths_are_rejected(tiny_cfg):
    with pytest.raises(ShapeError, match="equal length"):
        train(
            build_model(tiny_cfg),
            (torch.zeros(4, 3, dtype=torch.long), torch.zeros(5, dtype=torch.long)),
            TrainConfig(n_steps=1),
            progress=False,
        )


def test_mlps_switched_off_trains_an_attention_only_model_then_switches_them_on():
    """full2l's warm-up (helpers.lm.mlps_switched_off): MLPs output zero and stay frozen inside, train after."""
    from helpers.errors import ConfigError
    from helpers.lm.trainer import mlps_switched_off

    cfg = ModelConfig(
        d_vocab=10, n_ctx=8, d_model=32, n_layers=2, n_heads=2, d_head=16, d_mlp=64, normalization_type="LN"
    )
    model, data = build_model(cfg), _copy_task(256, 0)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if ".mlp." in n and "fc_in" in n}
    with mlps_switched_off(model):
        _, cache = model.run_with_cache(data[:4])
        assert all(cache[f"blocks.{l}.hook_mlp_out"].abs().max() == 0 for l in range(2))
        train(model, data, TrainConfig(n_steps=5, lr=1e-2, batch_size=32), progress=False)
        assert all(torch.equal(p, before[n]) for n, p in model.named_parameters() if n in before), "MLP weights moved"
    train(model, data, TrainConfig(n_steps=5, lr=1e-2, batch_size=32), progress=False)
    assert any(not torch.equal(p, before[n]) for n, p in model.named_parameters() if n in before), (
        "MLPs never switched on"
    )
    with pytest.raises(ConfigError, match="no MLP"):
        with mlps_switched_off(build_model(ModelConfig(d_vocab=10, n_ctx=8, d_model=32, n_heads=2, d_head=16))):
            pass
