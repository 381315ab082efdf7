"""Negative controls of notebook 12: its learned-structure claims fail on an untrained model of ioi3l's config.

Each test computes one of the notebook's claims as the notebook does (same rows, same rules) on an
untrained model with the committed checkpoint's architecture, with the notebook's bounds, read from
its source so that the two cannot drift apart, and asserts that the claim fails there. Where a claim
would fail for a trivial reason alone (no head passes the S2-attention rule, so the set of heads is
empty), the test also checks the claim on the untrained model's closest candidates. The notebook's
negative result (no duplicate-token head) holds on an untrained model too, as the notebook says; it
is not tested here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from helpers import attribution, interventions, ioi, ioi_heads, ioi_model, models, probes

SOURCE = Path(__file__).resolve().parent.parent / "notebooks" / "src" / "12_indirect_object.py"


def bound(name: str) -> float:
    """A bound constant as the notebook defines it (``NAME = value  # ...``)."""
    found = re.search(rf"^{name} = ([0-9.]+)", SOURCE.read_text(), re.MULTILINE)
    assert found, f"notebook 12 no longer defines {name}"
    return float(found.group(1))


@pytest.fixture(scope="module")
def control():
    """The untrained model (the notebook's control: the checkpoint's config, seed + 1) and the notebook's rows."""
    trained, _ = ioi_model.ioi_checkpoint()
    cfg = models.config_of(trained)
    model = models.build_model(cfg.replace(seed=cfg.seed + 1)).eval()
    test = ioi.ioi_dataset(ioi.IOIConfig(), 1000, "test", seed=100)
    small = ioi.ioi_dataset(ioi.IOIConfig(), 400, "test", seed=101)
    names = torch.tensor([ioi.IOIVocab().stoi[n] for n in ioi.NAMES])
    cat = ioi_heads.head_catalogue(model, test.tokens, ioi_heads.IOIPositions.of(test), name_tokens=names)
    ranked = [divmod(i, model.cfg.n_heads) for i in cat["s_inhibition"].flatten().argsort(descending=True).tolist()]
    return dict(model=model, test=test, small=small, cat=cat, ranked=ranked)  # ranked: heads by END -> S2 attention


def test_c1_the_model_solves_ioi_fails(control):
    """12: 'IO beats S on >= IO_BEATS_S_MIN of the held-out rows, mean logit diff >= LOGIT_DIFF_MIN'."""
    model, test = control["model"], control["test"]
    with torch.no_grad():
        diff = ioi.logit_diff(model(test.tokens), test)
    assert not (float((diff > 0).float().mean()) >= bound("IO_BEATS_S_MIN") and diff.mean() >= bound("LOGIT_DIFF_MIN"))


def test_c1_fails_for_the_trained_model_when_the_names_carry_no_answer(control):
    """12's second control: the *trained* model on ABC sentences (S2 a third name, so nothing says which
    first-clause name is the subject) must fail the claim the clean sentences pass."""
    trained, _ = ioi_model.ioi_checkpoint()
    abc = ioi.abc_corrupt(control["test"], seed=1)  # as the notebook draws them
    with torch.no_grad():
        diff = ioi.logit_diff(trained(abc.tokens), abc)
    io_beats_s = float((diff > 0).float().mean())
    assert not (io_beats_s >= bound("IO_BEATS_S_MIN") and diff.mean() >= bound("LOGIT_DIFF_MIN")), io_beats_s
    assert 0.3 < io_beats_s < 0.7, f"ABC sentences should sit near chance, got {io_beats_s:.1%}"


def test_c2_s_suppression_heads_fail(control):
    """12: 'a head attends END -> S2 with >= S2_ATTENTION; each such head has DLA >= S2_DLA_MIN, copies negatively'."""
    cat, ranked = control["cat"], control["ranked"]
    s2_heads = [lh for lh in ranked if cat["s_inhibition"][lh] >= bound("S2_ATTENTION")]
    assert not s2_heads, "an untrained head should not attend to S2 that much"
    top = ranked[0]  # the untrained model's best candidate still fails the DLA rule
    assert cat["dla"][top] < bound("S2_DLA_MIN")


def _ablated_logit_diff(model, small, cache, heads):
    z = {f"blocks.{layer}.attn.hook_z": cache[f"blocks.{layer}.attn.hook_z"].clone() for layer, _ in heads}
    for layer, h in heads:
        z[f"blocks.{layer}.attn.hook_z"][:, :, h] = cache[f"blocks.{layer}.attn.hook_z"][:, :, h].mean(0)
    sites = [interventions.head_site(layer, h) for layer, h in heads]
    return float(ioi.logit_diff(interventions.patch(model, small.tokens, z, sites), small).mean())


def test_c4_ablation_claim_fails(control):
    """12: 'mean-ablating the S-suppression heads removes >= ABLATION_SHARE_MIN of the >= LOGIT_DIFF_MIN logit
    difference, >= RANDOM_RATIO x the median random set' (here with the two heads of highest END -> S2 attention)."""
    model, small, ranked = control["model"], control["small"], control["ranked"]
    with torch.no_grad():
        logits, cache = model.run_with_cache(small.tokens)
    base = float(ioi.logit_diff(logits, small).mean())
    drop = base - _ablated_logit_diff(model, small, cache, ranked[:2])
    assert not (base >= bound("LOGIT_DIFF_MIN") and drop >= bound("ABLATION_SHARE_MIN") * base)


def test_c5_path_patching_claim_fails(control):
    """12: 'cutting all the S-suppression heads' edges loses >= PATH_SHARE_MIN of the >= LOGIT_DIFF_MIN clean - ABC
    gap' (here with the head of highest END -> S2 attention as the sender; 100 of the notebook's 400 rows)."""
    model, ranked = control["model"], control["ranked"]
    small = ioi.ioi_dataset(ioi.IOIConfig(), 100, "test", seed=101)
    abc = ioi.abc_corrupt(small, seed=1)
    with torch.no_grad():
        clean = float(ioi.logit_diff(model(small.tokens), small).mean())
        _, abc_cache = model.run_with_cache(abc.tokens)
        gap = clean - float(ioi.logit_diff(model(abc.tokens), small).mean())
        n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
        senders, _ = attribution.graph_nodes(n_layers, n_heads)
        keep = attribution.valid_edges(n_layers, n_heads)
        keep[:, senders.index("L{}H{}".format(*ranked[0]))] = False  # every edge of the sender
        cut = float(ioi.logit_diff(attribution.run_graph(model, small.tokens, abc_cache, keep), small).mean())
    share = (clean - cut) / gap if gap else 0.0
    assert not (gap >= bound("LOGIT_DIFF_MIN") and share >= bound("PATH_SHARE_MIN"))


def test_c6_io_probe_claim_fails(control):
    """12: 'after the last layer the IO probe reaches >= IO_PROBE_MIN' (the notebook's untrained control, asserted
    there to stay <= UNTRAINED_IO_MAX, is this model)."""
    model, test = control["model"], control["test"]
    last = f"blocks.{model.cfg.n_layers - 1}.hook_resid_post"
    with torch.no_grad():
        _, cache = model.run_with_cache(test.tokens, names_filter=lambda name: name == last)
    acts = cache[last][torch.arange(len(test)), test.end_pos]
    acc = probes.fit_probe(acts, ioi_heads.name_classes(test.io_token), probes.ProbeConfig(), n_classes=40).test_acc
    assert not acc >= bound("IO_PROBE_MIN")
    assert acc <= bound("UNTRAINED_IO_MAX")
