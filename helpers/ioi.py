"""Indirect object identification (IOI) sentences for a model trained from scratch (notebook 12).

The task of Wang et al. (2022), "Interpretability in the Wild": in "When Mary and John went to the
store, John gave a drink to", the next word is the indirect object (IO) "Mary", not the subject
(S) "John". S appears twice: S1 in the first clause, S2 later; END is the last word, "to".

- ``NAMES``, ``PLACES``, ``OBJECTS``, ``TEMPLATES``: the word lists. A template is written in
  ABBA order, ``[A]`` the IO, ``[B]`` the subject; a BABA sentence swaps the first clause's names.
- ``IOIVocab``: one token per word, name and punctuation mark, ids fixed by the lists (sorted).
- ``IOIConfig`` and ``ioi_split``: which name pairs and templates are held out for testing.
- ``ioi_dataset``: token rows with the IO/S answers and the IO, S1, S2 and END positions.
- ``abc_corrupt``: the same rows with S2 replaced by a third name C (for path patching).
- ``logit_diff``: the IO logit minus the S logit at END, per row (the paper's metric).

The split rule: unordered name pairs are split into train and test pairs, and templates into
train and test templates, by ``IOIConfig.split_seed`` alone (never by a dataset's ``seed``).
A (pair, template) combination is a *train* combination when the pair AND the template are
train ones; every other combination (a test pair, or a test template, or both) is a *test*
combination. So no test sentence's names-and-template can occur in training, whatever the seeds.
Places, objects, which name of the pair is the IO, and the order are drawn freely in both splits.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import torch
from jaxtyping import Float, Int
from torch import Tensor

from helpers.errors import ConfigError, ShapeError
from helpers.tokenization import BOS

PAD = "<|pad|>"
ORDERS = ("ABBA", "BABA")  # dataset.order holds 0 (IO first in the first clause) or 1 (S first)

# fmt: off
NAMES = (
    "Mary", "John", "Tom", "James", "Dan", "Sid", "Martin", "Amy", "Kate", "Paul",
    "Anna", "Lisa", "Mark", "Sarah", "Emma", "Jack", "Ben", "Lucy", "Alice", "Bob",
    "Claire", "David", "Eric", "Fiona", "George", "Helen", "Ian", "Julia", "Kevin", "Laura",
    "Mike", "Nina", "Oscar", "Rachel", "Sam", "Tina", "Victor", "Wendy", "Adam", "Grace",
)
PLACES = ("store", "garden", "restaurant", "school", "hospital", "office", "house", "station", "park", "library")
# Objects start with a consonant: the templates say "a [OBJECT]".
OBJECTS = ("ring", "bone", "basketball", "computer", "necklace", "drink", "snack", "book", "ball", "letter")
# fmt: on
TEMPLATES = (
    "When [A] and [B] went to the [PLACE], [B] gave a [OBJECT] to",
    "Then, [A] and [B] went to the [PLACE]. [B] gave a [OBJECT] to",
    "Then, [A] and [B] had a lot of fun at the [PLACE]. [B] gave a [OBJECT] to",
    "Then, [A] and [B] were working at the [PLACE]. [B] decided to give a [OBJECT] to",
    "Then, [A] and [B] were thinking about going to the [PLACE]. [B] wanted to give a [OBJECT] to",
    "Then, [A] and [B] had a long argument. Afterwards [B] said to",
    "After [A] and [B] went to the [PLACE], [B] gave a [OBJECT] to",
    "When [A] and [B] got a [OBJECT] at the [PLACE], [B] decided to give it to",
    "While [A] and [B] were working at the [PLACE], [B] gave a [OBJECT] to",
    "After the lunch, [A] and [B] went to the [PLACE]. [B] gave a [OBJECT] to",
    "Afterwards, [A] and [B] went to the [PLACE]. [B] gave a [OBJECT] to",
    "Friends [A] and [B] found a [OBJECT] at the [PLACE]. [B] gave it to",
)


def ioi_words(text: str) -> list[str]:
    """Split text into the vocabulary's units: words, single punctuation marks, ``[SLOTS]``."""
    return re.findall(r"\[\w+\]|\w+|[^\w\s]", text)


def template_slots(t: int) -> tuple[int, int, int, int]:
    """Positions (counting BOS as 0) of ``[A]``, the first ``[B]``, the second ``[B]``, and END."""
    w = ioi_words(TEMPLATES[t])
    b1, b2 = (i for i, x in enumerate(w) if x == "[B]")
    return w.index("[A]") + 1, b1 + 1, b2 + 1, len(w)


def ioi_n_ctx() -> int:
    """Tokens per row: BOS plus the longest template (shorter ones are right-padded with PAD)."""
    return 1 + max(len(ioi_words(t)) for t in TEMPLATES)


