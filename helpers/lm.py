"""Language models on the course corpus: one recipe for notebooks 01-05.

``train_lm`` trains a model from a ``ModelConfig`` on the corpus's token rows and returns the
model and its history. ``lm_checkpoint`` loads a committed checkpoint from ``data/checkpoints``;
``python -m helpers.train lm ...`` reproduces it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from transformer_lens.model_bridge import TransformerBridge

from helpers.checkpoints import load_checkpoint, save_checkpoint
from helpers.configs import ModelConfig, TrainConfig
from helpers.data import token_dataset
from helpers.errors import ConfigError, MissingDataError
from helpers.models import build_model
from helpers.paths import data_dir
from helpers.training import History, eval_lm_loss, train


def train_lm(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    vocab_size: int = 2048,
    max_val_rows: int = 128,
    progress: bool = True,
) -> tuple[TransformerBridge, History]:
    """Train a fresh model on the corpus (course BPE, rows of ``model_cfg.n_ctx`` tokens).

    Evaluates the validation loss every ``train_cfg.eval_every`` steps.
    """
    train_rows, val_rows, tok = token_dataset(n_ctx=model_cfg.n_ctx, vocab_size=vocab_size, max_val_rows=max_val_rows, seed=train_cfg.seed)
    if tok.vocab_size != model_cfg.d_vocab:
        raise ValueError(f"model d_vocab={model_cfg.d_vocab} but the tokenizer has {tok.vocab_size} tokens; set d_vocab={tok.vocab_size}.")
    model = build_model(model_cfg)
    hist = train(model, train_rows, train_cfg, eval_fn=lambda m: {"val_loss": eval_lm_loss(m, val_rows)}, progress=progress)
    return model, hist


def checkpoint_path(name: str) -> Path:
    return data_dir() / "checkpoints" / name


def lm_checkpoint(name: str) -> tuple[TransformerBridge, dict]:
    """Load a committed language-model checkpoint by name (e.g. ``"attn2l"``), with its card."""
    path = checkpoint_path(name)
    if not path.with_suffix(".json").exists():
        raise MissingDataError(
            f"No checkpoint {name!r} in {path.parent}. Re-create it with the command in "
            "Documentation/checkpoints.md (python -m helpers.train lm ...)."
        )
    return load_checkpoint(path)


def cli_main(argv: list[str] | None = None) -> int:
    """``python -m helpers.train lm``: train a language model on the corpus and save a checkpoint."""
    ap = argparse.ArgumentParser(prog="python -m helpers.train lm", description=cli_main.__doc__)
    ap.add_argument("--name", required=True, help="checkpoint name under data/checkpoints (or --out)")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: data/checkpoints)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-mlp", type=int, default=None, help="omit for an attention-only model")
    ap.add_argument("--ln", action="store_true", help="use LayerNorm")
    ap.add_argument("--n-ctx", type=int, default=128)
    ap.add_argument("--vocab-size", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    if a.d_model % a.heads:
        ap.error(f"--d-model ({a.d_model}) must be divisible by --heads ({a.heads}).")
    try:
        mcfg, tcfg = _configs(a)
    except ConfigError as e:
        ap.error(str(e))
    torch.manual_seed(a.seed)
    model, hist = train_lm(mcfg, tcfg, vocab_size=a.vocab_size)
    out = (a.out or checkpoint_path("x").parent) / a.name
    cmd = "python -m helpers.train lm " + " ".join(argv if argv is not None else [])
    save_checkpoint(model, out, tcfg, hist.summary(), notes=f"made by: {cmd}")
    print(f"saved {out}.safetensors: {hist.summary()}")
    return 0


def _configs(a: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    mcfg = ModelConfig(
        d_vocab=a.vocab_size,
        n_ctx=a.n_ctx,
        d_model=a.d_model,
        n_layers=a.layers,
        n_heads=a.heads,
        d_head=a.d_model // a.heads,
        d_mlp=a.d_mlp,
        normalization_type="LN" if a.ln else None,
        seed=a.seed,
    )
    tcfg = TrainConfig(n_steps=a.steps, batch_size=a.batch_size, lr=a.lr, weight_decay=a.weight_decay, warmup_steps=a.warmup, eval_every=max(a.steps // 10, 1), seed=a.seed)
    return mcfg, tcfg
