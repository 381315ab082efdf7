"""IOI sentences (helpers.ioi): positions and labels right, splits that cannot leak, ABC, the metric."""

import os
from dataclasses import fields

import pytest
import torch

from helpers.errors import ConfigError, ShapeError
from helpers.ioi import (
    NAMES,
    TEMPLATES,
    IOIConfig,
    IOIDataset,
    IOIVocab,
    abc_corrupt,
    ioi_dataset,
    ioi_n_ctx,
    ioi_split,
    ioi_words,
    logit_diff,
)

CFG = IOIConfig()
VOCAB = IOIVocab()


def _pairs_and_templates(d):
    """(unordered pair of NAMES indices, template) for every row, read back from the tokens."""
    rows = torch.arange(len(d))
    first, second = d.tokens[rows, d.io_pos].tolist(), d.tokens[rows, d.s1_pos].tolist()
    pairs = [tuple(sorted(NAMES.index(VOCAB.id_to_str(i)) for i in ab)) for ab in zip(first, second)]
    return list(zip(pairs, d.template.tolist()))


def test_vocab_is_fixed_sorted_and_round_trips():
    assert VOCAB.itos == IOIVocab().itos, "the vocabulary must not change between instances"
    assert VOCAB.itos[:2] == ["<|bos|>", "<|pad|>"], f"BOS and PAD must be ids 0 and 1, got {VOCAB.itos[:2]}"
    assert VOCAB.itos[2:] == sorted(VOCAB.itos[2:]), "the words after BOS and PAD must be sorted"
    assert set(NAMES) <= set(VOCAB.itos), "every name must be one token"
    text = "When Mary and John went to the store, John gave a drink to"
    assert VOCAB.decode(VOCAB.encode(text)) == text
    assert len(VOCAB.encode(text)) == 14, "each word and the comma must be one token"
    for prompt in ioi_dataset(CFG, 200, "test", seed=0).prompts():
        assert VOCAB.decode(VOCAB.encode(prompt)) == prompt, f"round trip changed {prompt!r}"
    with pytest.raises(ConfigError, match="Zebra"):
        VOCAB.encode("Zebra went to the store")


def test_templates_have_io_s1_first_and_s2_later():
    for t in TEMPLATES:
        w = ioi_words(t)
        assert w.count("[A]") == 1 and w.count("[B]") == 2, f"one [A] and two [B] expected in {t!r}"
        assert w.index("[A]") < w.index("[B]"), f"templates are written ABBA: [A] before the first [B] in {t!r}"
        assert w[-1] == "to", f"a template ends at END, just before the IO: {t!r}"
        assert not set(w) & set(NAMES), f"names belong in the slots only: {t!r}"
    assert ioi_dataset(CFG, 10, "train").tokens.shape[1] == ioi_n_ctx() == 1 + max(len(ioi_words(t)) for t in TEMPLATES)


def test_same_seed_same_rows_other_seed_other_rows():
    a, b, c = (ioi_dataset(CFG, 300, "train", seed=s) for s in (0, 0, 1))
    for f in fields(IOIDataset):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y, f"{f.name} differs for the same seed"
    assert not torch.equal(a.tokens, c.tokens), "seeds 0 and 1 gave the same sentences"


@pytest.mark.parametrize("split", ["train", "test"])
def test_positions_point_at_the_right_tokens(split):
    d = ioi_dataset(CFG, 500, split, seed=2)
    rows = torch.arange(len(d))
    assert d.tokens.shape == (500, ioi_n_ctx()) and (d.tokens[:, 0] == VOCAB.bos_id).all(), "rows start with BOS"
    assert torch.equal(d.tokens[rows, d.io_pos], d.io_token), "tokens[io_pos] is not the IO"
    assert torch.equal(d.tokens[rows, d.s1_pos], d.s_token), "tokens[s1_pos] is not S"
    assert torch.equal(d.tokens[rows, d.s2_pos], d.s_token), "tokens[s2_pos] is not S"
    assert (d.io_token != d.s_token).all(), "IO and S must be different names"
    last = (d.tokens != VOCAB.pad_id).sum(dim=1) - 1
    assert torch.equal(d.end_pos, last), "end_pos must be the last non-PAD position"
    assert (d.tokens[rows, d.end_pos] == VOCAB.stoi["to"]).all(), "END is the word 'to'"
    assert (d.s1_pos < d.s2_pos).all() and (d.io_pos < d.s2_pos).all(), "S2 must come after IO and S1"
    assert torch.equal(d.order == 0, d.io_pos < d.s1_pos), "ABBA (order 0) means the IO comes first"
    assert len(d.s_token.unique()) > 20 and len(d.template.unique()) > 1, "names and templates should vary"


@pytest.mark.parametrize("split", ["train", "test"])
def test_both_orders_in_both_splits_balanced(split):
    d = ioi_dataset(CFG, 401, split, seed=3)
    n_baba = int(d.order.sum())
    assert n_baba in (200, 201), f"expected half the rows BABA, got {n_baba} of 401"
    io_earlier_in_names = torch.tensor(
        [
            NAMES.index(VOCAB.id_to_str(i)) < NAMES.index(VOCAB.id_to_str(s))
            for i, s in zip(d.io_token.tolist(), d.s_token.tolist())
        ]
    )
    assert 0.4 < io_earlier_in_names.float().mean() < 0.6, "either name of a pair should be the IO, equally often"


