"""Negative controls: every notebook's claims, computed on something that should fail them.

A claim that cannot fail is not a check. For each notebook, these tests compute the quantities
its claims test on a *negative control* (an untrained model of the same config, shuffled
labels, a shuffled or all-failed sweep grid) and check that the claims asserting a learned
structure fail there, with the notebook's own bounds. When a notebook's claim changes, change
its bound here too: each test names the claims it mirrors.

Claims that are identities (a decomposition that sums exactly, a loaded model giving the same
logits, our implementation equals the library's, a QK table predicting the pattern of a
1-layer model) test the code, not the model, and are not repeated here; nor are claims about
stored data (a committed sweep or search), whose controls would be other data.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from helpers import algorithmic, bigram, circuits, data, fourier, grokking, heads, lm, models, tasks, training
from helpers.configs import ModelConfig
from helpers.grokking import FastGrokModel, GrokConfig


@pytest.fixture(scope="module")
def corpus() -> tuple[torch.Tensor, torch.Tensor]:
    train_rows, val_rows, _ = data.token_dataset(n_ctx=128, vocab_size=2048, max_val_rows=64, seed=0)
    return train_rows, val_rows


def untrained_like(name: str, seed: int = 1):
    """An untrained model with the config of checkpoint ``name`` (another init seed than its training run)."""
    model, _ = lm.lm_checkpoint(name)
    return models.build_model(models.config_of(model).replace(seed=seed))


@torch.no_grad()
def test_00_tour_claims_fail_on_an_untrained_model(corpus):
    """00: 'the validation loss is 2 nats below uniform'; 'no head attends uniformly (entropy 0.25 nats below)';
    'ablating the trained heads raises the loss, one by > 0.1'."""
    _, val_rows = corpus
    cfg = ModelConfig(d_vocab=2048, n_ctx=64, d_model=64, n_layers=2, n_heads=4, d_head=16, seed=0)
    model = models.build_model(cfg)
    rows = val_rows[:32, :64]
    clean = training.next_token_loss(model(rows), rows).mean().item()
    assert not clean < math.log(2048) - 2.0
    text = "ROMEO.\nBut soft, what light through yonder window breaks?"  # the notebook's text
    tokens = torch.tensor([[0] + data.get_tokenizer("bpe", vocab_size=2048).encode(text)])
    _, cache = model.run_with_cache(tokens)
    n_keys = torch.arange(2, tokens.shape[1] + 1).float()
    for layer in range(2):
        p = cache[f"blocks.{layer}.attn.hook_pattern"]
        entropy = -(p * p.clamp_min(1e-12).log()).sum(-1)[..., 1:].mean((0, 2))
        assert not (n_keys.log().mean() - entropy).min() > 0.25
    effects = torch.tensor(
        [
            training.next_token_loss(circuits.ablate_heads(model, rows, [(layer, h)]), rows).mean().item() - clean
            for layer in range(2)
            for h in range(4)
        ]
    )
    assert not (int((effects > 0).sum()) >= 6 and effects.max().item() > 0.1)


@torch.no_grad()
def test_01_bigram_claims_fail_on_an_untrained_model(corpus):
    """01: 'the table is closer to the counted bigrams than the unigram (KL < half)'; 'even 300 steps beat the
    unigram'; 'attn0l keeps a bias in W_pos'; 'between the bigram table and the unigram'; 'top-1/top-5 agreement'."""
    train_rows, val_rows = corpus
    counts = bigram.bigram_counts(train_rows, 2048)  # as notebook 01 counts: every training row
    count_lp, unigram_lp = bigram.bigram_log_probs(counts, alpha=0.1), bigram.unigram_log_probs(counts, alpha=0.1)
    freq = counts.sum(1)
    kl_unigram = bigram.mean_kl(count_lp, unigram_lp, freq)
    untrained, trained = untrained_like("attn0l"), lm.lm_checkpoint("attn0l")[0]
    kl_untrained = bigram.mean_kl(count_lp, bigram.zero_layer_log_probs(untrained), freq)
    kl_trained = bigram.mean_kl(count_lp, bigram.zero_layer_log_probs(trained), freq)
    assert kl_trained < 0.5 * kl_unigram  # the claim holds on the model it is about ...
    assert not kl_untrained < kl_unigram  # ... and fails on the control (both bounds)

    def table_loss(table_lp: torch.Tensor) -> float:
        return float(-table_lp[val_rows[:, :-1], val_rows[:, 1:]].mean())

    bigram_val, unigram_val = table_loss(count_lp), table_loss(unigram_lp.expand(2048, -1))
    common = freq.argsort(descending=True)[:25]
    for model, trained_model in [(trained, True), (untrained, False)]:
        model_val = training.eval_lm_loss(model, val_rows)
        no_pos_val = table_loss((model.W_E @ model.W_U + model.b_U).log_softmax(-1))
        table_val = table_loss(bigram.zero_layer_log_probs(model))
        keeps_bias = no_pos_val > model_val + 0.3 and abs(table_val - model_val) < 0.05
        between = bigram_val < model_val < unigram_val and model_val - bigram_val < 0.25 * (unigram_val - bigram_val)
        top = bigram.zero_layer_log_probs(model)[common].topk(5, dim=-1).indices
        hit = top == count_lp[common].argmax(-1, keepdim=True)
        agree = hit[:, 0].float().mean() >= 0.6 and hit.any(-1).float().mean() >= 0.8
        assert (keeps_bias, between, agree) == (trained_model,) * 3, (model_val, no_pos_val, table_val)


