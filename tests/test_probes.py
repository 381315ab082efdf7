"""Linear probes (helpers.probes): they find a planted direction, not noise; controls; steering."""

import pytest
import torch

from helpers.configs import ModelConfig
from helpers.errors import ConfigError, ShapeError
from helpers.models import build_model
from helpers.probes import (
    ProbeConfig,
    control_labels,
    fit_probe,
    probe_layers,
    probe_split,
    selectivity,
    shuffled_labels,
    steer,
)

CFG = ProbeConfig(n_steps=100)


def _planted(n=3000, d=16, seed=0):
    """Gaussian acts, a binary label, and the raw-space direction the Bayes-optimal probe uses.

    Features have scales 0.3 .. 3 and random offsets, and the class means differ along Σu (Σ the
    noise covariance), so the optimal raw direction is u while the standardised weight is not:
    forgetting to divide by std gives a cosine of about 0.8 instead of 0.95.
    """
    gen = torch.Generator().manual_seed(seed)
    scale = torch.logspace(-0.5, 0.5, d)
    u = torch.randn(d, generator=gen)
    u /= u.norm()
    y = torch.randint(2, (n,), generator=gen)
    shift = scale**2 * u
    shift *= 4 / (shift @ u).sqrt()  # class means 4 noise-stds apart: Bayes accuracy about 0.98
    acts = torch.randn(n, d, generator=gen) * scale + y[:, None] * shift + 5 * torch.randn(d, generator=gen)
    return acts, y, u


@pytest.mark.parametrize("seed", [0, 1])
def test_probe_finds_a_planted_direction(seed):
    acts, y, u = _planted(seed=seed)
    probe = fit_probe(acts, y, CFG)
    assert probe.test_acc > 0.95, f"a linearly decodable label should be decoded, got test_acc {probe.test_acc:.3f}"
    cos = probe.direction(1, 0) @ u
    assert cos > 0.9, f"direction(1, 0) should point along the planted direction, cosine {cos:.3f}"
    assert torch.isclose(probe.direction(1, 0).norm(), torch.tensor(1.0)), "direction must be a unit vector"
    assert torch.allclose(probe.direction(0, 1), -probe.direction(1, 0)), "swapping classes flips the direction"
    assert (probe.predict(acts) == y).float().mean() > 0.95, "predict disagrees with the accuracy it reported"


def test_random_labels_give_chance_accuracy():
    gen = torch.Generator().manual_seed(1)
    acts, labels = torch.randn(800, 20, generator=gen), torch.randint(4, (800,), generator=gen)
    probe = fit_probe(acts, labels, CFG)
    assert probe.test_acc < 0.25 + 0.15, f"labels independent of the acts must not be decodable, got {probe.test_acc}"
    assert probe.train_acc > probe.test_acc, "train accuracy should exceed held-out accuracy on noise (overfitting)"


def test_control_labels_are_per_type_seeded_and_balanced():
    ids = torch.randint(50, (2000,), generator=torch.Generator().manual_seed(0))
    ctrl = control_labels(ids, 4, seed=0)
    for i in ids.unique():
        assert ctrl[ids == i].unique().numel() == 1, f"rows with word id {int(i)} got different control labels"
    assert torch.equal(ctrl, control_labels(ids, 4, seed=0)), "same seed must give the same control labels"
    assert not torch.equal(ctrl, control_labels(ids, 4, seed=1)), "another seed should give other labels"
    type_labels = torch.stack([ctrl[ids == i][0] for i in ids.unique()])
    counts = torch.bincount(type_labels, minlength=4)
    assert counts.max() - counts.min() <= 1, f"types should be spread evenly over the classes, got {counts.tolist()}"
    share = torch.bincount(ctrl, minlength=4) / len(ctrl)
    assert (share > 0.15).all() and (share < 0.35).all(), f"rows should be roughly balanced, got {share.tolist()}"
    shuffled = shuffled_labels(ctrl, seed=0)
    assert torch.equal(shuffled.sort().values, ctrl.sort().values) and not torch.equal(shuffled, ctrl)


def _word_task(n=1500, n_types=300, d=16, seed=0):
    """Acts are a word's embedding plus noise; the task label is a linear function of the embedding."""
    gen = torch.Generator().manual_seed(seed)
    emb, u = torch.randn(n_types, d, generator=gen), torch.randn(d, generator=gen)
    u /= u.norm()
    type_label = (emb @ u > 0).long()
    emb += (2 * type_label[:, None] - 1) * u  # a margin, so the task is decodable
    ids = torch.randint(n_types, (n,), generator=gen)
    return emb[ids] + 0.1 * torch.randn(n, d, generator=gen), type_label[ids], ids


