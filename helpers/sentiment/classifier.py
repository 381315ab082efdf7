"""The readable classifier of notebook 05: a compact vocabulary, an attention-only model that
reads a review then ``[CLS]`` at the last position, and its training."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from helpers.errors import ConfigError, ShapeError
from helpers.sentiment.reviews import Reviews
from helpers.tokenization import get_review_tokenizer


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
        bag = csr_matrix(
            ([1.0] * len(rows), (rows.numpy(), tokens[rows, cols].numpy())), shape=(tokens.shape[0], n_tok)
        )
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
        self.W_O = nn.Parameter(
            torch.randn((cfg.n_heads, cfg.d_head, cfg.d_model), generator=gen) / math.sqrt(cfg.d_model)
        )

    def pattern(
        self, resid: Float[Tensor, "batch pos d_model"], key_ok: Tensor, last_only: bool = False
    ) -> Float[Tensor, "batch head q k"]:
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
            raise ShapeError(
                f"tokens must be [batch, pos<= {self.cfg.n_ctx}], got {tuple(tokens.shape)}; "
                "make rows with Vocab.rows(texts, n_ctx)."
            )
        cache: dict[str, Tensor] = {}
        key_ok = tokens != self.cfg.pad_id
        resid = self.W_E[tokens] + self.W_pos[: tokens.shape[1]]
        for layer, block in enumerate(self.blocks):
            cache[f"blocks.{layer}.hook_resid_pre"] = resid
            # only [CLS] is read out, so the last layer computes only its query: n_ctx times cheaper
            last = layer == len(self.blocks) - 1
            pattern = block.pattern(resid, key_ok, last_only=last)
            cache[f"blocks.{layer}.attn.hook_pattern"] = pattern
            resid = resid[:, -pattern.shape[2] :] + torch.einsum("bhqk,bhkd->bqd", pattern, block.head_outputs(resid))
        cache["resid_final"] = resid  # [batch, 1, d_model]: the [CLS] position
        return resid[:, -1] @ self.W_U + self.b_U, cache

    def forward(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch 2"]:
        return self.run_with_cache(tokens)[0]


def classifier_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Tensor:
    tokens, labels = batch
    return F.cross_entropy(model(tokens), labels)


@torch.no_grad()
def accuracy(model: nn.Module, tokens: Tensor, labels: Tensor, batch_size: int = 1024) -> float:
    correct = sum(
        (model(tokens[i : i + batch_size]).argmax(-1) == labels[i : i + batch_size]).sum().item()
        for i in range(0, len(tokens), batch_size)
    )
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
    return Encoded(
        vocab,
        n_ctx,
        vocab.rows(reviews.train_texts, n_ctx),
        torch.tensor(reviews.train_labels),
        vocab.rows(reviews.val_texts, n_ctx),
        torch.tensor(reviews.val_labels),
    )


def train_classifier(
    enc: Encoded,
    d_model: int = 32,
    n_heads: int = 2,
    n_layers: int = 1,
    lr: float = 3e-3,
    n_steps: int = 600,
    batch_size: int = 64,
    weight_decay: float = 0.1,
    seed: int = 0,
    progress: bool = False,
) -> tuple[AttnOnlyClassifier, dict[str, float]]:
    """Train a classifier on ``enc``; return it and {val_acc, train_acc, seconds, n_params}."""
    from helpers.configs import TrainConfig
    from helpers.training import train

    cfg = ClassifierConfig(enc.vocab.size, enc.n_ctx, d_model, n_heads, n_layers, pad_id=enc.vocab.pad, seed=seed)
    model = AttnOnlyClassifier(cfg)
    tcfg = TrainConfig(
        n_steps=n_steps,
        lr=lr,
        batch_size=batch_size,
        weight_decay=weight_decay,
        eval_every=n_steps,
        seed=seed,
        warmup_steps=min(50, n_steps),
    )
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