class IOIVocab:
    """Word-level tokenizer (the ``helpers.tokenization.Tokenizer`` protocol): BOS = 0, PAD = 1.

    Built from the word lists alone, sorted, so token ids never depend on a seed or a config.
    """

    def __init__(self) -> None:
        template_words = {x for t in TEMPLATES for x in ioi_words(t) if not x.startswith("[")}
        self.itos = [BOS, PAD, *sorted(template_words | set(NAMES) | set(PLACES) | set(OBJECTS))]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.bos_id, self.pad_id = 0, 1

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        unknown = sorted({w for w in ioi_words(text) if w not in self.stoi})
        if unknown:
            raise ConfigError(f"Words not in the IOI vocabulary: {unknown[:10]}. Use words from helpers.ioi's lists.")
        return [self.stoi[w] for w in ioi_words(text)]

    def decode(self, ids: Sequence[int] | Tensor) -> str:
        """The text, without BOS and PAD; punctuation sticks to the word before it."""
        ids = ids.tolist() if isinstance(ids, Tensor) else ids
        text = " ".join(self.itos[i] for i in ids if i not in (self.bos_id, self.pad_id))
        return re.sub(r" ([^\w\s])", r"\1", text)

    def id_to_str(self, i: int) -> str:
        return self.itos[i]


@dataclass(frozen=True)
class IOIConfig:
    """Which names the sentences use and what is held out for testing (see the module docstring).

    The first ``n_names`` of ``NAMES`` are used; ``round(pair_test_frac * n_pairs)`` of their
    unordered pairs and ``n_templates_test`` templates are test-only, chosen with ``split_seed``.
    """

    n_names: int = 40
    n_templates_test: int = 3
    pair_test_frac: float = 0.2
    split_seed: int = 0

    def __post_init__(self) -> None:
        if not 3 <= self.n_names <= len(NAMES):
            raise ConfigError(
                f"n_names must be between 3 (S, IO and C for abc_corrupt) and {len(NAMES)}, got {self.n_names}."
            )
        if not 0 <= self.n_templates_test < len(TEMPLATES):
            raise ConfigError(
                f"n_templates_test must be between 0 and {len(TEMPLATES) - 1} (some templates must train), got {self.n_templates_test}."
            )
        if not 0 < self.pair_test_frac < 1:
            raise ConfigError(
                f"pair_test_frac must be in (0, 1), got {self.pair_test_frac!r}. Fix: e.g. pair_test_frac=0.2."
            )
        if not 0 < self.n_test_pairs < self.n_pairs:
            raise ConfigError(
                f"pair_test_frac={self.pair_test_frac} holds out {self.n_test_pairs} of the {self.n_pairs} name pairs; "
                f"both splits need a pair. Fix: pick pair_test_frac so that round(pair_test_frac * {self.n_pairs}) "
                f"is between 1 and {self.n_pairs - 1}, or raise n_names."
            )

    @property
    def n_pairs(self) -> int:
        return self.n_names * (self.n_names - 1) // 2

    @property
    def n_test_pairs(self) -> int:
        return round(self.pair_test_frac * self.n_pairs)


@dataclass(frozen=True)
class IOISplit:
    """Unordered name pairs (indices into ``NAMES``, smaller first) and template indices, per split."""

    train_pairs: frozenset[tuple[int, int]]
    test_pairs: frozenset[tuple[int, int]]
    train_templates: frozenset[int]
    test_templates: frozenset[int]

    def is_train(self, pair: tuple[int, int], template: int) -> bool:
        """The split rule: a train combination has a train pair AND a train template."""
        return tuple(sorted(pair)) in self.train_pairs and template in self.train_templates


def ioi_split(config: IOIConfig) -> IOISplit:
    """The partition of pairs and templates: a function of ``config`` only (``split_seed``)."""
    gen = torch.Generator().manual_seed(config.split_seed)
    pairs = list(itertools.combinations(range(config.n_names), 2))
    pair_order = torch.randperm(len(pairs), generator=gen).tolist()
    template_order = torch.randperm(len(TEMPLATES), generator=gen).tolist()
    test_p, test_t = config.n_test_pairs, config.n_templates_test
    return IOISplit(
        train_pairs=frozenset(pairs[i] for i in pair_order[test_p:]),
        test_pairs=frozenset(pairs[i] for i in pair_order[:test_p]),
        train_templates=frozenset(template_order[test_t:]),
        test_templates=frozenset(template_order[:test_t]),
    )


@dataclass(frozen=True)
class IOIDataset:
    """IOI rows: ``tokens`` (BOS first, PAD after END), answers and positions, one entry per row."""

    tokens: Int[Tensor, "batch pos"]
    io_token: Int[Tensor, " batch"]  # the right answer (the IO name)
    s_token: Int[Tensor, " batch"]  # the wrong answer (the subject's name)
    io_pos: Int[Tensor, " batch"]
    s1_pos: Int[Tensor, " batch"]
    s2_pos: Int[Tensor, " batch"]
    end_pos: Int[Tensor, " batch"]  # the position whose next-token prediction is the IO
    order: Int[Tensor, " batch"]  # 0: ABBA, 1: BABA (ORDERS[k] is the name)
    template: Int[Tensor, " batch"]  # index into TEMPLATES
    split: Literal["train", "test"]
    config: IOIConfig

    def __len__(self) -> int:
        return self.tokens.shape[0]

    def prompts(self) -> list[str]:
        """Each row as text (without BOS and PAD)."""
        vocab = IOIVocab()
        return [vocab.decode(row) for row in self.tokens]


