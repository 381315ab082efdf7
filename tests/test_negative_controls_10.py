"""Negative controls for notebook 10: its learned-structure claims, computed on controls that must fail them.

The pattern of tests/test_negative_controls.py, for notebook 10 (superposition and SAEs): each test
computes the quantities a claim tests, with the notebook's own bounds, on something that should
fail it (an untrained toy model, an untrained SAE, an SAE trained on an untrained language model
of attn2l's config), and checks that the claim does fail there. When a claim's bound changes in
notebooks/src/10_superposition_saes.py, change it here too: each test names the claims it mirrors.
"""

from __future__ import annotations

import pytest
import torch

from helpers import bigram, data, interventions, lm, models
from helpers import sae as sae_lib
from helpers import superposition as sp

HOOK = "blocks.0.hook_resid_post"
SPARSITIES = (0.0, 0.7, 0.9, 0.97, 0.99)


@pytest.fixture(autouse=True)
def _one_thread():
    """Small tensors: a second thread only adds synchronisation (and stalls on a busy machine)."""
    torch.set_num_threads(1)
    yield


@torch.no_grad()
def test_superposition_claims_fail_on_an_untrained_toy_model():
    """10: 'dense features: only d_hidden features, the most important ones'; 'interference: orthogonal at S = 0'."""
    cfg5 = sp.ToyConfig(n_features=5, d_hidden=2, sparsities=SPARSITIES, importance_decay=0.8)
    cfg20 = sp.ToyConfig(n_features=20, d_hidden=5, sparsities=(0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99))
    for seed in (0, 1):
        W5, W20 = sp.ToyModel(cfg5, seed=seed).W, sp.ToyModel(cfg20, seed=seed).W
        n5, n20, norms5 = sp.features_represented(W5), sp.features_represented(W20), sp.feature_norms(W5)
        dense = n5[0] <= 2 and norms5[0, :2].min() > 0.9 and norms5[0, 2:].max() < 0.2 and n20[0] <= 5
        assert not dense
        G = sp.gram(W5)
        offdiag = G - torch.diag_embed(torch.diagonal(G, dim1=1, dim2=2))
        assert not (offdiag[0].abs().max() < 0.1 and offdiag[-1].abs().max() > 0.2)


def test_the_sparse_claim_fails_on_dense_features():
    """10: 'sparse features (S = 0.99): more features than dimensions' is about sparsity: the same count, with
    the same bound, fails for the instance trained on dense features (the claim's control is in the run itself)."""
    W5 = sp.train_toy(sp.ToyConfig(n_features=5, d_hidden=2, sparsities=(0.0,), n_steps=1_500), seed=0).W.detach()
    assert not sp.features_represented(W5)[0] > 2


def test_feature_recovery_claim_fails_for_an_untrained_sae():
    """10: 'the SAE recovers the toy's true features: mean max-cosine > 0.9, >= 85% above 0.9'."""
    cfg40 = sp.ToyConfig(n_features=40, d_hidden=10, sparsities=(0.97,), importance_decay=0.97, n_steps=800)
    true_dirs = sp.train_toy(cfg40, seed=0).W.detach()[0].T
    for seed in (0, 1):
        untrained = sae_lib.SAE(sae_lib.SAEConfig(d_in=10, expansion=4), seed=seed)
        cos = sae_lib.max_cosine(true_dirs, untrained.W_dec.detach())
        assert not (cos.mean() > 0.9 and (cos > 0.9).float().mean() >= 0.85)


@pytest.fixture(scope="module")
def attn2l_rows():
    model, _ = lm.lm_checkpoint("attn2l")
    cfg = models.config_of(model)
    train_rows, val_rows, _ = data.token_dataset(n_ctx=cfg.n_ctx, vocab_size=cfg.d_vocab, max_val_rows=64, seed=0)
    return model, cfg, train_rows, val_rows


def _acts(model, rows) -> torch.Tensor:
    return interventions.cache_sites(model, rows, interventions.Site(HOOK))[HOOK].flatten(0, 1)


