import pytest
import torch

from helpers.errors import ShapeError
from helpers.models import build_model, check_tokens, config_of, logits, n_params


def test_build_has_transformerlens_names(tiny_cfg):
    model = build_model(tiny_cfg)
    assert model.W_Q.shape == (2, 4, 32, 8)
    assert model.W_E.shape == (50, 32) and model.W_U.shape == (32, 50)
    tokens = torch.randint(0, 50, (3, 10), generator=torch.Generator().manual_seed(0))
    out, cache = model.run_with_cache(tokens)
    assert out.shape == (3, 10, 50)
    pattern = cache["blocks.1.attn.hook_pattern"]
    assert pattern.shape == (3, 4, 10, 10)
    torch.testing.assert_close(pattern.sum(-1), torch.ones(3, 4, 10))
    assert torch.all(pattern.triu(1) == 0), "attention must be causal"
    assert config_of(model) == tiny_cfg


def test_same_seed_same_weights_other_seed_differs(tiny_cfg):
    a, b, c = build_model(tiny_cfg), build_model(tiny_cfg), build_model(tiny_cfg.replace(seed=1))
    assert torch.equal(a.W_E, b.W_E)
    assert not torch.equal(a.W_E, c.W_E)


def test_zero_layer_model_is_embed_then_unembed(tiny_cfg):
    cfg = tiny_cfg.replace(n_layers=0)
    model = build_model(cfg)
    tokens = torch.tensor([[1, 2, 3]])
    expected = (model.W_E[tokens] + model.W_pos[:3]) @ model.W_U + model.b_U
    torch.testing.assert_close(model(tokens), expected)
    assert model.W_E.std().item() < 0.5, "0-layer weights must get the small init, not N(0, 1)"


def test_mlp_and_layernorm_model(tiny_cfg):
    model = build_model(tiny_cfg.replace(d_mlp=64, normalization_type="LN"))
    assert model.W_in.shape == (2, 32, 64)
    _, cache = model.run_with_cache(torch.tensor([[1, 2, 3]]))
    assert "blocks.0.mlp.hook_post" in cache.keys() and "blocks.0.ln1.hook_scale" in cache.keys()


def test_bad_tokens_get_clear_errors(tiny_cfg):
    model = build_model(tiny_cfg)
    with pytest.raises(ShapeError, match="longer than the model's n_ctx=16"):
        logits(model, torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ShapeError, match=r"must lie in \[0, 50\)"):
        check_tokens(torch.tensor([[1, 50]]), tiny_cfg)
    with pytest.raises(ShapeError, match="integer ids"):
        check_tokens(torch.zeros(1, 3), tiny_cfg)
    assert n_params(model) > 0