@torch.no_grad()
def test_02_one_layer_claims_fail_on_an_untrained_model(corpus):
    """02: the far head copies (> 0.6); it copies speaker names; '\\n' looks for names (>= 4 of 5, under 10% of
    common queries have as many); ||f(BOS)|| < half; beats attn0l."""
    _, val_rows = corpus
    model = untrained_like("attn1l")
    tokenizer = data.get_tokenizer("bpe", vocab_size=2048)
    scores = []
    for h in range(model.cfg.n_heads):
        scores.append(circuits.copying_score(circuits.full_ov_circuit(model, 0, h)))
    assert not max(scores) > 0.6
    qk = circuits.full_qk_circuit(model, 0, int(np.argmax(scores)))
    qk_a, qk_b = qk.A, qk.B
    is_name = torch.tensor([t.strip().isupper() and len(t.strip()) >= 3 for t in map(tokenizer.id_to_str, range(2048))])
    train_rows, _ = corpus
    common = torch.bincount(train_rows.flatten(), minlength=2048).argsort(descending=True)[:200]
    newline = tokenizer.encode("\n")[0]
    nl_caps = int(is_name[((qk_a[newline] - qk_a.mean(0)) @ qk_b)[1:].topk(5).indices + 1].sum())
    common_caps = is_name[((qk_a[common] - qk_a.mean(0)) @ qk_b)[:, 1:].topk(5).indices + 1].sum(-1)
    assert not (nl_caps >= 4 and (common_caps >= nl_caps).float().mean() < 0.1)
    _, cache = model.run_with_cache(val_rows[:32])
    fx = torch.einsum("bkhd,hdm->bhkm", cache["blocks.0.attn.hook_v"], model.W_O[0]).norm(dim=-1)
    assert not fx[:, :, 0].mean() < 0.5 * fx[:, :, 1:].mean()
    zero, _ = lm.lm_checkpoint("attn0l")
    assert not training.eval_lm_loss(model, val_rows[:16]) < training.eval_lm_loss(zero, val_rows[:16]) - 0.1


