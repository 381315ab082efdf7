"""Synthetic tasks, each generator seeded (notebooks 03, 06, 08, 09).

- ``repeated_random_tokens``: a random sequence shown twice — the induction-head probe (03).
- ``modular_arithmetic``: ``[a, b, =] -> a op b mod p`` over all p^2 pairs, split (06, 07).
- ``select_task``: ``[x_1 .. x_n, SEP] -> min or median of the x`` (08, 09).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Int
from torch import Tensor

from helpers.errors import ConfigError


def repeated_random_tokens(
    batch: int, seq_len: int, d_vocab: int, seed: int = 0, bos: int | None = 0, low: int = 1
) -> Int[Tensor, "batch pos"]:
    """``[BOS] + r + r`` for a random ``r`` of ``seq_len`` tokens drawn from ``[low, d_vocab)``.

    Shape ``[batch, 1 + 2 * seq_len]`` (``[batch, 2 * seq_len]`` with ``bos=None``).
    """
    if batch <= 0 or seq_len <= 0:
        raise ConfigError(f"batch and seq_len must be positive, got {batch}, {seq_len}.")
    if not 0 <= low < d_vocab:
        raise ConfigError(f"low must be in [0, d_vocab={d_vocab}), got {low}.")
    gen = torch.Generator().manual_seed(seed)
    r = torch.randint(low, d_vocab, (batch, seq_len), generator=gen)
    seq = torch.cat([r, r], dim=1)
    if bos is None:
        return seq
    return torch.cat([torch.full((batch, 1), bos, dtype=torch.long), seq], dim=1)


@dataclass(frozen=True)
class SupervisedSplit:
    """Token inputs and integer labels for a train and a test set."""

    train_tokens: Int[Tensor, "n_train pos"]
    train_labels: Int[Tensor, " n_train"]
    test_tokens: Int[Tensor, "n_test pos"]
    test_labels: Int[Tensor, " n_test"]
    d_vocab: int
    n_ctx: int


def modular_arithmetic(
    p: int = 113, op: Literal["add", "sub"] = "add", train_frac: float = 0.3, seed: int = 0
) -> SupervisedSplit:
    """All pairs ``(a, b)`` as ``[a, b, =]`` (``=`` is token ``p``), label ``a op b mod p``.

    A random ``train_frac`` of the ``p**2`` pairs (chosen with ``seed``) is the training set;
    the rest is the test set. Vocabulary: ``0 .. p-1`` and ``=``, so ``d_vocab = p + 1``.
    """
    if p < 2:
        raise ConfigError(f"The modulus p must be an integer of at least 2, got {p}.")
    if op not in ("add", "sub"):
        raise ConfigError(f"op must be 'add' or 'sub', got {op!r}.")
    if not 0 < train_frac < 1:
        raise ConfigError(f"train_frac must be in (0, 1), got {train_frac}.")
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    labels = (a + b) % p if op == "add" else (a - b) % p
    tokens = torch.stack([a, b, torch.full_like(a, p)], dim=1)
    order = torch.randperm(p * p, generator=torch.Generator().manual_seed(seed))
    n_train = int(round(train_frac * p * p))
    tr, te = order[:n_train], order[n_train:]
    return SupervisedSplit(tokens[tr], labels[tr], tokens[te], labels[te], d_vocab=p + 1, n_ctx=3)


def select_task(
    kind: Literal["min", "median"] = "min",
    n: int = 5,
    vocab: int = 64,
    n_train: int = 20_000,
    n_test: int = 2_000,
    duplicates: bool = False,
    seed: int = 0,
) -> SupervisedSplit:
    """Sequences of ``n`` values from ``0 .. vocab-1``, then ``SEP`` (token ``vocab``); label:
    their minimum or median (``n`` odd). Train and test sequences are disjoint.

    ``duplicates=False`` draws ``n`` distinct values, so the answer is a unique position.
    The ``n_train + n_test`` sequences are distinct (drawn with ``seed``); the first ``n_train``
    are the training set, the rest the test set, so no test sequence occurs in training.
    """
    if kind not in ("min", "median"):
        raise ConfigError(f"kind must be 'min' or 'median', got {kind!r}.")
    if n < 2 or vocab < 2:
        raise ConfigError(f"n and vocab must be at least 2, got n={n}, vocab={vocab}.")
    if kind == "median" and n % 2 == 0:
        raise ConfigError(f"The median task needs an odd n (a unique middle value), got n={n}.")
    if not duplicates and n > vocab:
        raise ConfigError(f"Without duplicates, n ({n}) cannot exceed vocab ({vocab}).")
    if n_train <= 0 or n_test <= 0:
        raise ConfigError(f"n_train and n_test must be positive, got {n_train}, {n_test}.")
    total = n_train + n_test
    # Rejection sampling of distinct sequences: keep the request well below the number that exist.
    n_possible = vocab**n if duplicates else math.perm(vocab, n)
    if total > n_possible // 2:
        raise ConfigError(
            f"{total} distinct sequences asked for, but only {n_possible} exist (n={n}, vocab={vocab}, "
            f"duplicates={duplicates}); lower n_train/n_test to at most {n_possible // 2} in all, or raise vocab."
        )
    gen = torch.Generator().manual_seed(seed)
    seqs: dict[tuple[int, ...], None] = {}
    while len(seqs) < total:
        m = 2 * (total - len(seqs)) + 16
        if duplicates:
            x = torch.randint(0, vocab, (m, n), generator=gen)
        else:
            x = torch.rand(m, vocab, generator=gen).argsort(dim=1)[:, :n]
        for row in x.tolist():
            seqs.setdefault(tuple(row), None)
            if len(seqs) == total:
                break
    xs = torch.tensor(list(seqs), dtype=torch.long)
    labels = xs.min(dim=1).values if kind == "min" else xs.sort(dim=1).values[:, n // 2]
    tokens = torch.cat([xs, torch.full((total, 1), vocab, dtype=torch.long)], dim=1)
    return SupervisedSplit(
        tokens[:n_train], labels[:n_train], tokens[n_train:], labels[n_train:], d_vocab=vocab + 1, n_ctx=n + 1
    )


def repeated_rows(
    n_rows: int, n_ctx: int, d_vocab: int, seed: int = 0, min_period: int = 8, max_period: int = 48
) -> Int[Tensor, "n_rows n_ctx"]:
    """Synthetic rows ``[BOS] r r r ...`` (random tokens ``r`` of a random period), ``n_ctx`` long.

    Mixed into the corpus with ``helpers.lm.train_lm(repeat_frac=...)`` they make induction heads form in
    fewer steps (notebook 03 says so and shows the difference).
    """
    gen = torch.Generator().manual_seed(seed)
    rows = torch.zeros(n_rows, n_ctx, dtype=torch.long)
    for i in range(n_rows):
        period = int(torch.randint(min_period, max_period + 1, (1,), generator=gen))
        r = torch.randint(1, d_vocab, (period,), generator=gen)
        rows[i, 1:] = r.repeat(n_ctx // period + 1)[: n_ctx - 1]
    return rows