def ioi_dataset(config: IOIConfig, n: int, split: Literal["train", "test"], seed: int = 0) -> IOIDataset:
    """``n`` sentences from ``split``'s (pair, template) combinations, drawn uniformly with ``seed``.

    Exactly half the rows (rounded) are BABA; the IO is either name of the pair, equally often.
    """
    if n <= 0:
        raise ConfigError(f"n (the number of sentences) must be positive, got {n}.")
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}.")
    parts, vocab = ioi_split(config), IOIVocab()
    combos = [
        (pair, t)
        for pair in itertools.combinations(range(config.n_names), 2)
        for t in range(len(TEMPLATES))
        if parts.is_train(pair, t) == (split == "train")
    ]
    gen = torch.Generator().manual_seed(seed)
    combo = torch.randint(len(combos), (n,), generator=gen).tolist()
    order = torch.randperm(n, generator=gen) % 2  # exact balance, in a random arrangement
    io_is_first = torch.randint(2, (n,), generator=gen).tolist()
    place = torch.randint(len(PLACES), (n,), generator=gen).tolist()
    obj = torch.randint(len(OBJECTS), (n,), generator=gen).tolist()

    tokens = torch.full((n, ioi_n_ctx()), vocab.pad_id, dtype=torch.long)
    rows: dict[str, list[int]] = {
        k: [] for k in ("io_token", "s_token", "io_pos", "s1_pos", "s2_pos", "end_pos", "template")
    }
    for i in range(n):
        (a, b), t = combos[combo[i]]
        io, s = (NAMES[a], NAMES[b]) if io_is_first[i] else (NAMES[b], NAMES[a])
        fill = {"[A]": io, "[B]": s, "[PLACE]": PLACES[place[i]], "[OBJECT]": OBJECTS[obj[i]]}
        ids = [vocab.bos_id] + [vocab.stoi[fill.get(w, w)] for w in ioi_words(TEMPLATES[t])]
        io_pos, s1_pos, s2_pos, end = template_slots(t)  # written ABBA: [A] is the IO, the first [B] is S1
        if order[i]:  # BABA: swap the first clause's two names, and so their positions
            ids[io_pos], ids[s1_pos] = ids[s1_pos], ids[io_pos]
            io_pos, s1_pos = s1_pos, io_pos
        tokens[i, : len(ids)] = torch.tensor(ids)
        for key, value in zip(rows, (vocab.stoi[io], vocab.stoi[s], io_pos, s1_pos, s2_pos, end, t)):
            rows[key].append(value)
    columns = {k: torch.tensor(v, dtype=torch.long) for k, v in rows.items()}
    return IOIDataset(tokens=tokens, order=order, split=split, config=config, **columns)


def abc_corrupt(dataset: IOIDataset, seed: int = 0) -> IOIDataset:
    """The same rows with S2 replaced by a name C that is neither IO nor S (Wang et al.'s ABC).

    C is drawn uniformly from the config's other names with ``seed``. Positions and labels
    (``io_token``, ``s_token``) are kept, so metrics compare the clean and corrupted runs row by row.
    """
    vocab = IOIVocab()
    names = torch.tensor([vocab.stoi[x] for x in NAMES[: dataset.config.n_names]])
    gen = torch.Generator().manual_seed(seed)
    score = torch.rand(len(dataset), len(names), generator=gen)
    taken = (names == dataset.io_token[:, None]) | (names == dataset.s_token[:, None])
    c = names[score.masked_fill(taken, -1.0).argmax(dim=1)]  # a random name that is not taken
    tokens = dataset.tokens.clone()
    tokens[torch.arange(len(dataset)), dataset.s2_pos] = c
    return replace(dataset, tokens=tokens)


def logit_diff(logits: Float[Tensor, "batch pos d_vocab"], dataset: IOIDataset) -> Float[Tensor, " batch"]:
    """Logit of the IO minus logit of S at END, per row: positive means the model prefers the IO."""
    if logits.shape[:2] != dataset.tokens.shape:
        raise ShapeError(
            f"logits are {tuple(logits.shape)}, but the dataset's tokens are {tuple(dataset.tokens.shape)}: "
            "pass the logits of model(dataset.tokens)."
        )
    end = logits[torch.arange(len(dataset)), dataset.end_pos]
    return end.gather(1, dataset.io_token[:, None])[:, 0] - end.gather(1, dataset.s_token[:, None])[:, 0]
