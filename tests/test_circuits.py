"""Tests for helpers.circuits (and the induction detector of helpers.heads) on hand-built cases."""

import pytest
import torch
from transformer_lens import FactoredMatrix

from helpers import circuits, dla, heads
from helpers.configs import ModelConfig
from helpers.errors import ShapeError
from helpers.lm import lm_checkpoint
from helpers.models import build_model


def tiny(n_layers=2, seed=0):
    return build_model(ModelConfig(d_vocab=23, n_ctx=16, d_model=16, n_layers=n_layers, n_heads=2, d_head=8, seed=seed))


def test_perfect_induction_pattern_scores_one():
    period = 5
    pos = 1 + 2 * period
    pat = torch.zeros(1, 2, pos, pos)
    pat[0, :, :, 0] = 1.0  # head 1 rests on BOS
    for i in range(period + 1, pos):  # head 0: second copy attends to the token after the first occurrence
        pat[0, 0, i] = 0.0
        pat[0, 0, i, i - period + 1] = 1.0
    s = heads.induction_score(pat, period)
    assert s[0] == pytest.approx(1.0) and s[1] == pytest.approx(0.0)


def components(model, tokens):
    """Notebook 02's view: the direct path, then one logit term per head (helpers.dla)."""
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens)
    return dla.direct_logit_attribution(model, cache, pos=slice(None)).direct_and_heads()


def test_direct_path_and_head_terms_sum_to_logits():
    model = tiny()
    tokens = torch.randint(0, 23, (3, 10), generator=torch.Generator().manual_seed(0))
    comps = components(model, tokens)
    assert comps.shape == (1 + 2 * 2, 3, 10, 23)
    with torch.no_grad():
        assert torch.allclose(comps.sum(0), model(tokens), atol=1e-4)


def _old_logit_components(model, tokens):
    """The decomposition as notebook 02 computed it before it used helpers.dla."""
    _, cache = model.run_with_cache(tokens)
    direct = cache["hook_embed"] + cache["hook_pos_embed"] + model.b_O.sum(0)
    parts = [direct @ model.W_U + model.b_U]
    for layer in range(model.cfg.n_layers):
        parts.extend(torch.einsum("bphd,hdm->hbpm", cache[f"blocks.{layer}.attn.hook_z"], model.W_O[layer]) @ model.W_U)
    return torch.stack(parts)


@pytest.mark.parametrize("name", ["attn1l", "attn2l"])
def test_direct_and_heads_on_the_committed_checkpoints_match_the_old_formula(name):
    model, _ = lm_checkpoint(name)
    tokens = torch.randint(1, model.cfg.d_vocab, (2, 64), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        comps, old = components(model, tokens), _old_logit_components(model, tokens)
        assert torch.allclose(comps, old, atol=1e-4)
        _, cache = model.run_with_cache(tokens)
    # the true-next-token view: asking dla for those tokens, or gathering them from every logit
    via_dla = dla.direct_logit_attribution(model, cache, tokens[:, 1:], pos=slice(None, -1)).direct_and_heads()
    nxt = tokens[:, 1:].unsqueeze(0).unsqueeze(-1).expand(comps.shape[0], -1, -1, 1)
    assert torch.allclose(comps[:, :, :-1].gather(-1, nxt).squeeze(-1), via_dla, atol=1e-4)


def test_copying_score_known_matrices():
    assert circuits.copying_score(torch.eye(5)) == pytest.approx(1.0)
    assert circuits.copying_score(-torch.eye(5)) == pytest.approx(-1.0)
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]])  # eigenvalues +-i: neither copies nor suppresses
    assert circuits.copying_score(rot) == pytest.approx(0.0, abs=1e-6)
    a = torch.randn(30, 3, generator=torch.Generator().manual_seed(0))
    assert circuits.copying_score(FactoredMatrix(a, a.T)) == pytest.approx(1.0)  # A A^T is positive semi-definite
    assert circuits.copying_score(FactoredMatrix(a, -a.T)) == pytest.approx(-1.0)
    with pytest.raises(ShapeError):
        circuits.copying_score(torch.ones(2, 3))


def test_token_circuits_are_factored_full_products():
    model = tiny(n_layers=1)
    qk = circuits.full_qk_circuit(model, 0, 1)
    assert torch.allclose(qk.AB, model.W_E @ model.W_Q[0, 1] @ model.W_K[0, 1].T @ model.W_E.T, atol=1e-5)
    ov = circuits.full_ov_circuit(model, 0, 0)
    assert isinstance(ov, FactoredMatrix) and ov.shape == (23, 23) and ov.A.shape == (23, 8)
    assert torch.allclose(ov.AB, model.W_E @ model.W_V[0, 0] @ model.W_O[0, 0] @ model.W_U, atol=1e-5)


def test_factored_copying_scores_equal_the_old_factor_computation_on_attn1l():
    # Before: copying_score(A, B) took the two factors and eigendecomposed the small B A in float64.
    model, _ = lm_checkpoint("attn1l")
    with torch.no_grad():
        for head in range(model.cfg.n_heads):
            a, b = model.W_E @ model.W_V[0, head], model.W_O[0, head] @ model.W_U
            eig = torch.linalg.eigvals((b @ a).double())
            old = float(eig.sum().real / eig.abs().sum())
            assert circuits.copying_score(circuits.full_ov_circuit(model, 0, head)) == pytest.approx(old, abs=1e-5)