@torch.no_grad()
def test_lm_sae_claims_fail_for_an_untrained_sae(attn2l_rows):
    """10: 'L0 < 35, variance explained > 0.78, dead < 5%'; 'loss recovered >= 0.80 (zero), >= 0.78 (mean)';
    'latents more token-specific than the basis (median share >= basis + 0.1)'."""
    model, cfg, train_rows, val_rows = attn2l_rows
    acts = _acts(model, train_rows[:320])
    val_acts = _acts(model, val_rows)
    for seed in (0, 1):
        untrained = sae_lib.SAE(sae_lib.SAEConfig(d_in=cfg.d_model, expansion=4), seed=seed)
        untrained.b_dec.copy_(acts.mean(0))  # as train_sae starts: the control differs only by training
        f, x_hat = untrained(val_acts)
        dead = sae_lib.dead_latents(f).float().mean()
        assert not (sae_lib.l0(f) < 35 and sae_lib.fraction_variance_explained(val_acts, x_hat) > 0.78 and dead < 0.05)
        L = sae_lib.splice_losses(model, val_rows, untrained, HOOK)
        rec_zero = sae_lib.loss_recovered(L.clean, L.spliced, L.zero)
        rec_mean = sae_lib.loss_recovered(L.clean, L.spliced, L.mean)
        assert not (rec_zero >= 0.80 and rec_mean >= 0.78)
        centred = val_acts - val_acts.mean(0)
        tokens = val_rows.reshape(-1)
        basis = sae_lib.top_token_share(torch.cat([centred, -centred], dim=1), tokens)
        assert not sae_lib.top_token_share(f, tokens).nanmedian() >= basis.nanmedian() + 0.1


def _logit_claim(sae, model, val_acts, val_rows, train_rows, d_vocab) -> tuple[int, float, float, float]:
    """The notebook's last claim, read through ``model``'s embedding and unembedding: (number of token-specific
    latents, median matched mass, median shuffled mass, median mass of the direct path (W_E[t] - mean) W_U)."""
    W_E, W_U = model.W_E.detach(), model.W_U.detach()
    with torch.no_grad():
        f, _ = sae(val_acts)
        tokens = val_rows.reshape(-1)
        share = sae_lib.top_token_share(f, tokens)
        specific = (~share.isnan() & (share >= 0.8)).nonzero().squeeze(1)
        logits = sae.W_dec @ W_U
        counts = bigram.bigram_counts(train_rows, d_vocab)
        next_probs = counts / counts.sum(1, keepdim=True).clamp_min(1)
        latent_token = tokens[f[:, specific].argmax(0)]
        matched = sae_lib.next_token_mass(logits[specific], next_probs[latent_token])
        shuffled = sae_lib.next_token_mass(logits[specific], next_probs[latent_token.roll(1)])
        direct = sae_lib.next_token_mass((W_E[latent_token] - W_E.mean(0)) @ W_U, next_probs[latent_token])
    return len(specific), float(matched.median()), float(shuffled.median()), float(direct.median())


def _holds(n: int, matched: float, shuffled: float, direct: float) -> bool:
    return n >= 30 and matched > 3 * shuffled and 0.5 * direct <= matched <= 2 * direct


def test_logit_effect_claim_fails_on_an_untrained_language_model(attn2l_rows):
    """10: 'a token-specific latent's direct logit effect promotes what follows its token, about as much as the
    direct path: >= 30 such latents, median next-token mass > 3 x the mass after another latent's token, and within
    a factor of 2 of the direct path (W_E[t] - mean) W_U'. Two controls: an SAE trained the
    notebook's way on an untrained model of attn2l's config (it finds no latent that detects one token), and
    attn2l's own SAE read through an untrained model's unembedding (the same latents, random logit effects)."""
    model, cfg, train_rows, val_rows = attn2l_rows
    sae_cfg = sae_lib.SAEConfig(d_in=cfg.d_model, expansion=4, l1_coeff=1.0, n_steps=1_500, batch_size=1_024, lr=3e-3)
    control = models.build_model(cfg.replace(seed=1))
    acts, val_acts = _acts(control, train_rows[:320]), _acts(control, val_rows)
    on_control, _ = sae_lib.train_sae(acts, sae_cfg, seed=0)
    assert not _holds(*_logit_claim(on_control, control, val_acts, val_rows, train_rows, cfg.d_vocab))

    acts, val_acts = _acts(model, train_rows[:320]), _acts(model, val_rows)
    trained, _ = sae_lib.train_sae(acts, sae_cfg, seed=0)
    assert _holds(*_logit_claim(trained, model, val_acts, val_rows, train_rows, cfg.d_vocab))  # the real one holds
    n, matched, shuffled, _ = _logit_claim(trained, control, val_acts, val_rows, train_rows, cfg.d_vocab)
    assert n >= 30 and not matched > 3 * shuffled  # same token detectors; only the logit half fails
