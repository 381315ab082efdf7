"""Tests for helpers.dla: attributions add up, the logit lens ends at the logits, neuron tools."""

import pytest
import torch

from helpers import dla
from helpers.configs import ModelConfig
from helpers.errors import ShapeError
from helpers.models import build_model


def _model(ln: bool = True, d_mlp: int | None = 16, seed: int = 0):
    cfg = ModelConfig(
        d_vocab=20,
        n_ctx=12,
        d_model=16,
        n_layers=2,
        n_heads=2,
        d_head=8,
        d_mlp=d_mlp,
        normalization_type="LN" if ln else None,
        seed=seed,
    )
    m = build_model(cfg)
    # Non-trivial LayerNorm and biases, so the test exercises them.
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for _name, p in m.named_parameters():
            if p.dim() == 1:
                p.add_(0.3 * torch.randn(p.shape, generator=g))
    return m.eval()


def _tokens(seed: int = 0):
    return torch.randint(0, 20, (3, 10), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("ln,d_mlp", [(True, 16), (False, None)])
def test_stack_sums_to_final_residual(ln, d_mlp):
    m = _model(ln, d_mlp)
    _, cache = m.run_with_cache(_tokens())
    st = dla.residual_stack(m, cache, pos=4)
    assert torch.allclose(st.total(), cache["blocks.1.hook_resid_post"][:, 4], atol=1e-5)
    n_terms = 2 + 2 * (2 + 1 + (d_mlp is not None))
    assert st.terms.shape == (n_terms, 3, 16) and len(st.labels) == n_terms
    assert ("MLP1" in st.labels) == (d_mlp is not None)
    assert (st.scale is None) == (not ln)


@pytest.mark.parametrize("ln,d_mlp", [(True, 16), (False, None)])
def test_attributions_sum_to_logit_difference(ln, d_mlp):
    m = _model(ln, d_mlp)
    toks = _tokens(1)
    logits, cache = m.run_with_cache(toks)
    good, bad = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    att = dla.direct_logit_attribution(m, cache, good, bad, pos=-1)
    want = logits[torch.arange(3), -1, good] - logits[torch.arange(3), -1, bad]
    assert torch.allclose(att.total(), want, atol=1e-4)
    # plain logit (no bad token) too
    att1 = dla.direct_logit_attribution(m, cache, good, None, pos=3)
    assert torch.allclose(att1.total(), logits[torch.arange(3), 3, good], atol=1e-4)
    assert set(att.mean()) == set(att.labels)
    # one position per row
    pos = torch.tensor([2, 9, 5])
    att2 = dla.direct_logit_attribution(m, cache, good, bad, pos=pos)
    rows = torch.arange(3)
    assert torch.allclose(att2.total(), logits[rows, pos, good] - logits[rows, pos, bad], atol=1e-4)
    with pytest.raises(ShapeError):
        dla.direct_logit_attribution(m, cache, good, bad, pos=torch.tensor([1, 2]))


@pytest.mark.parametrize("ln,d_mlp", [(True, 16), (False, None)])
def test_components_of_every_logit_sum_to_the_logits(ln, d_mlp):
    # attention-only without LN: the logits exactly; with LN: the logits with the scale frozen (the same numbers)
    m = _model(ln, d_mlp)
    logits, cache = m.run_with_cache(_tokens(5))
    att = dla.direct_logit_attribution(m, cache, pos=slice(None))
    assert att.per_term.shape == (len(att.labels), 3, 10, 20)
    assert torch.allclose(att.total(), logits, atol=1e-4)
    parts = att.direct_and_heads()  # direct path (embeddings, biases, MLPs, constant) + one per head
    assert parts.shape == (1 + 2 * 2, 3, 10, 20) and torch.allclose(parts.sum(0), logits, atol=1e-4)
    # one position: the same numbers as the all-position run
    at3 = dla.direct_logit_attribution(m, cache, pos=3)
    assert torch.allclose(at3.per_term, att.per_term[:, :, 3], atol=1e-5)
    # a logit per row and position (the true next token) is the gather of the full attribution
    nxt = _tokens(5)[:, 1:]
    got = dla.direct_logit_attribution(m, cache, nxt, pos=slice(None, -1))
    assert torch.allclose(
        got.per_term,
        att.per_term[:, :, :-1].gather(-1, nxt.expand(len(att.labels), -1, -1)[..., None]).squeeze(-1),
        atol=1e-5,
    )
    with pytest.raises(ShapeError):
        dla.direct_logit_attribution(m, cache, nxt, pos=-1)


def test_term_logits_needs_the_frozen_scale_of_a_layernorm_model():
    m = _model(ln=True)
    _, cache = m.run_with_cache(_tokens(6))
    z = cache["blocks.1.attn.hook_z"][:, -1]
    heads = dla.head_outputs(z, m.W_O[1])
    assert heads.shape == (2, 3, 16)
    with pytest.raises(ShapeError, match="scale"):
        dla.term_logits(m, heads, None)
    got = dla.term_logits(m, heads, cache["ln_final.hook_scale"][:, -1])
    att = dla.direct_logit_attribution(m, cache, pos=-1)
    assert torch.allclose(got, att.per_term[[att.labels.index("L1H0"), att.labels.index("L1H1")]], atol=1e-5)


def test_frozen_ln_is_linear_and_matches_layernorm():
    x = torch.randn(5, 4, 16)
    total = x.sum(0)
    scale = (total.var(-1, unbiased=False, keepdim=True) + 1e-5).sqrt()
    normed = dla.apply_frozen_ln(x, scale).sum(0)
    ref = torch.nn.functional.layer_norm(total, (16,))
    assert torch.allclose(normed, ref, atol=1e-5)
    assert dla.apply_frozen_ln(x, None) is x


def test_logit_lens_last_point_is_model_logits():
    m = _model()
    toks = _tokens(2)
    logits, cache = m.run_with_cache(toks)
    lens = dla.logit_lens(m, cache)
    assert (
        list(lens)
        == dla.resid_names(2)
        == [
            "blocks.0.hook_resid_pre",
            "blocks.0.hook_resid_mid",
            "blocks.0.hook_resid_post",
            "blocks.1.hook_resid_mid",
            "blocks.1.hook_resid_post",
        ]
    )
    assert torch.allclose(lens["blocks.1.hook_resid_post"], logits, atol=1e-4)
    assert not torch.allclose(lens["blocks.0.hook_resid_pre"], logits, atol=1e-2)


class _Tok:
    def decode(self, ids):
        return "".join(chr(97 + i) for i in ids)

    def id_to_str(self, i):
        return chr(97 + i)


def test_top_activating_contexts_finds_known_maxima():
    acts = torch.zeros(2, 6)
    acts[1, 3] = 5.0
    acts[0, 0] = 2.0
    toks = torch.arange(12).view(2, 6)
    top = dla.top_activating_contexts(acts, toks, _Tok(), k=2, before=2, after=1)
    assert [(c.row, c.pos, c.act) for c in top] == [(1, 3, 5.0), (0, 0, 2.0)]
    assert (top[0].before, top[0].token, top[0].after) == ("hi", "j", "k")
    assert top[1].before == "" and "j" in str(top[0])
    with pytest.raises(ShapeError):
        dla.top_activating_contexts(acts, toks[:, :5], _Tok())


def test_neuron_ablation_and_output_logits():
    m = _model()
    toks = _tokens(3)
    with torch.no_grad():
        m.blocks[1].mlp.out.weight[:, 5] = 0.0  # a neuron that writes nothing (W_out is a view of this)
    clean, abl = dla.ablate_neuron_logits(m, toks, layer=1, neuron=5)
    assert torch.allclose(clean, abl, atol=1e-6)
    assert torch.allclose(dla.neuron_output_logits(m, 1, 5), torch.zeros(20), atol=1e-6)
    clean, abl = dla.ablate_neuron_logits(m, toks, layer=1, neuron=6, value=10.0)
    assert (clean - abl).abs().max() > 1e-3
    with pytest.raises(ShapeError):
        dla.ablate_neuron_logits(m, toks, layer=2, neuron=0)
    with pytest.raises(ShapeError):
        dla.ablate_neuron_logits(_model(False, None), toks, layer=0, neuron=0)


def test_direct_effect_estimate_divides_by_the_ln_scale_at_each_neurons_top_positions():
    from helpers.neurons import direct_effect_estimate

    acts = torch.zeros(2, 3, 2)
    acts[0, 0, 0], acts[1, 2, 0] = 4.0, 2.0  # neuron 0 fires twice, neuron 1 once
    acts[0, 1, 1] = 6.0
    scale = torch.ones(2, 3, 1)
    scale[0, 1] = 3.0  # neuron 1 fires where the residual stream is large
    push = torch.tensor([1.0, 2.0])
    est = direct_effect_estimate(acts, scale, push, k=1)
    assert torch.allclose(est, torch.tensor([4.0, 6.0 / 3.0 * 2.0]))
    assert torch.allclose(direct_effect_estimate(acts, torch.ones(2, 3, 1), push, k=2), torch.tensor([3.0, 6.0]))


def test_neuron_output_logits_is_exact_without_ln():
    # Without LayerNorm, changing a last-layer neuron from a to v moves the logits at that
    # position by exactly (v - a) * neuron_output_logits.
    m = _model(ln=False, d_mlp=16)
    toks = _tokens(4)
    _, cache = m.run_with_cache(toks)
    a = cache["blocks.1.mlp.hook_post"][:, :, 3]
    clean, abl = dla.ablate_neuron_logits(m, toks, layer=1, neuron=3, value=2.0)
    want = (2.0 - a)[..., None] * dla.neuron_output_logits(m, 1, 3)
    assert torch.allclose(abl - clean, want, atol=1e-4)