def test_selectivity_is_high_for_a_real_feature_and_probe_layers_has_one_row_per_layer():
    acts, labels, ids = _word_task()
    control = control_labels(ids, 2, seed=0)
    task, ctrl = fit_probe(acts, labels, CFG).test_acc, fit_probe(acts, control, CFG).test_acc
    assert selectivity(task, ctrl) > 0.3, f"task {task:.3f} vs control {ctrl:.3f}: a real feature should be selective"
    noise = torch.randn(acts.shape, generator=torch.Generator().manual_seed(5))
    for resid in (torch.stack([noise, acts]), [noise, acts]):
        rows = probe_layers(resid, labels, control, CFG)
        assert [r["layer"] for r in rows] == [0, 1], "one row per layer, in order"
        assert all(set(r) == {"layer", "task_acc", "control_acc", "selectivity"} for r in rows)
        assert rows[1]["selectivity"] > rows[0]["selectivity"] + 0.3, f"only layer 1 holds the feature: {rows}"
        assert rows[1]["task_acc"] == task and rows[1]["control_acc"] == ctrl


def test_same_seed_same_probe_other_seed_other_split():
    acts, y, _ = _planted(n=200)
    a, b, c = (fit_probe(acts, y, ProbeConfig(n_steps=50, seed=s)) for s in (0, 0, 1))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias), "same seed must give the same weights"
    assert a.test_acc == b.test_acc
    assert not torch.equal(a.weight, c.weight), "another seed should split the rows differently"


def _one_line_error(kind, match, fn, *args, **kwargs):
    with pytest.raises(kind, match=match) as e:
        fn(*args, **kwargs)
    assert "\n" not in str(e.value), f"the message must be one line: {e.value}"


@pytest.mark.parametrize(
    "field, value",
    [("n_steps", 0), ("n_steps", 2.5), ("weight_decay", -1.0), ("weight_decay", float("nan")), ("test_frac", 0.0),
     ("test_frac", 1.0), ("seed", 0.5)],
)  # fmt: skip
def test_bad_config_names_the_field(field, value):
    _one_line_error(ConfigError, field, ProbeConfig, **{field: value})


def test_bad_inputs_raise_one_line_errors():
    acts, y, _ = _planted(n=100)
    _one_line_error(ShapeError, "labels", fit_probe, acts, y[:-1], CFG)
    _one_line_error(ShapeError, r"\[n, d\]", fit_probe, acts[None], y, CFG)
    _one_line_error(ConfigError, "single class", fit_probe, acts, torch.zeros_like(y), CFG)
    _one_line_error(ConfigError, "integer", fit_probe, acts, y.float(), CFG)
    _one_line_error(ConfigError, "n_classes", fit_probe, acts, y, CFG, n_classes=1)
    _one_line_error(
        ConfigError, "empty split", fit_probe, acts[:4], torch.tensor([0, 1, 0, 1]), ProbeConfig(test_frac=0.1)
    )
    _one_line_error(ConfigError, "class_a", fit_probe(acts, y, CFG).direction, 1, 1)
    _one_line_error(ConfigError, "n_classes", control_labels, y, 1)
    _one_line_error(ConfigError, "task_acc", selectivity, 1.5, 0.5)
    _one_line_error(ShapeError, "control", probe_layers, [acts], y, y[:-1], CFG)
    _one_line_error(ShapeError, "layer 1", probe_layers, [acts, acts[:-1]], y, y, CFG)


@pytest.fixture(scope="module")
def tiny():
    model = build_model(ModelConfig(d_vocab=20, n_ctx=8, d_model=16, n_layers=1, n_heads=2, d_head=8, seed=0))
    tokens = torch.randint(20, (3, 8), generator=torch.Generator().manual_seed(0))
    return model, tokens


def test_steer_zero_is_the_model_and_steering_is_causal(tiny):
    model, tokens = tiny
    with torch.no_grad():
        clean = model(tokens)
    u = torch.randn(16, generator=torch.Generator().manual_seed(0))
    u /= u.norm()
    assert torch.allclose(steer(model, tokens, "blocks.0.hook_resid_pre", u, 0.0), clean, atol=1e-5)
    pos = torch.tensor([2, 5, 0])
    steered = steer(model, tokens, "blocks.0.hook_resid_pre", u, 20.0, positions=pos)
    changed = (steered - clean).abs().amax(-1) > 1e-3  # [batch, pos]
    for row, p in enumerate(pos.tolist()):
        assert not changed[row, :p].any(), f"row {row}: positions before {p} must not change (causal model)"
        assert changed[row, p:].all(), f"row {row}: position {p} and later ones should change, got {changed[row]}"
    assert (steer(model, tokens, "blocks.0.hook_resid_pre", u, 20.0) - clean).abs().amax(-1).gt(1e-3).all()