def test_weighted_value_norms_hand_built():
    pattern = torch.tensor([[[[1.0, 0.0], [0.25, 0.75]]]])  # [batch=1, head=1, q=2, k=2]
    v = torch.tensor([[[[3.0, 4.0]], [[0.0, 1.0]]]])  # [batch, k, head, d_head]: norms 5 and 1
    W_O = torch.eye(2).unsqueeze(0)
    got = circuits.weighted_value_norms(pattern, v, W_O)
    assert torch.allclose(got, torch.tensor([[[[5.0, 0.0], [1.25, 0.75]]]]))


def test_composition_score_known_values():
    n = 4
    assert circuits.composition_score(torch.eye(n), torch.eye(n)) == pytest.approx(1 / n**0.5)
    a = torch.zeros(n, n)
    a[0, 0] = 1.0
    b = torch.zeros(n, n)
    b[1, 1] = 1.0
    assert circuits.composition_score(a, b) == 0.0  # writes where the other does not read
    assert circuits.composition_score(a, a) == pytest.approx(1.0)
    base = circuits.random_composition_baseline(16, 4, n_samples=50, seed=0)
    assert base.shape == (50,) and 0 < base.mean() < 0.5
    assert torch.equal(base, circuits.random_composition_baseline(16, 4, n_samples=50, seed=0))


def test_k_composition_matches_definition():
    model = tiny()
    k = circuits.k_composition_scores(model)
    ov = model.W_V[0, 1] @ model.W_O[0, 1]
    qk = model.W_Q[1, 0] @ model.W_K[1, 0].T
    assert k.shape == (2, 2)
    assert k[0, 1].item() == pytest.approx(circuits.composition_score(ov, qk.T), rel=1e-5)


def test_ablation_and_patching():
    model = tiny(n_layers=1)
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randint(0, 23, (2, 9), generator=gen), torch.randint(0, 23, (2, 9), generator=gen)
    comps_a, comps_b = components(model, a), components(model, b)
    # ablating every head of a 1-layer model leaves the direct path
    assert torch.allclose(circuits.ablate_heads(model, a, [(0, 0), (0, 1)]), comps_a[0], atol=1e-4)
    assert torch.allclose(circuits.ablate_heads(model, a, [(0, 1)]), comps_a[0] + comps_a[1], atol=1e-4)
    # patching head 1 from run b into run a swaps exactly that head's term
    _, cache_b = model.run_with_cache(b)
    patched = circuits.patch_heads(model, a, cache_b, [(0, 1)])
    assert torch.allclose(patched, comps_a[0] + comps_a[1] + comps_b[2], atol=1e-4)
    with pytest.raises(ShapeError):
        circuits.patch_heads(model, a[:, :5], cache_b, [(0, 1)])


def test_repeat_losses_and_icl_score():
    tokens = torch.tensor([[0, 1, 2, 3, 1, 2, 3]])
    logits = torch.zeros(1, 7, 4)
    logits[0, 4:6] = -100.0  # second copy: perfect predictions of 2 and 3
    logits[0, 4, 2] = logits[0, 5, 3] = 100.0
    first, second = circuits.repeat_losses(logits, tokens)
    assert first == pytest.approx(torch.log(torch.tensor(4.0)).item(), rel=1e-5) and second == pytest.approx(
        0.0, abs=1e-5
    )
    loss = torch.zeros(2, 20)
    loss[:, :10] = 3.0
    loss[:, 10:] = 1.0
    assert circuits.icl_score(loss, early=slice(0, 5), late=slice(15, 20)) == pytest.approx(-2.0)


def test_repeated_rows_are_periodic_after_bos():
    from helpers.lm import repeated_rows

    rows = repeated_rows(5, 30, 50, seed=0, min_period=4, max_period=9)
    assert rows.shape == (5, 30) and (rows[:, 0] == 0).all() and (rows[:, 1:] >= 1).all()
    for r in rows:
        body = r[1:]
        period = next(p for p in range(4, 10) if torch.equal(body[p:], body[:-p]))
        assert 4 <= period <= 9
    assert torch.equal(rows, repeated_rows(5, 30, 50, seed=0, min_period=4, max_period=9))


def test_track_metrics_shapes_and_ranges():
    from helpers.lm import track_metrics
    from helpers.tasks import repeated_random_tokens

    model = build_model(ModelConfig(d_vocab=23, n_ctx=128, d_model=16, n_layers=2, n_heads=2, d_head=8))
    probe = repeated_random_tokens(2, 6, 23, seed=0)
    val = torch.randint(0, 23, (2, 128), generator=torch.Generator().manual_seed(0))
    m = track_metrics(model, probe, val)
    assert len(m["induction"]) == 2 and len(m["induction"][0]) == 2
    assert all(0.0 <= s <= 1.0 for layer in m["induction"] for s in layer)
    assert m["loss_repeat1"] > 0 and m["loss_repeat2"] > 0 and isinstance(m["icl_score"], float)


def test_repeated_bigram_mask_marks_only_repeats_of_earlier_bigrams():
    from helpers.circuits import repeated_bigram_mask

    tokens = torch.tensor([[0, 5, 6, 7, 5, 6, 5, 7]])
    # bigram (5, 6) first at 1, again at 4 -> True at 4; (5, 7) at 6 is new; last position False
    assert repeated_bigram_mask(tokens).tolist() == [[False, False, False, False, True, False, False, False]]
    with pytest.raises(ShapeError):
        repeated_bigram_mask(tokens[0])