@torch.no_grad()
def test_03_induction_claims_fail_on_an_untrained_model():
    """03: second copy 4 nats easier; induction heads > 0.5; a previous-token head; K-composition above its null."""
    model = untrained_like("attn2l")
    cfg = models.config_of(model)
    period = 50
    rep = tasks.repeated_random_tokens(batch=16, seq_len=period, d_vocab=cfg.d_vocab, seed=1)
    logits, cache = model.run_with_cache(rep)
    first, second = circuits.repeat_losses(logits, rep)
    assert not second < first - 4.0
    scores = heads.all_scores(cache, cfg.n_layers, period)
    ind, prev = scores["induction"], scores["previous_token"]
    assert not (ind[1].max() > 0.5 and ind[0].max() < 0.1)
    top_prev = int(prev[0].argmax())
    others = prev[0][torch.arange(cfg.n_heads) != top_prev]
    assert not (prev[0, top_prev] > 0.3 and prev[0, top_prev] > others.max() + 0.25)
    k_comp = circuits.k_composition_scores(model)
    margin = min(
        float(k_comp[h, top_prev] - k_comp[h, [o for o in range(cfg.n_heads) if o != top_prev]].max())
        for h in range(cfg.n_heads)
    )
    assert not margin >= 0.03


@torch.no_grad()
def test_04_full_transformer_claims_fail_on_an_untrained_model(corpus):
    """04: the full model has the lowest loss; every step lowers the logit lens; the induction circuit; MLPs' DLA."""
    from helpers import dla

    _, val_rows = corpus
    model = untrained_like("full2l")
    rows = val_rows[:8]
    one_layer, _ = lm.lm_checkpoint("attn1l")
    assert not training.eval_lm_loss(model, rows) < training.eval_lm_loss(one_layer, rows) - 0.03
    _, cache = model.run_with_cache(rows)
    lv = [float(training.next_token_loss(lg, rows).mean()) for lg in dla.logit_lens(model, cache).values()]
    drops = [a - b for a, b in zip(lv, lv[1:])]
    assert not all(d > 0.3 for d in drops)
    rep = tasks.repeated_random_tokens(batch=8, seq_len=50, d_vocab=2048, seed=1)
    rep_logits, rep_cache = model.run_with_cache(rep)
    scores = heads.all_scores(rep_cache, 2, 50)
    loss = training.next_token_loss(rep_logits, rep)
    assert not (
        scores["previous_token"][0].max() > 0.5
        and int((scores["induction"][1] > 0.5).sum()) >= 2
        and loss[:, 51:].mean() < 0.25 * loss[:, 1:50].mean()
    )
    # the neuron ablation: the top layer-1 neuron by estimated direct effect (LN scale included), as 04 picks it
    from helpers.neurons import ablate_neuron_logits, direct_effect_estimate, neuron_output_logits

    acts = cache["blocks.1.mlp.hook_post"]
    push = torch.stack([neuron_output_logits(model, 1, n) for n in range(acts.shape[-1])])
    neuron = int(direct_effect_estimate(acts, cache["ln_final.hook_scale"], push.max(-1).values, k=20).argmax())
    target = int(push[neuron].argmax())
    clean, ablated = ablate_neuron_logits(model, rows, 1, neuron)
    drop = clean.log_softmax(-1)[..., target] - ablated.log_softmax(-1)[..., target]
    hot = acts[..., neuron] >= acts[..., neuron].flatten().topk(20).values[-1]
    assert not float(drop[hot].mean()) > 1.0


def test_05_sentiment_claims_fail_with_shuffled_labels():
    """05: 'the classifier is within 5 points of LR, which beats the majority class by 10'; the sweep's floor."""
    from helpers import sentiment

    reviews = sentiment.load_reviews()
    g = np.random.default_rng(0)
    shuffled = dataclasses.replace(reviews, train_labels=[int(x) for x in g.permutation(reviews.train_labels)])
    acc = sentiment.word_baseline(shuffled)
    majority = max(sum(reviews.val_labels), len(reviews.val_labels) - sum(reviews.val_labels)) / len(reviews.val_labels)
    assert sentiment.word_baseline(reviews) > majority + 0.10  # the real labels pass ...
    assert not acc > majority + 0.10  # ... shuffled ones do not


