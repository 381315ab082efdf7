"""Task generators (helpers.tasks): labels correct, splits disjoint, bad arguments rejected."""

import pytest
import torch

from helpers.errors import ConfigError
from helpers.tasks import modular_arithmetic, repeated_random_tokens, select_task


@pytest.mark.parametrize("kind", ["min", "median"])
@pytest.mark.parametrize("duplicates", [False, True])
def test_select_task_labels_shapes_and_sep(kind, duplicates):
    d = select_task(kind, n=5, vocab=12, n_train=300, n_test=100, duplicates=duplicates, seed=1)
    assert d.train_tokens.shape == (300, 6) and d.test_tokens.shape == (100, 6)
    assert d.d_vocab == 13 and d.n_ctx == 6
    for tokens, labels in [(d.train_tokens, d.train_labels), (d.test_tokens, d.test_labels)]:
        assert (tokens[:, -1] == 12).all()  # SEP
        assert tokens[:, :-1].max() < 12
        for row, label in zip(tokens[:, :-1].tolist(), labels.tolist()):
            want = min(row) if kind == "min" else sorted(row)[2]
            assert label == want
            if not duplicates:
                assert len(set(row)) == 5


def test_select_task_duplicates_actually_occur():
    d = select_task("min", n=5, vocab=8, n_train=500, n_test=50, duplicates=True, seed=0)
    rows = d.train_tokens[:, :-1].tolist()
    assert any(len(set(r)) < 5 for r in rows)


def test_select_task_split_disjoint_and_seeded():
    d = select_task("median", n=3, vocab=10, n_train=200, n_test=100, seed=0)
    train = {tuple(r) for r in d.train_tokens.tolist()}
    test = {tuple(r) for r in d.test_tokens.tolist()}
    assert len(train) == 200 and len(test) == 100 and not train & test
    again = select_task("median", n=3, vocab=10, n_train=200, n_test=100, seed=0)
    other = select_task("median", n=3, vocab=10, n_train=200, n_test=100, seed=1)
    assert torch.equal(d.train_tokens, again.train_tokens)
    assert not torch.equal(d.train_tokens, other.train_tokens)


def test_select_task_hand_example_median():
    # the labels are computed from the rows, so check one row by hand too
    d = select_task("median", n=3, vocab=5, n_train=10, n_test=5, seed=3)
    row = d.train_tokens[0, :-1].tolist()
    assert d.train_labels[0].item() == sorted(row)[1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kind="max"), "kind must be"),
        (dict(kind="median", n=4), "odd n"),
        (dict(n=1), "at least 2"),
        (dict(n=10, vocab=5), "cannot exceed vocab"),
        (dict(n=3, vocab=5, n_train=40, n_test=10), "only 60 exist"),
        (dict(n_train=0), "must be positive"),
    ],
)
def test_select_task_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        select_task(**kwargs)


def test_modular_arithmetic_and_repeated_tokens_still_work():
    d = modular_arithmetic(p=7, op="sub", train_frac=0.5, seed=0)
    a, b = d.train_tokens[:, 0], d.train_tokens[:, 1]
    assert torch.equal(d.train_labels, (a - b) % 7)
    r = repeated_random_tokens(2, 4, 10, seed=0)
    assert torch.equal(r[:, 1:5], r[:, 5:])
