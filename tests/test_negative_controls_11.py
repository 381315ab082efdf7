"""Negative controls of notebook 11: its learned-structure claims fail on an untrained model of attn2l's config.

The notebook's claims come in two kinds. Claims about the trained model's circuit (a large
clean-corrupted gap; the previous-token head acting through the induction heads' keys; a small
faithful circuit that contains notebook 03's heads; attribution patching failing for the
previous-token head, whose effect is gated by the induction heads' softmax) must fail on an
untrained model with the same config: this file computes them as the notebook does, with the
notebook's bounds. Claims about the method (attribution patching is exact-ish for layer-1 heads;
EAP ranks edges like real cuts; the graph reproduces the model) hold on any model of this kind:
``test_method_claims_hold_on_the_control_too`` records that, so nobody mistakes them for evidence
of learned structure. (tests/test_negative_controls.py has the other notebooks' controls.)
"""

from __future__ import annotations

import pytest
import torch

from helpers import attribution, heads, lm, models, stats, tasks

PERIOD = 20


def _pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.flatten() - a.mean(), b.flatten() - b.mean()
    return float((a * b).sum() / (a.norm() * b.norm()))


def _live_pearson(a: torch.Tensor, b: torch.Tensor) -> float:
    """As notebook 11 computes r: over the cells where either method moves the metric by more than 1e-6 nats."""
    keep = (a.abs() > 1e-6) | (b.abs() > 1e-6)
    return _pearson(a[keep], b[keep])


@pytest.fixture(scope="module")
def control():
    """Notebook 11's quantities on an untrained attn2l (init seed 1), with the notebook's probes."""
    trained, _ = lm.lm_checkpoint("attn2l")
    model = models.build_model(models.config_of(trained).replace(seed=1))
    cfg = models.config_of(model)
    clean = tasks.repeated_random_tokens(batch=32, seq_len=PERIOD, d_vocab=cfg.d_vocab, seed=1)
    corrupt = attribution.corrupt_first_copy(clean, PERIOD, cfg.d_vocab, seed=101)

    def metric(logits):
        return attribution.induction_logprob(logits, clean, PERIOD)

    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(clean)
        corrupt_logits, corrupt_cache = model.run_with_cache(corrupt)
        m_clean, m_corrupt = float(metric(clean_logits)), float(metric(corrupt_logits))
        scores = heads.all_scores(clean_cache, 2, PERIOD)
        prev = int(scores["previous_token"][0].argmax())
        probe_50 = tasks.repeated_random_tokens(batch=32, seq_len=50, d_vocab=cfg.d_vocab, seed=1)
        scores_50 = heads.all_scores(model.run_with_cache(probe_50)[1], 2, 50)
        ind_heads = [h for h in range(4) if scores_50["induction"][1, h] > 0.5]  # notebook 03's test
        gap = m_clean - m_corrupt
        lost = {
            kind: (m_clean - float(metric(attribution.path_patch(model, clean, corrupt_cache, f"L0H{prev}", kind))))
            / gap
            for kind in ("q", "k", "v", "logits")
        }
        positions = list(range(clean.shape[1]))
        act = attribution.activation_patch_heads(model, corrupt, clean_cache, metric, positions)
        carriers = [h for h in ind_heads if float(act[1, h].sum()) / gap >= 0.15]  # they carry the effect
    attr = attribution.attribution_patch_heads(model, corrupt, clean_cache, metric)
    eap = attribution.edge_scores(model, clean, corrupt_cache, metric)
    senders, receivers = attribution.graph_nodes(2, 4)
    with torch.no_grad():
        circuit = attribution.top_edges(eap, 20)
        m_circuit = float(metric(attribution.run_graph(model, clean, corrupt_cache, circuit)))
        valid = attribution.valid_edges(2, 4)
        real_cut = []  # each edge cut alone, as the notebook does
        for r, s in valid.nonzero().tolist():
            keep = valid.clone()
            keep[r, s] = False
            real_cut.append(float(metric(attribution.run_graph(model, clean, corrupt_cache, keep))) - m_clean)
    return dict(
        gap=gap, lost=lost, act=act, attr=attr, prev=prev, carriers=carriers, circuit=circuit,
        faith=(m_circuit - m_corrupt) / gap, senders=senders, receivers=receivers,
        real_cut=torch.tensor(real_cut), eap_edges=eap[valid],
    )  # fmt: skip


def test_gap_claim_fails(control):
    """11: 'the clean metric is at least 4 nats above the corrupted one'."""
    assert not control["gap"] >= 4.0


def test_key_path_claim_fails(control):
    """11: 'corrupting the previous-token head only in the keys loses >= 80% of the >= 4-nat gap; q, v, logits <= 10%'."""
    lost = control["lost"]
    assert not (control["gap"] >= 4 and lost["k"] >= 0.8 and max(abs(lost[k]) for k in ("q", "v", "logits")) <= 0.1)


def test_previous_token_head_failure_claim_fails(control):
    """11: 'attribution fails for the previous-token head: r <= 0.3, >= 0.6 below layer 1's, the total has the wrong sign'."""
    act, attr, prev = control["act"], control["attr"], control["prev"]
    r_layer1, r_prev = _live_pearson(act[1], attr[1]), _live_pearson(act[0, prev], attr[0, prev])
    assert not (r_prev <= 0.3 and r_prev <= r_layer1 - 0.6 and act[0, prev].sum() * attr[0, prev].sum() < 0)


def test_circuit_claims_fail(control):
    """11: 'the top 20 edges keep >= 80% of the >= 4-nat gap'; 'the circuit contains notebook 03's (>= 2 induction
    heads that carry the effect)'."""
    c = control
    assert not (c["gap"] >= 4 and c["faith"] >= 0.8)
    has = lambda s, r: bool(c["circuit"][c["receivers"].index(r), c["senders"].index(s)])  # noqa: E731
    hand = [("embed", f"L0H{c['prev']}.v")] + [(f"L0H{c['prev']}", f"L1H{h}.k") for h in c["carriers"]]
    assert not (len(c["carriers"]) >= 2 and all(has(s, r) for s, r in hand))


def test_method_claims_hold_on_the_control_too(control):
    """11's 'layer-1 attribution agrees with activation patching (r >= 0.95 over the cells not zero in both)' and
    'EAP ranks edges by size like the real cuts (Spearman >= 0.7 of the sizes over the edges not zero in both;
    Pearson r >= 0.8)' are about the method, not the model: on an untrained model, whose effects are tiny and
    nearly linear, they hold as well."""
    assert _live_pearson(control["act"][1], control["attr"][1]) >= 0.95
    real, eap = control["real_cut"], control["eap_edges"]
    live = (real.abs() > 1e-6) | (eap.abs() > 1e-6)
    assert stats.rank_correlation(real[live].abs(), eap[live].abs()) >= 0.7 and _pearson(real, eap) >= 0.8