@torch.no_grad()
def test_06_fourier_claims_fail_on_an_untrained_model():
    """06: top-10 frequencies hold half the norm; cos(w(a+b-c)) explains most logits; neurons cluster; progress measures."""
    P = 113
    tl_model = models.build_model(GrokConfig(p=P, seed=1).model_config())
    W_E = tl_model.W_E[:P]
    norms = fourier.frequency_norms(W_E)
    assert not float(norms.topk(10).values.sum() / norms.sum()) >= 0.5
    keys = fourier.key_frequencies(W_E, share=0.8)
    logits = grokking.grid_logits(FastGrokModel.from_tl(tl_model), P)[:, :, :P]
    assert not fourier.cos_fit_fraction(logits, keys) > 0.5
    _, cache = tl_model.run_with_cache(grokking.all_pairs(P), names_filter="blocks.0.mlp.hook_post")
    acts = cache["blocks.0.mlp.hook_post"][:, -1].reshape(P, P, -1)
    best_frac, best_k = fourier.neuron_frequency_fractions(acts).max(dim=1)
    in_keys = torch.tensor([int(k) + 1 in keys for k in best_k])
    assert not int(((best_frac > 0.5) & in_keys).sum()) > 0.4 * acts.shape[-1]
    train_pairs = tasks.modular_arithmetic(P, "add", 0.5, 1).train_tokens[:, :2]
    assert not fourier.grid_loss(fourier.restricted_logits(logits, keys)) < 1.0
    assert not fourier.grid_loss(fourier.excluded_logits(logits, keys), pairs=train_pairs) > 1.2 * math.log(P)


def test_07_trend_claims_fail_on_shuffled_and_all_failed_grids():
    """07: 'more data / more weight decay makes grokking sooner' (every informative pair sooner, at least 6)."""
    table = np.array(
        [[[np.inf, np.inf, 950], [np.inf, 1450, 275], [np.inf, 300, 150]],
         [[np.inf, np.inf, 1225], [np.inf, 800, 450], [np.inf, 250, 150]]]
    )  # fmt: skip  # the committed sweep's steps to grok [seed, weight decay, fraction]

    def holds(ev: grokking.TrendEvidence) -> bool:
        return ev.n_later == 0 and ev.n_sooner >= 6 and ev.n_sooner == ev.n_informative

    assert holds(grokking.trend_evidence(table, axis=2)) and holds(grokking.trend_evidence(table, axis=1))
    nothing_grokked = np.full_like(table, np.inf)  # all ties between failures: no evidence at all
    assert not holds(grokking.trend_evidence(nothing_grokked, axis=2))
    g = np.random.default_rng(0)
    for _ in range(20):  # a shuffled grid has no trend
        shuffled = g.permutation(table.ravel()).reshape(table.shape)
        assert not (
            holds(grokking.trend_evidence(shuffled, axis=2)) and holds(grokking.trend_evidence(shuffled, axis=1))
        )


