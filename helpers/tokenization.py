"""Every tokenizer the course uses, in one place (notebooks 00, 01, 05).

- ``CharTokenizer``: characters as tokens (built from some text);
- ``BPETokenizer`` / ``train_bpe``: a byte-level BPE trained here with the ``tokenizers`` library
  (the course's, trained on the corpus, is committed under ``data/tokenizers/``; load it with
  ``helpers.data.get_tokenizer``);
- ``GPT2Tokenizer``: GPT-2's byte-level BPE via ``tiktoken``, built offline from the ranks file
  inside the ``openai-whisper`` sdist;
- ``get_review_tokenizer`` (notebook 05) picks one by name; ``tokenizer_summary`` compares them.

Every one has the ``Tokenizer`` protocol's four members. Id 0 is BOS for the course's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from helpers.errors import ConfigError, MissingDataError
from helpers.paths import package_file

BOS = "<|bos|>"
GPT2_PIP = "pip install --no-deps openai-whisper==20250625"
# GPT-2's pre-tokenisation regex (from tiktoken's openai_public.py) and its one special token.
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


@runtime_checkable
class Tokenizer(Protocol):
    """What the course needs of a tokenizer. Id 0 is always the BOS token."""

    @property
    def vocab_size(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def id_to_str(self, i: int) -> str: ...


class CharTokenizer:
    """Characters as tokens; id 0 is BOS. Built from the characters of some text."""

    def __init__(self, chars: Sequence[str]):
        self.itos = [BOS] + sorted(set(chars) - {BOS})
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> "CharTokenizer":
        return cls(sorted(set("".join(texts))))

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        unknown = set(text) - set(self.stoi)
        if unknown:
            raise ConfigError(f"Characters not in the vocabulary: {sorted(unknown)[:10]}.")
        return [self.stoi[c] for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(self.itos[i] for i in ids if i != 0)

    def id_to_str(self, i: int) -> str:
        return self.itos[i]


class BPETokenizer:
    """A byte-level BPE from the ``tokenizers`` library; id 0 is BOS."""

    def __init__(self, tok: "tokenizers.Tokenizer"):  # type: ignore[name-defined]  # noqa: F821
        self.tok = tok
        if tok.token_to_id(BOS) != 0:
            raise ConfigError(f"A course BPE tokenizer must have {BOS} as id 0.")

    @property
    def vocab_size(self) -> int:
        return self.tok.get_vocab_size()

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text).ids

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode([i for i in ids if i != 0])

    def id_to_str(self, i: int) -> str:
        return self.tok.decode([i]) if i != 0 else BOS

    def save(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.tok.save(str(path))

    @classmethod
    def load(cls, path: str | Path) -> "BPETokenizer":
        from tokenizers import Tokenizer as HFTokenizer

        if not Path(path).exists():
            raise MissingDataError(f"No tokenizer at {path}; make it with `python -m helpers.data`.")
        try:
            tok = HFTokenizer.from_file(str(path))
        except Exception as e:  # the tokenizers library raises a bare Exception on a bad file
            raise MissingDataError(
                f"The tokenizer file {path} is corrupted ({str(e)[:120]}). Fix: delete it and re-create it with "
                "`python -m helpers.data` (or `git checkout` it: the course's tokenizers are committed)."
            ) from e
        return cls(tok)


def train_bpe(texts: Sequence[str], vocab_size: int, seed: int = 0) -> BPETokenizer:
    """Train a byte-level BPE on ``texts`` (seconds for a few MB). Deterministic given the texts.

    ``seed`` is accepted for the course's convention; BPE training has no randomness.
    """
    if vocab_size < 300:
        raise ConfigError(f"vocab_size must be at least 300 for byte-level BPE (256 bytes + merges), got {vocab_size}.")
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    return BPETokenizer(tok)


def tokenizer_summary(tok: Tokenizer, texts: Sequence[str]) -> dict[str, float]:
    """Vocabulary size and tokens per 1,000 characters on ``texts``."""
    n_chars = sum(map(len, texts))
    n_tokens = sum(len(tok.encode(t)) for t in texts)
    return {"vocab_size": tok.vocab_size, "tokens_per_1k_chars": 1000 * n_tokens / max(n_chars, 1)}


def gpt2_ranks_path() -> Path:
    """GPT-2's BPE ranks (``gpt2.tiktoken``) inside the ``openai-whisper`` sdist."""
    return package_file("whisper", "assets/gpt2.tiktoken", GPT2_PIP)


class GPT2Tokenizer:
    """GPT-2's byte-level BPE via ``tiktoken``, built offline from the ``gpt2.tiktoken`` ranks."""

    def __init__(self, ranks_path: str | Path | None = None):
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe

        ranks = load_tiktoken_bpe(str(ranks_path or gpt2_ranks_path()))
        self.enc = tiktoken.Encoding(
            "gpt2-offline", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": len(ranks)}
        )

    @property
    def vocab_size(self) -> int:
        return self.enc.n_vocab

    def encode(self, text: str) -> list[int]:
        return self.enc.encode_ordinary(text)

    def decode(self, ids: Sequence[int]) -> str:
        return self.enc.decode(list(ids))

    def id_to_str(self, i: int) -> str:
        return self.enc.decode([i])


def get_review_tokenizer(kind: str, texts: Sequence[str] = ()) -> Tokenizer:
    """``char`` (built from ``texts``), ``bpe`` (the course's BPE, vocab 2048) or ``gpt2``."""
    from helpers.data import get_tokenizer

    if kind == "char":
        return CharTokenizer.from_texts(texts)
    if kind == "bpe":
        return get_tokenizer("bpe", 2048)
    if kind == "gpt2":
        return GPT2Tokenizer()
    raise ConfigError(f"tokenizer kind must be 'char', 'bpe' or 'gpt2', got {kind!r}.")
