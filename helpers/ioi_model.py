"""A small attention-only model trained from scratch on IOI sentences (notebook 12).

- ``answer_rows``: a dataset's rows with the answer (the IO name) written after END, the text
  the model learns from.
- ``ioi_lm_loss``: next-token cross-entropy on every real token of those rows (PAD ignored).
- ``train_ioi``: build and train a model in one call, seeded by one number; ``IOIRun`` holds it.
- ``evaluate_ioi``: accuracy, how often the IO beats S, and the mean logit difference at END.
- ``ioi_checkpoint``: the committed model (``data/checkpoints/ioi3l``) and its card, in one call.

    python -m helpers.train ioi --out data/checkpoints/ioi3l     (the recipe: python -m helpers.train recipe ioi3l)

Why the whole sentence and not only the answer: trained on END's prediction alone (a
cross-entropy on the IO at END), a 3-layer model sits at 50% for thousands of steps. It learns to
attend to the two names of the first clause equally and to ignore S2, and once no head looks at
S2, no gradient says that S2 names the wrong answer: a saddle. Trained as a language model on the
sentence with its answer, the same model leaves 50% within ~1,000 steps (``Documentation/ioi.md``
has the runs).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from jaxtyping import Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers import ioi
from helpers.cli import Flags, made_by, option
from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import ConfigError
from helpers.training import Batch, History, train


def answer_rows(dataset: ioi.IOIDataset) -> Int[Tensor, "batch n_ctx_plus_1"]:
    """``dataset.tokens`` with one more column, and the IO token right after END (PAD after it)."""
    pad = ioi.IOIVocab().pad_id
    rows = torch.cat([dataset.tokens, torch.full((len(dataset), 1), pad, dtype=torch.long)], dim=1)
    rows[torch.arange(len(dataset)), dataset.end_pos + 1] = dataset.io_token
    return rows


def ioi_lm_loss(model: torch.nn.Module, batch: Batch) -> Tensor:
    """Mean next-token cross-entropy over the real tokens of ``answer_rows`` (PAD targets ignored)."""
    (tokens,) = batch
    logits = model(tokens)[:, :-1]
    targets = tokens[:, 1:].masked_fill(tokens[:, 1:] == ioi.IOIVocab().pad_id, -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)


@torch.no_grad()
def evaluate_ioi(model: torch.nn.Module, dataset: ioi.IOIDataset) -> dict[str, float]:
    """At END: ``accuracy`` (the IO is the top token of the whole vocabulary), ``io_beats_s`` (the
    IO's logit is above S's) and ``logit_diff`` (their mean difference, the paper's metric)."""
    logits = model(dataset.tokens)
    end = logits[torch.arange(len(dataset)), dataset.end_pos]
    diff = ioi.logit_diff(logits, dataset)
    return {
        "accuracy": float((end.argmax(-1) == dataset.io_token).float().mean()),
        "io_beats_s": float((diff > 0).float().mean()),
        "logit_diff": float(diff.mean()),
    }


@dataclass(frozen=True)
class IOIRun:
    """A trained model, its history, and its scores on the train and held-out test sentences."""

    model: TransformerBridge
    history: History
    train_metrics: dict[str, float]
    test_metrics: dict[str, float]


def ioi_model_config(n_layers: int = 3, d_model: int = 64, n_heads: int = 4, seed: int = 0) -> ModelConfig:
    """An attention-only model sized for the IOI vocabulary (96 words) and rows with their answer."""
    if d_model % n_heads:
        raise ConfigError(
            f"d_model ({d_model}) must be divisible by n_heads ({n_heads}). Fix: e.g. d_model 64, n_heads 4."
        )
    return ModelConfig(
        d_vocab=ioi.IOIVocab().vocab_size,
        n_ctx=ioi.ioi_n_ctx() + 1,
        d_model=d_model,
        n_layers=n_layers,
        n_heads=n_heads,
        d_head=d_model // n_heads,
        seed=seed,
    )


def train_ioi(
    model_cfg: ModelConfig | None = None,
    train_cfg: TrainConfig | None = None,
    ioi_cfg: ioi.IOIConfig | None = None,
    n_train: int = 20_000,
    n_test: int = 2_000,
    seed: int = 0,
    progress: bool = True,
) -> IOIRun:
    """Make train and test sentences (split by ``ioi_cfg``), train a model on ``answer_rows``, score it.

    ``seed`` seeds the sentences drawn, the weights and the training order (the split of name
    pairs and templates is ``ioi_cfg.split_seed``'s, so every seed tests on the same held-out
    combinations).
    """
    from helpers.models import build_model

    ioi_cfg = ioi_cfg or ioi.IOIConfig()
    if n_train <= 0 or n_test <= 0:
        raise ConfigError(f"n_train and n_test must be positive, got {n_train}, {n_test}. Fix: e.g. 20000 and 2000.")
    mcfg = (model_cfg or ioi_model_config()).replace(seed=seed)
    if mcfg.d_vocab != ioi.IOIVocab().vocab_size or mcfg.n_ctx < ioi.ioi_n_ctx() + 1:
        raise ConfigError(
            f"model_cfg has d_vocab {mcfg.d_vocab} and n_ctx {mcfg.n_ctx}; IOI rows need d_vocab "
            f"{ioi.IOIVocab().vocab_size} and n_ctx >= {ioi.ioi_n_ctx() + 1}. Fix: use ioi_model_config()."
        )
    tcfg = (train_cfg or TrainConfig(n_steps=4000, lr=3e-3, batch_size=128, weight_decay=0.1)).replace(seed=seed)
    train_set = ioi.ioi_dataset(ioi_cfg, n_train, "train", seed=seed)
    test_set = ioi.ioi_dataset(ioi_cfg, n_test, "test", seed=seed + 1_000_000)
    model = build_model(mcfg)
    history = train(
        model,
        answer_rows(train_set),
        tcfg,
        loss_fn=ioi_lm_loss,
        eval_fn=lambda m: {f"test_{k}": v for k, v in evaluate_ioi(m, test_set).items()},
        progress=progress,
    )
    model.eval()
    return IOIRun(model, history, evaluate_ioi(model, train_set), evaluate_ioi(model, test_set))


def ioi_checkpoint(name: str = "ioi3l") -> tuple[TransformerBridge, dict]:
    """The committed IOI model and its card (notebook 12), from ``data/checkpoints/NAME``, in eval mode.

    Missing, it raises ``MissingDataError`` naming the command that re-makes it
    (``python -m helpers.train recipe ioi3l``)."""
    from helpers.checkpoints import committed_checkpoint

    model, card = committed_checkpoint(name)
    return model.eval(), card


# --- the command line: python -m helpers.train ioi --------------------------------------------


def cli_main(argv: list[str] | None = None) -> int:
    """Train the IOI model and save it as a checkpoint (``python -m helpers.train ioi``)."""
    from helpers.errors import run_cli

    return run_cli(_ioi_cli, argv)


@dataclass(frozen=True)
class IOIOptions:
    """The ioi command's data and output flags (the model's and training's are the configs' fields)."""

    n_train: int = option(20_000, "training sentences")
    n_test: int = option(2_000, "held-out test sentences (unseen name pairs and templates)")
    out: Path | None = option(None, "checkpoint path (without suffix)")


MODEL_FIELDS = ("n_layers", "n_heads", "d_model", "seed")
TRAIN_FIELDS = ("n_steps", "lr", "batch_size", "weight_decay")
DEFAULTS = {"n_layers": 3, "n_heads": 4, "d_model": 64, "n_steps": 4000, "lr": 3e-3, "batch_size": 128}
DEFAULTS |= {"weight_decay": 0.1, "threads": 0}


def _parser() -> tuple[argparse.ArgumentParser, Flags]:
    from helpers.cli import task_parser

    return task_parser(
        "python -m helpers.train ioi", cli_main.__doc__, IOIOptions, MODEL_FIELDS, TRAIN_FIELDS, DEFAULTS
    )


def _ioi_cli(argv: list[str]) -> int:
    from helpers.checkpoints import check_output, save_checkpoint
    from helpers.errors import with_flags

    ap, all_flags = _parser()
    a = ap.parse_args(argv)
    flags = all_flags.for_errors(argv, ("n_train", "n_test", "threads") + MODEL_FIELDS + TRAIN_FIELDS)
    try:  # every flag, then the output location, before any training
        if a.threads is not None and a.threads < 0:
            raise ConfigError(f"threads must be 0 (torch's default) or more, got {a.threads}. Fix: e.g. threads 2.")
        if a.n_train <= 0 or a.n_test <= 0:
            raise ConfigError(f"n_train and n_test must be positive, got {a.n_train}, {a.n_test}. Fix: e.g. 20000.")
        if a.n_heads < 1:
            raise ConfigError(f"n_heads must be 1 or more, got {a.n_heads}. Fix: e.g. n_heads 4.")
        mcfg = ioi_model_config(a.n_layers, a.d_model, a.n_heads, a.seed)
        tcfg = TrainConfig(
            n_steps=a.n_steps, lr=a.lr, batch_size=a.batch_size, weight_decay=a.weight_decay, eval_every=500
        )
    except ConfigError as e:
        raise ConfigError(with_flags(str(e), flags)) from e
    if a.out is not None:
        check_output(a.out, a.force)
    if a.threads:
        torch.set_num_threads(a.threads)
    run = train_ioi(mcfg, tcfg, n_train=a.n_train, n_test=a.n_test, seed=a.seed, progress=False)
    result = {"steps": a.n_steps, "seed": a.seed, "seconds": round(run.history.seconds, 1)}
    result |= {f"test_{k}": round(v, 4) for k, v in run.test_metrics.items()}
    result |= {f"train_{k}": round(v, 4) for k, v in run.train_metrics.items()}
    print(json.dumps(result))
    if a.out is not None:
        cmd = made_by("ioi", argv)
        save_checkpoint(
            run.model,
            a.out,
            train_config=tcfg.replace(seed=a.seed),
            metrics=result,
            notes=f"Made by: {cmd}. Data: helpers.ioi.ioi_dataset(IOIConfig(), {a.n_train}, 'train', seed={a.seed}); "
            f"rows with their answer (helpers.ioi_model.answer_rows).",
        )
        print(f"saved {a.out}")
    return 0
