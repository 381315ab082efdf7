"""helpers.superposition: the batched toy model of superposition (notebook 10)."""

import pytest
import torch

from helpers import superposition as sp
from helpers.errors import ConfigError


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: a second thread only adds synchronisation (and stalls on a busy machine)."""
    torch.set_num_threads(1)
    yield


def test_forward_keeps_the_instance_axis_and_matches_one_instance_at_a_time():
    g = torch.Generator().manual_seed(0)
    W, b = torch.randn(3, 2, 5, generator=g), torch.randn(3, 5, generator=g)
    x = sp.sample_features(7, (0.0, 0.5, 0.9), 5, g)
    out = sp.toy_forward(W, b, x)
    assert out.shape == (7, 3, 5) and (out >= 0).all()
    for i in range(3):  # instance i is the plain model ReLU(W^T W x + b) with its own W and b
        assert torch.allclose(out[:, i], torch.relu(x[:, i] @ W[i].T @ W[i] + b[i]), atol=1e-6)


def test_samples_are_in_the_unit_interval_and_zero_at_the_asked_rate():
    x = sp.sample_features(20_000, (0.0, 0.9), 4, torch.Generator().manual_seed(0))
    assert x.min() >= 0 and x.max() <= 1
    assert (x[:, 0] == 0).float().mean() < 0.01
    assert abs((x[:, 1] == 0).float().mean().item() - 0.9) < 0.01


def test_loss_is_per_instance_and_weighted():
    x = torch.zeros(4, 2, 3)
    out = torch.zeros(4, 2, 3)
    out[:, 1, 2] = 1.0  # instance 1 misses feature 2 by 1 everywhere
    loss = sp.importance_weighted_loss(out, x, sp.importance(3, 0.5))
    assert torch.allclose(loss, torch.tensor([0.0, 0.25]))


def test_training_shows_the_transition_from_dropping_to_superposing():
    cfg = sp.ToyConfig(n_features=5, d_hidden=2, sparsities=(0.0, 0.97), n_steps=800, batch_size=512)
    W = sp.train_toy(cfg, seed=0).W.detach()
    n = sp.features_represented(W)
    assert n[0] == 2 and n[1] >= 4
    assert sp.feature_norms(W)[0, :2].min() > 0.9  # dense: the two most important features are kept
    assert sp.interference(W)[0].max() < 0.01 and sp.interference(W)[1].max() > 0.5


def test_training_is_seeded():
    cfg = sp.ToyConfig(n_features=4, d_hidden=2, sparsities=(0.5,), n_steps=20)
    assert torch.equal(sp.train_toy(cfg, seed=3).W, sp.train_toy(cfg, seed=3).W)
    assert not torch.equal(sp.train_toy(cfg, seed=3).W, sp.train_toy(cfg, seed=4).W)


def test_gram_and_interference():
    W = torch.stack(
        [torch.tensor([[1.0, 0.0, 0.6], [0.0, 1.0, 0.8]]), torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])]
    )
    g = sp.gram(W)
    assert torch.allclose(torch.diagonal(g, dim1=1, dim2=2)[0], torch.tensor([1.0, 1.0, 1.0]))
    assert torch.allclose(sp.interference(W)[0], torch.tensor([0.36, 0.64, 1.0]))
    assert sp.interference(W)[1].abs().max() == 0  # orthogonal features (and an absent one) do not interfere


def test_geometry_figure_has_one_panel_per_instance():
    W = torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(0))
    fig = sp.geometry_figure(W, titles=["a", "b", "c"])
    assert len(fig.data) == 12
    with pytest.raises(ConfigError, match="d_hidden=2"):
        sp.geometry_figure(torch.randn(1, 3, 4), titles=["x"])


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(n_features=2, d_hidden=2), "n_features"),
        (dict(sparsities=(1.0,)), "sparsities"),
        (dict(sparsities=()), "sparsities"),
        (dict(importance_decay=0.0), "importance_decay"),
        (dict(n_steps=0), "n_steps"),
        (dict(lr=float("nan")), "lr"),
    ],
)
def test_bad_config_gives_one_line_naming_the_field_and_the_fix(kwargs, field):
    with pytest.raises(ConfigError) as err:
        sp.ToyConfig(**kwargs)
    message = str(err.value)
    assert field in message and "Fix:" in message and "\n" not in message