def test_steering_along_an_unembedding_column_raises_that_token(tiny):
    model, tokens = tiny
    t = 7
    w = model.W_U[:, t].detach()
    clean = steer(model, tokens, "blocks.0.hook_resid_post", w / w.norm(), 0.0)
    steered = steer(model, tokens, "blocks.0.hook_resid_post", w / w.norm(), 5.0)
    rise = steered[..., t] - clean[..., t]
    # no LayerNorm here: the logit rises by exactly alpha * |W_U[:, t]|
    assert torch.allclose(rise, 5.0 * w.norm().expand_as(rise), atol=1e-4), f"token {t}'s logit rose by {rise}"
    others = torch.cat([steered[..., :t] - clean[..., :t], steered[..., t + 1 :] - clean[..., t + 1 :]], -1)
    assert (rise > others.mean(-1)).all(), "the steered token should gain more than the average token"


def test_steer_checks_its_inputs(tiny):
    model, tokens = tiny
    u = torch.ones(16)
    _one_line_error(ShapeError, "d_model", steer, model, tokens, "blocks.0.hook_resid_pre", torch.ones(5), 1.0)
    _one_line_error(ShapeError, "batch", steer, model, tokens[0], "blocks.0.hook_resid_pre", u, 1.0)
    _one_line_error(ShapeError, "positions", steer, model, tokens, "blocks.0.hook_resid_pre", u, 1.0, torch.tensor([1]))
    _one_line_error(
        ShapeError, r"0\.\.7", steer, model, tokens, "blocks.0.hook_resid_pre", u, 1.0, torch.tensor([0, 1, 8])
    )
    _one_line_error(ConfigError, "hook", steer, model, tokens, "blocks.0.hook_nonsense", u, 1.0)
    _one_line_error(ShapeError, "residual hook", steer, model, tokens, "blocks.0.attn.hook_pattern", u, 1.0)


def test_probe_split_is_the_split_fit_probe_scores_on():
    """Notebook 12's exercise scores a probe on probe_split's held-out rows: they must be fit_probe's own."""
    x, y, _ = _planted(n=400)
    cfg = ProbeConfig(n_steps=50, seed=3)
    train, test = probe_split(len(y), cfg)
    assert len(test) == round(cfg.test_frac * len(y)) and len(train) + len(test) == len(y)
    assert not set(train.tolist()) & set(test.tolist()), "no row is in both"
    probe = fit_probe(x, y, cfg)
    assert probe.test_acc == pytest.approx(float((probe.predict(x[test]) == y[test]).float().mean()))
    assert probe.train_acc == pytest.approx(float((probe.predict(x[train]) == y[train]).float().mean()))
    _one_line_error(ConfigError, "test_frac", probe_split, 2, ProbeConfig(test_frac=0.1))


def test_steer_takes_one_direction_per_row(tiny):
    """A [batch, d_model] direction steers each row by its own vector: the same as steering the rows one by one."""
    model, tokens = tiny
    dirs = torch.nn.functional.normalize(torch.randn(3, 16, generator=torch.Generator().manual_seed(1)), dim=-1)
    pos = torch.tensor([1, 4, 7])
    together = steer(model, tokens, "blocks.0.hook_resid_pre", dirs, 10.0, positions=pos)
    for i in range(3):
        alone = steer(model, tokens[i : i + 1], "blocks.0.hook_resid_pre", dirs[i], 10.0, positions=pos[i : i + 1])
        assert torch.allclose(together[i], alone[0], atol=1e-5), f"row {i} was steered by another row's direction"
    everywhere = steer(model, tokens, "blocks.0.hook_resid_pre", dirs, 10.0)
    assert torch.allclose(
        everywhere[1], steer(model, tokens[1:2], "blocks.0.hook_resid_pre", dirs[1], 10.0)[0], atol=1e-5
    )
    _one_line_error(ShapeError, "batch, d_model", steer, model, tokens, "blocks.0.hook_resid_pre", dirs[:2], 1.0)