def test_split_partitions_pairs_and_templates_by_config_only():
    s = ioi_split(CFG)
    assert s == ioi_split(IOIConfig()), "the split must be a function of the config"
    assert not s.train_pairs & s.test_pairs and not s.train_templates & s.test_templates, "the parts must be disjoint"
    assert len(s.train_pairs | s.test_pairs) == CFG.n_pairs == 780, "every pair of the 40 names belongs to a part"
    assert len(s.test_pairs) == 156 and len(s.test_templates) == 3, "sizes follow pair_test_frac and n_templates_test"
    assert s.train_templates | s.test_templates == set(range(len(TEMPLATES)))
    assert ioi_split(IOIConfig(split_seed=1)) != s, "split_seed should change the partition"


def test_no_leakage_and_the_stated_rule_holds():
    s = ioi_split(CFG)
    train = _pairs_and_templates(ioi_dataset(CFG, 4000, "train", seed=0))
    test = _pairs_and_templates(ioi_dataset(CFG, 4000, "test", seed=1))
    assert not set(train) & set(test), (
        f"test (pair, template) combinations seen in training: {sorted(set(train) & set(test))[:5]}"
    )
    bad_train = [(p, t) for p, t in train if p not in s.train_pairs or t not in s.train_templates]
    assert not bad_train, f"train rows must use a train pair AND a train template: {bad_train[:5]}"
    bad_test = [(p, t) for p, t in test if s.is_train(p, t)]
    assert not bad_test, f"test rows must use a test pair OR a test template: {bad_test[:5]}"
    kinds = {(p in s.test_pairs, t in s.test_templates) for p, t in test}
    assert kinds == {(True, False), (False, True), (True, True)}, f"test rows should mix all held-out kinds: {kinds}"


def test_n_names_restricts_the_names():
    cfg = IOIConfig(n_names=5, pair_test_frac=0.3)
    d = ioi_dataset(cfg, 300, "train", seed=0)
    used = {VOCAB.id_to_str(i) for i in torch.cat([d.io_token, d.s_token]).tolist()}
    assert used <= set(NAMES[:5]), f"only the first 5 names should appear, got {sorted(used)}"
    c = abc_corrupt(d, seed=0).tokens[torch.arange(len(d)), d.s2_pos]
    assert {VOCAB.id_to_str(i) for i in c.tolist()} <= set(NAMES[:5]), "C must come from the same names"


def test_abc_corrupt_changes_only_s2_to_a_third_name():
    d = ioi_dataset(CFG, 500, "test", seed=4)
    before = d.tokens.clone()
    c = abc_corrupt(d, seed=0)
    rows = torch.arange(len(d))
    assert torch.equal(d.tokens, before), "abc_corrupt must not change the clean dataset"
    changed = c.tokens != d.tokens
    assert torch.equal(changed.nonzero()[:, 1], d.s2_pos), "exactly S2, and nothing else, should change in each row"
    new = c.tokens[rows, d.s2_pos]
    assert ((new != d.io_token) & (new != d.s_token)).all(), "C must differ from both IO and S"
    assert set(new.tolist()) <= {VOCAB.stoi[x] for x in NAMES}, "C must be a name"
    for f in fields(IOIDataset):
        if f.name != "tokens":
            x, y = getattr(d, f.name), getattr(c, f.name)
            assert torch.equal(x, y) if isinstance(x, torch.Tensor) else x == y, f"abc_corrupt changed {f.name}"
    assert torch.equal(abc_corrupt(d, seed=0).tokens, c.tokens), "abc_corrupt must be deterministic for a seed"
    assert not torch.equal(abc_corrupt(d, seed=1).tokens, c.tokens), "another seed should pick other Cs"


def test_logit_diff_on_hand_built_logits():
    d = ioi_dataset(CFG, 3, "train", seed=5)
    logits = torch.randn(3, ioi_n_ctx(), VOCAB.vocab_size) * 100  # noise everywhere else must not matter
    rows = torch.arange(3)
    logits[rows, d.end_pos, d.io_token] = torch.tensor([3.0, 0.0, -1.0])
    logits[rows, d.end_pos, d.s_token] = torch.tensor([1.0, 2.0, -1.0])
    assert torch.allclose(logit_diff(logits, d), torch.tensor([2.0, -2.0, 0.0])), "logit_diff is IO minus S at END"
    with pytest.raises(ShapeError, match="model\\(dataset.tokens\\)"):
        logit_diff(logits[:2], d)


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(n_names=2), "n_names"),
        (dict(n_names=len(NAMES) + 1), "n_names"),
        (dict(n_templates_test=len(TEMPLATES)), "n_templates_test"),
        (dict(n_templates_test=-1), "n_templates_test"),
        (dict(pair_test_frac=0.0), "pair_test_frac"),
        (dict(pair_test_frac=1.0), "pair_test_frac"),
        (dict(pair_test_frac=float("nan")), "pair_test_frac"),
        (dict(n_names=3, pair_test_frac=0.1), "pair_test_frac"),  # rounds to no test pair
    ],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        IOIConfig(**kwargs)


@pytest.mark.parametrize("kwargs, match", [(dict(n=0), "n \\(the number"), (dict(split="val"), "split must be")])
def test_bad_dataset_arguments(kwargs, match):
    args = dict(config=CFG, n=10, split="train", seed=0) | kwargs
    with pytest.raises(ConfigError, match=match):
        ioi_dataset(**args)


def test_shapes_are_checked():
    from jaxtyping import TypeCheckError

    if os.environ.get("COURSE_SHAPE_CHECKS", "1") == "0":
        pytest.skip("shape checks turned off")
    d = ioi_dataset(CFG, 4, "train", seed=0)
    with pytest.raises(TypeCheckError):
        logit_diff(torch.zeros(4, ioi_n_ctx(), VOCAB.vocab_size, dtype=torch.long), d)  # Int where Float is declared
    with pytest.raises(TypeCheckError):  # one row too few in io_token
        IOIDataset(d.tokens, d.io_token[:3], *(getattr(d, f.name) for f in fields(IOIDataset)[2:]))
