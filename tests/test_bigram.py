"""Tests for helpers.bigram: hand-built token rows and tables with known answers."""

import math

import pytest
import torch

from helpers import bigram
from helpers.configs import ModelConfig
from helpers.errors import ShapeError
from helpers.models import build_model


def test_bigram_counts_hand_built():
    rows = torch.tensor([[0, 1, 2, 1, 2], [0, 2, 2, 3, 3]])
    c = bigram.bigram_counts(rows, d_vocab=4)
    assert c[1, 2] == 2 and c[2, 1] == 1 and c[0, 1] == 1 and c[0, 2] == 1 and c[2, 2] == 1 and c[3, 3] == 1
    assert c.sum() == 8  # 4 pairs per row, none across rows


def test_bigram_counts_rejects_bad_ids():
    with pytest.raises(ShapeError, match="vocab size"):
        bigram.bigram_counts(torch.tensor([[0, 5]]), d_vocab=4)


def test_log_probs_normalised_and_exact_without_smoothing():
    counts = torch.tensor([[1.0, 3.0], [2.0, 2.0]])
    lp = bigram.bigram_log_probs(counts, alpha=0.0)
    assert torch.allclose(lp.exp(), torch.tensor([[0.25, 0.75], [0.5, 0.5]]))
    uni = bigram.unigram_log_probs(counts, alpha=0.0)
    assert torch.allclose(uni.exp(), torch.tensor([3 / 8, 5 / 8]))
    assert torch.allclose(bigram.bigram_log_probs(counts + 5, alpha=1.0).exp().sum(-1), torch.ones(2))


def test_mean_kl_known_values():
    p = torch.tensor([[0.5, 0.5], [1.0 - 1e-9, 1e-9]]).log()
    assert bigram.mean_kl(p, p, torch.ones(2)) == pytest.approx(0.0, abs=1e-6)
    q = torch.tensor([0.25, 0.75]).log()
    kl_row0 = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    # all weight on row 0
    assert bigram.mean_kl(p, q, torch.tensor([2.0, 0.0])) == pytest.approx(kl_row0, rel=1e-5)


def test_zero_layer_log_probs_reads_W_E_W_U_and_the_mean_of_W_pos():
    model = build_model(ModelConfig(d_vocab=4, n_ctx=4, d_model=4, n_layers=0, n_heads=1, d_head=4))
    table = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.25] * 4, [0.1, 0.2, 0.3, 0.4]]).log()
    params = dict(model.named_parameters())
    with torch.no_grad():
        model.W_E.copy_(torch.eye(4))
        # W_U is a view of the unembedding weight; write through the parameter
        params["head._original_component.weight"].copy_(table.T)  # weight is [d_vocab, d_model] = W_U^T
        # W_pos averages to zero over positions: the table is W_E W_U, log_softmax'ed (rows already are)
        params["pos._original_component.weight"].copy_(torch.tensor([1.0, -1.0, 2.0, -2.0])[:, None] * torch.ones(4))
    assert torch.allclose(bigram.zero_layer_log_probs(model), table, atol=1e-5)
    with torch.no_grad():  # a mean of e_0 adds row 0's logits to every row: the uniform row 2 becomes row 0
        params["pos._original_component.weight"].add_(torch.eye(4)[0])
    got = bigram.zero_layer_log_probs(model)
    assert torch.allclose(got[2], table[0], atol=1e-5)
    assert torch.allclose(got[0], (2 * table[0]).log_softmax(-1), atol=1e-5)
    with pytest.raises(ShapeError):
        bigram.zero_layer_log_probs(
            build_model(ModelConfig(d_vocab=4, n_ctx=4, d_model=4, n_layers=1, n_heads=1, d_head=4))
        )


def test_top_next_and_previous():
    t = torch.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 2.0], [9.0, 4.0, 0.0]])
    assert bigram.top_next(t, 0, k=2)[0] == [1, 2]
    assert bigram.top_previous(t, 0, k=2)[0] == [2, 1]
    assert bigram.top_previous(t, 1, k=1) == ([0], [5.0])