@torch.no_grad()
def test_08_find_min_claims_fail_on_an_untrained_model():
    """08: SEP attends to the min; QK ranks keys by value; OV copies; the QK table predicts the pattern; two tables reproduce the model."""
    from helpers.stats import rank_correlation

    N, V = 5, 64
    model = models.build_model(
        ModelConfig(d_vocab=V + 1, n_ctx=N + 1, d_model=64, n_layers=1, n_heads=1, d_head=64, seed=1)
    )
    split = tasks.select_task("min", n=N, vocab=V, n_train=100, n_test=500, seed=0)
    _, cache = model.run_with_cache(split.test_tokens)
    sep_attn = cache["blocks.0.attn.hook_pattern"][:, 0, -1]
    on_min = sep_attn.gather(1, split.test_tokens[:, :-1].argmin(1, keepdim=True))
    assert not on_min.mean() > 0.9
    qk = algorithmic.qk_by_value(model, 0)
    assert not max(rank_correlation(qk[p], torch.arange(V).float()) for p in range(N)) < -0.9
    value_spread = (qk.max(dim=1).values - qk.min(dim=1).values).min().item()
    pos_spread = (qk.max(dim=0).values - qk.min(dim=0).values).max().item()
    assert not value_spread > 3 * pos_spread  # 'the value matters far more than the position'
    ov = algorithmic.ov_by_value(model, 0)[:, :V]
    assert not algorithmic.diagonal_dominance(ov) > 0.95
    seq = [40, 7, 9, 55, 12]  # 'the QK table alone predicts the pattern': SEP's own weight is left out
    predicted = qk[torch.arange(N), torch.tensor(seq)].softmax(0)
    actual = model.run_with_cache(torch.tensor([seq + [V]]))[1]["blocks.0.attn.hook_pattern"][0, 0, -1, :-1]
    assert not (predicted - actual).abs().max() < 0.005
    seqs = split.test_tokens[:, :-1]  # 'two small tables reproduce the model' (agreement > 0.97)
    attn = qk[torch.arange(N), seqs].softmax(-1)
    table_answer = torch.einsum("bn,bnv->bv", attn, ov[seqs]).argmax(-1)
    assert not (table_answer == model(split.test_tokens)[:, -1].argmax(-1)).float().mean() > 0.97


@torch.no_grad()
def test_09_find_median_claims_fail_on_an_untrained_model():
    """09: > 99% accuracy; every head needed; attention spread yet QK spans >= 1; the summed OV is a tent."""
    from helpers.stats import rank_correlation

    N, V, H = 5, 32, 4
    model = models.build_model(
        ModelConfig(d_vocab=V + 1, n_ctx=N + 1, d_model=64, n_layers=1, n_heads=H, d_head=16, seed=1)
    )
    split = tasks.select_task("median", n=N, vocab=V, n_train=100, n_test=500, seed=0)
    acc = (model(split.test_tokens)[:, -1].argmax(-1) == split.test_labels).float().mean().item()
    assert not acc > 0.99  # so 'every head is needed' (intact > 0.99, ablated < 0.9) fails too
    qk = torch.stack([algorithmic.qk_by_value(model, h) for h in range(H)])
    assert not (qk.amax(-1) - qk.amin(-1)).mean(-1).min() > 1.0
    ov_sum = torch.stack([algorithmic.ov_by_value(model, h)[:, :V] for h in range(H)]).sum(0)
    values = torch.arange(V).float()
    tent = torch.tensor([rank_correlation(ov_sum[x], -(values - x).abs()) for x in range(V)])
    assert not tent.min() > 0.7


def test_03_live_phase_change_fails_without_repeats():
    """03 (live): the same small model and recipe, trained on random tokens that never repeat, grows no induction head."""
    from helpers.configs import TrainConfig

    cfg = ModelConfig(d_vocab=64, n_ctx=64, d_model=64, n_layers=2, n_heads=4, d_head=16, seed=0)
    model = models.build_model(cfg)
    rows = torch.randint(1, 64, (4_000, 64), generator=torch.Generator().manual_seed(0))
    rows[:, 0] = 0  # BOS
    training.train(
        model, rows, TrainConfig(n_steps=250, lr=1e-2, batch_size=32, eval_every=250, seed=0), progress=False
    )
    probe = tasks.repeated_random_tokens(64, 20, 64, seed=1000)
    with torch.no_grad():
        logits, cache = model.run_with_cache(probe)
    assert not float(heads.induction_score(cache["blocks.1.attn.hook_pattern"], 20).max()) > 0.6
    first, second = circuits.repeat_losses(logits, probe)
    assert not second < 1.0
