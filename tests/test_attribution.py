"""helpers.attribution: attribution patching, the sender/receiver graph, run_graph, path patching, EAP (notebook 11)."""

import pytest
import torch

from helpers import attribution as at
from helpers import interventions as iv
from helpers.configs import ModelConfig
from helpers.errors import ConfigError, ShapeError
from helpers.models import build_model

PERIOD = 5


@pytest.fixture(scope="module")
def setup():
    cfg = ModelConfig(d_vocab=30, n_ctx=16, d_model=16, n_layers=2, n_heads=2, d_head=8, seed=0)
    model = build_model(cfg).eval()
    g = torch.Generator().manual_seed(0)
    r = torch.randint(1, 30, (4, PERIOD), generator=g)
    clean = torch.cat([torch.zeros(4, 1, dtype=torch.long), r, r], dim=1)
    corrupt = at.corrupt_first_copy(clean, PERIOD, 30, seed=1)
    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(clean)
        corrupt_logits, corrupt_cache = model.run_with_cache(corrupt)
    return model, clean, corrupt, clean_logits, clean_cache, corrupt_logits, corrupt_cache


def correct_logit(tokens):
    """A metric linear in the final residual stream (no LayerNorm): the mean logit of each next token."""
    return lambda logits: logits[:, :-1].gather(-1, tokens[:, 1:, None]).mean()


def test_corruption_keeps_bos_and_second_copy_and_changes_the_first(setup):
    _, clean, corrupt, *_ = setup
    assert torch.equal(corrupt[:, 0], clean[:, 0]) and torch.equal(corrupt[:, PERIOD + 1 :], clean[:, PERIOD + 1 :])
    assert (corrupt[:, 1 : PERIOD + 1] != clean[:, 1 : PERIOD + 1]).float().mean() > 0.8


def test_induction_logprob_is_zero_for_perfect_logits_and_reads_the_second_copy(setup):
    _, clean, *_ = setup
    perfect = torch.full((4, clean.shape[1], 30), -1e4)
    perfect[:, :-1].scatter_(-1, clean[:, 1:, None], 0.0)
    assert at.induction_logprob(perfect, clean, PERIOD).abs() < 1e-4
    perfect[:, : PERIOD + 1] = 0.0  # the first copy and the second copy's first prediction do not count
    assert at.induction_logprob(perfect, clean, PERIOD).abs() < 1e-4


def test_attribution_equals_activation_patching_for_a_linear_metric_of_a_linear_site(setup):
    """Logits are linear in layer-1 hook_z (no LayerNorm, no later layer): the estimate is exact there."""
    model, clean, corrupt, _, clean_cache, *_ = setup
    metric = correct_logit(clean)
    positions = list(range(clean.shape[1]))
    est = at.attribution_patch_heads(model, corrupt, clean_cache, metric)
    real = at.activation_patch_heads(model, corrupt, clean_cache, metric, positions)
    assert est.shape == real.shape == (2, 2, clean.shape[1])
    assert torch.allclose(est[1], real[1], atol=1e-4) and real[1].abs().max() > 1e-3


def test_graph_nodes_and_edges():
    senders, receivers = at.graph_nodes(2, 4)
    valid = at.valid_edges(2, 4)
    assert len(senders) == 9 and len(receivers) == 25 and valid.shape == (25, 9)
    assert int(valid.sum()) == 4 * 3 + 5 * 12 + 9 == 81
    assert not valid[receivers.index("L1H0.k"), senders.index("L1H1")]  # no edge within a layer
    assert valid[receivers.index("L1H0.k"), senders.index("L0H3")] and valid[-1].all()


def test_senders_sum_to_the_residual_stream(setup):
    model, _, _, _, clean_cache, *_ = setup
    parts = at.sender_outputs(model, clean_cache)
    assert parts.shape[0] == 5
    total = parts.sum(0) + model.b_O.sum(0)
    assert torch.allclose(total, clean_cache["unembed.hook_in"], atol=1e-4)
    first = at.sender_outputs(model, clean_cache, n_layers=1).sum(0) + model.b_O[0]
    assert torch.allclose(first, clean_cache["blocks.1.hook_resid_pre"], atol=1e-4)


def test_full_graph_is_the_clean_run_and_empty_graph_the_corrupted_run(setup):
    model, clean, _, clean_logits, _, corrupt_logits, corrupt_cache = setup
    valid = at.valid_edges(2, 2)
    assert torch.allclose(at.run_graph(model, clean, corrupt_cache, valid), clean_logits, atol=1e-4)
    assert torch.allclose(at.run_graph(model, clean, corrupt_cache, torch.zeros_like(valid)), corrupt_logits, atol=1e-4)
    with pytest.raises(ShapeError):
        at.run_graph(model, clean, corrupt_cache, valid[:-1])
    with_mlp = build_model(ModelConfig(d_vocab=30, n_ctx=16, d_model=16, n_layers=2, n_heads=2, d_head=8, d_mlp=32))
    with pytest.raises(ConfigError, match="attention-only"):
        at.run_graph(with_mlp, clean, corrupt_cache, valid)


def test_path_patching_the_keys_equals_recomputing_them_by_hand(setup):
    model, clean, _, _, clean_cache, _, corrupt_cache = setup
    swap = at.sender_outputs(model, corrupt_cache)[1] - at.sender_outputs(model, clean_cache)[1]  # L0H0
    keys = torch.einsum("bpd,hde->bphe", clean_cache["blocks.1.hook_resid_pre"] + swap, model.W_K[1]) + model.b_K[1]
    site = iv.Site("blocks.1.attn.hook_k")
    by_hand = iv.patch(model, clean, {"blocks.1.attn.hook_k": keys}, site)
    assert torch.allclose(at.path_patch(model, clean, corrupt_cache, "L0H0", "k"), by_hand, atol=1e-4)
    assert not torch.allclose(by_hand, model(clean), atol=1e-4)


def test_edge_scores_of_logit_edges_are_exact_for_a_linear_metric(setup):
    """Cutting a sender -> logits edge changes the final residual by the sender's difference, linearly."""
    model, clean, _, _, _, _, corrupt_cache = setup
    metric = correct_logit(clean)
    scores = at.edge_scores(model, clean, corrupt_cache, metric)
    valid = at.valid_edges(2, 2)
    assert scores.shape == valid.shape and (scores[~valid] == 0).all()
    with torch.no_grad():
        base = float(metric(model(clean)))
    for s in range(valid.shape[1]):
        keep = valid.clone()
        keep[-1, s] = False
        real = float(metric(at.run_graph(model, clean, corrupt_cache, keep))) - base
        assert abs(real - float(scores[-1, s])) < 1e-3


def test_top_edges_ranks_by_absolute_score():
    scores = torch.tensor([[0.1, -3.0], [2.0, 0.0]])
    assert at.top_edges(scores, 1).tolist() == [[False, True], [False, False]]
    assert int(at.top_edges(scores, 3).sum()) == 3 and not at.top_edges(scores, 3)[1, 1]
