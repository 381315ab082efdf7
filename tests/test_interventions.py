"""helpers.interventions: zero / mean ablation and patching at hooks, heads, neurons and positions."""

import pytest
import torch

from helpers import interventions as iv
from helpers.configs import ModelConfig
from helpers.errors import ConfigError, ShapeError
from helpers.models import build_model


def _model(attn_only: bool = False):
    cfg = ModelConfig(
        d_vocab=20,
        n_ctx=12,
        d_model=16,
        n_layers=2,
        n_heads=2,
        d_head=8,
        d_mlp=None if attn_only else 32,
        normalization_type=None if attn_only else "LN",
        seed=0,
    )
    return build_model(cfg).eval()


def _tokens(seed: int, batch: int = 3):
    return torch.randint(0, 20, (batch, 10), generator=torch.Generator().manual_seed(seed))


def _run_zeroing(model, tokens, name, index):
    """Reference: a hand-written hook that zeroes act[index]."""

    def hook(act, hook):
        act = act.clone()
        act[index] = 0.0
        return act

    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=[(name, hook)])


@pytest.mark.parametrize(
    "positions,index",
    [
        (None, (slice(None), slice(None), 1)),
        (3, (slice(None), 3, 1)),
        (slice(5, None), (slice(None), slice(5, None), 1)),
        (torch.arange(10) % 3 == 0, (slice(None), torch.arange(10) % 3 == 0, 1)),
    ],
)
def test_zero_ablating_a_head_equals_zeroing_its_hook_z(positions, index):
    model, tokens = _model(), _tokens(0)
    got = iv.ablate(model, tokens, [iv.head_site(1, 1, positions)])
    assert torch.equal(got, _run_zeroing(model, tokens, "blocks.1.attn.hook_z", index))
    with torch.no_grad():
        assert not torch.allclose(got, model(tokens))


def test_a_batch_by_position_mask_picks_positions_per_row():
    model, tokens = _model(), _tokens(1)
    mask = torch.zeros(3, 10, dtype=torch.bool)
    mask[0, 2] = mask[2, 7] = True
    got = iv.ablate(model, tokens, iv.head_site(0, 0, mask))
    assert torch.equal(got, _run_zeroing(model, tokens, "blocks.0.attn.hook_z", (mask, 0)))


def test_patching_every_position_from_the_clean_cache_gives_the_clean_logits():
    model, clean, corrupt = _model(), _tokens(2), _tokens(3)
    clean_logits, cache = model.run_with_cache(clean)
    sites = [iv.Site("hook_embed"), iv.Site("hook_pos_embed")]
    assert torch.allclose(iv.patch(model, corrupt, cache, sites), clean_logits, atol=1e-5)
    every_head = [iv.head_site(layer, h) for layer in range(2) for h in range(2)]
    attn_only = _model(attn_only=True)
    clean_logits, cache = attn_only.run_with_cache(clean)
    patched = iv.patch(attn_only, clean, attn_only.run_with_cache(corrupt)[1], every_head)
    # every head's output comes from corrupt; the direct path is still clean's, so the result is neither run
    assert not torch.allclose(patched, clean_logits, atol=1e-3)
    assert torch.allclose(
        iv.patch(attn_only, corrupt, cache, every_head + [iv.Site("blocks.0.hook_resid_pre")]), clean_logits, atol=1e-5
    )


def test_mean_ablation_with_one_reference_example_equals_patching_from_it():
    model, tokens, ref = _model(), _tokens(4), _tokens(5, batch=1)
    _, ref_cache = model.run_with_cache(ref)
    sites = [iv.head_site(0, 1), iv.neuron_site(1, 3, positions=slice(2, 6))]
    got = iv.ablate(model, tokens, sites, mode="mean", reference_cache=ref_cache)
    assert torch.equal(got, iv.patch(model, tokens, ref_cache, sites))


def test_mean_ablation_uses_the_batch_mean_at_each_position():
    model, tokens = _model(), _tokens(6, batch=4)
    _, cache = model.run_with_cache(tokens)
    z = cache["blocks.0.attn.hook_z"]
    want = z.clone()
    want[:, :, 0] = z[:, :, 0].mean(0)
    got = iv.ablate(model, tokens, iv.head_site(0, 0), mode="mean", reference_cache=cache)
    assert torch.allclose(
        got, iv.patch(model, tokens, {"blocks.0.attn.hook_z": want}, iv.Site("blocks.0.attn.hook_z")), atol=1e-6
    )


def test_neuron_ablation_changes_the_logits_only_through_that_neuron():
    model, tokens = _model(), _tokens(7)
    _, cache = model.run_with_cache(tokens)
    act = cache["blocks.0.mlp.hook_post"][..., 5]  # [batch, pos]
    # zeroing neuron 5 removes exactly act * W_out[5] from the MLP's output, and nothing else
    mlp_out = cache["blocks.0.hook_mlp_out"] - act[..., None] * model.W_out[0, 5].detach()
    want = iv.patch(model, tokens, {"blocks.0.hook_mlp_out": mlp_out}, iv.Site("blocks.0.hook_mlp_out"))
    assert torch.allclose(iv.ablate(model, tokens, iv.neuron_site(0, 5)), want, atol=1e-5)


def test_hooks_for_plugs_into_run_with_hooks():
    model, tokens = _model(), _tokens(8)
    hooks = iv.hooks_for([iv.head_site(1, 0), iv.neuron_site(1, 2)], 0.0)
    assert [name for name, _ in hooks] == ["blocks.1.attn.hook_z", "blocks.1.mlp.hook_post"]
    with torch.no_grad():
        got = model.run_with_hooks(tokens, fwd_hooks=hooks)
    assert torch.equal(got, iv.ablate(model, tokens, [iv.head_site(1, 0), iv.neuron_site(1, 2)]))


def test_bad_sites_and_sources_raise_errors_that_name_the_fix():
    model, tokens = _model(), _tokens(9)
    _, cache = model.run_with_cache(tokens)
    with pytest.raises(ConfigError, match="head or a neuron"):
        iv.Site("blocks.0.attn.hook_z", head=0, neuron=0)
    with pytest.raises(ConfigError, match="hook_dict"):
        iv.ablate(model, tokens, iv.Site("blocks.0.attn.hook_nope"))
    with pytest.raises(ConfigError, match="reference_cache"):
        iv.ablate(model, tokens, iv.head_site(0, 0), mode="mean")
    with pytest.raises(ConfigError, match="no activation"):
        iv.patch(model, tokens, {}, iv.head_site(0, 0))
    with pytest.raises(ShapeError, match="same shape"):
        iv.patch(model, tokens[:, :6], cache, iv.head_site(0, 0))
