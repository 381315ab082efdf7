"""Find-min and find-median: training and token-circuit analysis (notebooks 08, 09).

The task (``helpers.tasks.select_task``) is ``[x_1 .. x_n, SEP] -> min or median of the x``.
This module trains models on it and reads their circuits *by value*: because every input is
a value token, the QK and OV circuits of a layer-0 head can be written as small tables indexed
by token values, which is where the algorithm becomes visible.

- ``train_select``: build, train and evaluate a model in one call (and the ``select`` CLI).
- ``qk_by_value``: the attention score the SEP query gives a key token of each value.
- ``ov_by_value``: the logits a head writes when it attends to a token of each value.
- ``diagonal_dominance``: how often a value's OV row puts its largest logit on that value.
- ``change_one_element`` and ``patch_activation``: pairs of sequences differing in one element,
  and activation patching between them (``helpers.interventions``).

    python -m helpers.train select --kind min --out data/checkpoints/select_min
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, no_type_check

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers import interventions
from helpers.cli import MISSING, Flags, made_by, option
from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import ConfigError, ShapeError
from helpers.tasks import SupervisedSplit, select_task
from helpers.training import History, last_position_accuracy, last_position_loss, train


@dataclass(frozen=True)
class SelectRun:
    """A trained model with its data, training history and test accuracy."""

    model: TransformerBridge
    data: SupervisedSplit
    history: History
    test_acc: float


def train_select(
    kind: Literal["min", "median"],
    model_cfg: ModelConfig | None = None,
    train_cfg: TrainConfig | None = None,
    n: int = 5,
    vocab: int = 64,
    n_train: int = 20_000,
    n_test: int = 2_000,
    duplicates: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> SelectRun:
    """Make the select data (seeded by ``seed``), train a model on it, report test accuracy.

    ``model_cfg``'s ``d_vocab`` and ``n_ctx`` are overwritten to fit the task, and its seed and
    the training seed are set to ``seed`` so one number reproduces the whole run.
    """
    from helpers.models import build_model

    data = select_task(kind, n=n, vocab=vocab, n_train=n_train, n_test=n_test, duplicates=duplicates, seed=seed)
    base = model_cfg or ModelConfig(d_vocab=data.d_vocab, n_ctx=data.n_ctx, d_model=64, n_heads=1, d_head=64)
    mcfg = base.replace(d_vocab=data.d_vocab, n_ctx=data.n_ctx, seed=seed)
    tcfg = (train_cfg or TrainConfig(n_steps=800, lr=1e-3, batch_size=256)).replace(seed=seed)
    model = build_model(mcfg)
    hist = train(model, (data.train_tokens, data.train_labels), tcfg, loss_fn=last_position_loss, progress=progress)
    acc = last_position_accuracy(model, data.test_tokens, data.test_labels)
    return SelectRun(model, data, hist, acc)


def _query_key_inputs(model: TransformerBridge, n: int) -> tuple[Tensor, Tensor]:
    """Residual inputs of layer 0: the SEP query (last position) and each (position, value) key."""
    vocab = model.W_E.shape[0] - 1  # the last token is SEP
    sep = model.W_E[vocab] + model.W_pos[n]
    keys = model.W_E[:vocab].unsqueeze(0) + model.W_pos[:n].unsqueeze(1)  # [pos, value, d_model]
    return sep, keys


@torch.no_grad()
def qk_by_value(model: TransformerBridge, head: int = 0) -> Float[Tensor, "pos value"]:
    """Layer-0 attention score (pre-softmax) from the SEP query to a key of each value at each position.

    Exact for a model without LayerNorm: score = (q . k) / sqrt(d_head) with q, k including
    their biases and the positional embeddings. Rows are key positions ``0 .. n-1``.
    """
    n = model.W_pos.shape[0] - 1
    sep, keys = _query_key_inputs(model, n)
    q = sep @ model.W_Q[0, head] + model.b_Q[0, head]  # [d_head]
    k = keys @ model.W_K[0, head] + model.b_K[0, head]  # [pos, value, d_head]
    return (k @ q) / model.W_Q.shape[-1] ** 0.5


@torch.no_grad()
def ov_by_value(model: TransformerBridge, head: int = 0, layer: int = 0) -> Float[Tensor, "value d_vocab"]:
    """Direct logits a head writes when it attends fully to a token of each value.

    Row ``v`` is ``W_E[v] @ W_V @ W_O @ W_U``: the value rows of the full OV circuit, built on the
    bridge's ``model.OV[layer, head]``, from the token embedding only. The positional part and the
    biases are left out on purpose. They add one and the same vector of logits to every row: a
    shift per output column. That leaves the comparison between rows (which attended value
    raises output ``c`` most) unchanged, but it *can* change which column wins a row, so a
    row's argmax here describes the token part alone. (For the course's models the full rows
    give the same diagonal dominance; check it with ``W_pos`` added if you rely on argmaxes.)
    """
    vocab = model.W_E.shape[0] - 1
    return (model.W_E[:vocab] @ model.OV[layer, head] @ model.W_U).AB


def diagonal_dominance(matrix: Float[Tensor, "rows cols"]) -> float:
    """Fraction of rows ``i`` whose largest entry is at column ``i`` (1.0: a perfect copier)."""
    if matrix.dim() != 2 or matrix.shape[1] < matrix.shape[0]:
        raise ShapeError(f"need a [rows, cols>=rows] matrix, got shape {tuple(matrix.shape)}.")
    rows = torch.arange(matrix.shape[0])
    return float((matrix.argmax(dim=1) == rows).float().mean())


def change_one_element(
    tokens: Int[Tensor, "batch pos"], vocab: int, kind: Literal["min", "median"], seed: int = 0
) -> tuple[Int[Tensor, "batch pos"], Int[Tensor, " batch"]]:
    """Corrupted copies of ``tokens`` (rows ``x_1 .. x_n, SEP``) that differ in one element and
    whose answer changes; returns ``(corrupted_tokens, changed_position)``.

    One non-answer element is replaced by a fresh value (not already in the row) on the other
    side of the answer: for min, a value below the min; for median, an element below the median
    moves above it (or vice versa), which shifts the median to a neighbour. Rows where no such
    value exists are left with the closest legal change (they are rare for vocab >> n).
    """
    if kind not in ("min", "median"):
        raise ConfigError(f"kind must be 'min' or 'median', got {kind!r}.")
    gen = torch.Generator().manual_seed(seed)
    out = tokens.clone()
    where = torch.zeros(len(tokens), dtype=torch.long)
    for i, row in enumerate(tokens[:, :-1].tolist()):
        s = sorted(row)
        answer = s[0] if kind == "min" else s[len(s) // 2]
        flip = bool(torch.rand(1, generator=gen) < 0.5)
        if kind == "min":
            donors = [j for j, x in enumerate(row) if x != answer]
            targets = [v for v in range(answer) if v not in row]
        elif flip:  # an element below the median jumps above it
            donors = [j for j, x in enumerate(row) if x < answer]
            targets = [v for v in range(answer + 1, vocab) if v not in row]
        else:  # an element above the median jumps below it
            donors = [j for j, x in enumerate(row) if x > answer]
            targets = [v for v in range(answer) if v not in row]
        if not targets:  # e.g. the min is 0: change the min itself upward instead
            donors = [row.index(answer)]
            targets = [v for v in range(vocab) if v not in row]
        j = donors[int(torch.randint(len(donors), (1,), generator=gen))]
        out[i, j] = targets[int(torch.randint(len(targets), (1,), generator=gen))]
        where[i] = j
    return out, where


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def patch_activation(
    model: TransformerBridge,
    clean: Int[Tensor, "batch pos"],
    corrupt: Int[Tensor, "batch pos"],
    hook_name: str,
    pos: int | None = None,
    head: int | None = None,
) -> Float[Tensor, "batch d_vocab"]:
    """Last-position logits of the model on ``clean`` with one activation taken from ``corrupt``.

    ``pos`` (a position) and ``head`` (for hooks with a head axis, e.g. ``hook_z``) restrict
    the patch; ``None`` patches the whole activation.
    """
    if clean.shape != corrupt.shape:
        raise ShapeError(f"clean {tuple(clean.shape)} and corrupt {tuple(corrupt.shape)} must match.")
    site = interventions.Site(hook_name, head=head, positions=pos)
    return interventions.patch(model, clean, interventions.cache_sites(model, corrupt, site), site)[:, -1]


def cli_main(argv: list[str] | None = None) -> int:
    """Train a find-min or find-median model and save it as a checkpoint."""
    from helpers.errors import run_cli

    return run_cli(_select_cli, argv)


@dataclass(frozen=True)
class SelectOptions:
    """The select command's task and output flags (the model's and training's are the configs' fields)."""

    kind: Literal["min", "median"] = option(MISSING, "the answer: the min or the median of the elements")
    n: int = option(5, "elements per sequence")
    vocab: int = option(64, "element values 0 .. vocab-1")
    n_train: int = option(20_000, "training sequences")
    n_test: int = option(2_000, "test sequences")
    duplicates: bool = option(False, "allow repeated values in a sequence")
    out: Path | None = option(None, "checkpoint path (without suffix)")
    json: Path | None = option(None, "append a result line to this JSON-lines file")


MODEL_FIELDS = ("n_layers", "n_heads", "d_model", "d_mlp", "seed")
TRAIN_FIELDS = ("n_steps", "lr", "batch_size")
# This command's sizes; --d-mlp 0 also means attention-only; --threads 0 means torch's default.
DEFAULTS = {"n_layers": 1, "n_heads": 1, "d_model": 64, "n_steps": 800, "batch_size": 256, "threads": 0}


def _parser() -> tuple[argparse.ArgumentParser, Flags]:
    from helpers.cli import task_parser

    return task_parser(
        "python -m helpers.train select", cli_main.__doc__, SelectOptions, MODEL_FIELDS, TRAIN_FIELDS, DEFAULTS
    )


def _select_cli(argv: list[str]) -> int:
    from helpers.checkpoints import check_output, save_checkpoint
    from helpers.errors import with_flags
    from helpers.paths import writable_file

    ap, all_flags = _parser()
    a = ap.parse_args(argv)
    flags = all_flags.for_errors(
        argv, ("kind", "n", "vocab", "n_train", "n_test", "threads") + MODEL_FIELDS + TRAIN_FIELDS
    )
    # Every flag, then the output locations, before any training.
    a.d_mlp = a.d_mlp or None
    try:
        if a.threads is not None and a.threads < 0:
            raise ConfigError(f"threads must be 0 (torch's default) or more, got {a.threads}. Fix: e.g. threads 1.")
        if a.n_heads < 1:
            raise ConfigError(f"n_heads must be 1 or more, got {a.n_heads}. Fix: e.g. n_heads 1.")
        if a.d_model % a.n_heads:
            raise ConfigError(f"d_model ({a.d_model}) must be divisible by n_heads ({a.n_heads}).")
        if a.d_mlp is not None and a.d_mlp < 0:
            raise ConfigError(f"d_mlp must be 0 (attention-only) or more, got {a.d_mlp}.")
        select_task(
            a.kind, n=a.n, vocab=a.vocab, n_train=1, n_test=1, duplicates=a.duplicates, seed=a.seed
        )  # checks n, vocab
        if a.n_train <= 0 or a.n_test <= 0:
            raise ConfigError(f"n_train and n_test must be positive, got {a.n_train}, {a.n_test}.")
        mcfg = ModelConfig(
            d_vocab=a.vocab + 1,
            n_ctx=a.n + 1,
            d_model=a.d_model,
            n_layers=a.n_layers,
            n_heads=a.n_heads,
            d_head=a.d_model // a.n_heads,
            d_mlp=a.d_mlp,
        )
        tcfg = TrainConfig(n_steps=a.n_steps, lr=a.lr, batch_size=a.batch_size)
    except ConfigError as e:
        raise ConfigError(with_flags(str(e), flags)) from e
    if a.json is not None:
        writable_file(a.json, "--json")
    if a.out is not None:
        check_output(a.out, a.force)
    if a.threads:
        torch.set_num_threads(a.threads)
    run = train_select(
        a.kind,
        mcfg,
        tcfg,
        n=a.n,
        vocab=a.vocab,
        n_train=a.n_train,
        n_test=a.n_test,
        duplicates=a.duplicates,
        seed=a.seed,
        progress=False,
    )
    result = {
        "kind": a.kind,
        "n": a.n,
        "vocab": a.vocab,
        "layers": a.n_layers,
        "heads": a.n_heads,
        "d_model": a.d_model,
        "d_mlp": a.d_mlp or 0,
        "steps": a.n_steps,
        "seed": a.seed,
        "test_acc": round(run.test_acc, 4),
        "seconds": round(run.history.seconds, 1),
    }
    print(json.dumps(result))
    if a.out is not None:  # the checkpoint first: it is the hour of work; the JSON line is a summary
        cmd = made_by("select", argv)
        save_checkpoint(
            run.model,
            a.out,
            train_config=tcfg.replace(seed=a.seed),
            metrics=result,
            notes=f"Made by: {cmd}. Data: helpers.tasks.select_task(kind={a.kind!r}, n={a.n}, "
            f"vocab={a.vocab}, n_train={a.n_train}, n_test={a.n_test}, duplicates={a.duplicates}, seed={a.seed}).",
        )
        print(f"saved {a.out}")
    if a.json is not None:
        with a.json.open("a") as f:
            f.write(json.dumps(result) + "\n")
    return 0
