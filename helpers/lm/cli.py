"""``python -m helpers.train lm``: train a language model on the corpus and save a checkpoint."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers.checkpoints import (
    checkpoint_name,
    refuse_overwrite,
    save_checkpoint,
    write_atomic,
)  # fmt: skip
from helpers.cli import MISSING, Flags, RunOptions, add_config_flags, made_by, option
from helpers.configs import ModelConfig, TrainConfig
from helpers.data import token_dataset
from helpers.errors import (
    ArgumentParser,
    ConfigError,
    OutputExistsError,
    run_cli,
    with_flags,
)  # fmt: skip
from helpers.lm.trainer import Kickstart, check_data_mix, track_metrics, train_lm
from helpers.paths import data_dir, writable_dir
from helpers.tasks import repeated_random_tokens
from helpers.training import History


@dataclass(frozen=True)
class LMRunOptions:
    """The lm command's own flags (the model's and the training's are ``ModelConfig``'s and ``TrainConfig``'s)."""

    name: str = option(MISSING, "checkpoint name under data/checkpoints (or --out); dots allowed")
    out: Path | None = option(None, "output folder (default: data/checkpoints)")
    repeat_frac: float = option(0.0, "fraction of training rows that are synthetic repeated random tokens")
    synthetic_steps: int = option(0, "first train this many steps on synthetic repeated random tokens only")
    warmup_without_mlps: bool = option(False, "switch the MLPs off during the synthetic warm-up (full2l)")
    kickstart_steps: int = option(
        0, "the synthetic warm-up's first N steps draw tokens from a small vocabulary (attn2l)"
    )
    kickstart_vocab: int = option(64, "the kick-start's vocabulary: token ids 1 .. N-1")
    kickstart_lr: float = option(1e-2, "the kick-start's learning rate")
    snapshot_every: int | None = option(None, "save fp16 weight snapshots every N steps to NAME_snapshots.safetensors")
    track_every: int | None = option(
        None, "log in-context metrics (induction scores, repeat losses) every N steps into the card"
    )


MODEL_FIELDS = ("n_layers", "d_model", "n_heads", "d_mlp", "normalization_type", "n_ctx", "d_vocab", "seed")
TRAIN_FIELDS = ("n_steps", "batch_size", "lr", "weight_decay", "warmup_steps")
# This command's sizes; a warm-up of None means default_warmup(n_steps).
DEFAULTS = {"n_layers": 2, "n_ctx": 128, "d_vocab": 2048, "n_steps": 2000, "warmup_steps": None}


def _parser() -> tuple[argparse.ArgumentParser, Flags]:
    ap = ArgumentParser(prog="python -m helpers.train lm", description=cli_main.__doc__)
    flags = add_config_flags(ap, LMRunOptions)
    add_config_flags(ap, ModelConfig, MODEL_FIELDS, DEFAULTS, flags)
    add_config_flags(ap, TrainConfig, TRAIN_FIELDS, DEFAULTS, flags)
    add_config_flags(ap, RunOptions, flags=flags)
    return ap, flags


def default_warmup(steps: int) -> int:
    """100 warm-up steps (every committed recipe's), or a tenth of a run shorter than 100 steps."""
    return 100 if steps >= 100 else steps // 10


def _validate(a: argparse.Namespace) -> None:
    """Every flag, before anything is trained (config fields are checked again by the configs).

    Messages name config fields; ``_cli`` rewrites them as the flags the user typed."""
    for name in ("threads", "snapshot_every", "track_every"):
        value = getattr(a, name)
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be 1 or more, got {value}. Fix: e.g. {name} 1, or leave it out.")
    if a.n_heads < 1:
        raise ConfigError(f"n_heads must be 1 or more, got {a.n_heads}. Fix: e.g. n_heads 4.")
    if a.d_model % a.n_heads:
        raise ConfigError(f"d_model ({a.d_model}) must be divisible by n_heads ({a.n_heads}).")
    if a.n_ctx < 3:
        raise ConfigError(
            f"n_ctx must be at least 3 (BOS and a repeated token for the probes), got {a.n_ctx}. Fix: e.g. n_ctx 128."
        )
    if a.d_vocab < 300:
        raise ConfigError(
            f"d_vocab must be at least 300 for the byte-level BPE (256 bytes + merges), got {a.d_vocab}. Fix: e.g. d_vocab 2048."
        )
    check_data_mix(a.repeat_frac, a.synthetic_steps, a.warmup_without_mlps, a.d_mlp, _kickstart(a), a.d_vocab)


def _kickstart(a: argparse.Namespace) -> Kickstart | None:
    return Kickstart(a.kickstart_steps, a.kickstart_vocab, a.kickstart_lr) if a.kickstart_steps else None


def cli_main(argv: list[str] | None = None) -> int:
    """``python -m helpers.train lm``: train a language model on the corpus and save a checkpoint."""
    return run_cli(_cli, argv)


def _cli(argv: list[str]) -> int:
    parser, all_flags = _parser()
    a = parser.parse_args(argv)
    named = MODEL_FIELDS + TRAIN_FIELDS + ("repeat_frac", "synthetic_steps", "warmup_without_mlps")
    named += ("kickstart_steps", "kickstart_vocab", "kickstart_lr")
    named += ("snapshot_every", "track_every", "threads")
    flags = all_flags.for_errors(argv, named)
    flags["vocab_size"] = flags["d_vocab"]  # train_lm's name for it
    if a.warmup_steps is None:
        a.warmup_steps = default_warmup(a.n_steps)
    checkpoint_name(a.name, "--name")
    try:
        _validate(a)
        mcfg, tcfg = _configs(a)
    except ConfigError as e:
        raise ConfigError(with_flags(str(e), flags)) from e
    folder = writable_dir(a.out if a.out is not None else data_dir() / "checkpoints", "--out")
    out = folder / a.name
    snap_path = folder / f"{a.name}_snapshots.safetensors"
    refuse_overwrite(out, a.force)
    if snap_path.exists() and not a.force:
        raise OutputExistsError(
            f"{snap_path} exists (snapshots of an earlier run). Fix: choose another --name, or add --force."
        )
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    try:
        model, hist, metrics, snaps = _train_cli(a, mcfg, tcfg)
    except KeyboardInterrupt:
        print(f"interrupted (Ctrl-C): nothing was saved; {out} is unchanged.", file=sys.stderr)
        return 130
    cmd = made_by("lm", argv)
    if snaps:
        from safetensors.torch import save_file

        metrics["snapshot_steps"] = sorted({int(k.split(".")[0][4:]) for k in snaps})
        write_atomic(snap_path, lambda p: save_file(snaps, str(p)))
    else:
        snap_path.unlink(missing_ok=True)  # --force: an old run's snapshots must not pass for this run's
    save_checkpoint(model, out, tcfg, metrics, notes=f"made by: {cmd}")
    print(f"saved {out}.safetensors: {hist.summary()}")
    return 0


def _train_cli(
    a: argparse.Namespace, mcfg: ModelConfig, tcfg: TrainConfig
) -> tuple[TransformerBridge, History, dict[str, Any], dict[str, Tensor]]:
    """Train as the command asked: the model, its history, the card's metrics and the fp16 snapshots."""
    snaps: dict[str, Tensor] = {}
    track: dict[str, list] = {}
    probe = repeated_random_tokens(16, min(40, (a.n_ctx - 1) // 2), a.d_vocab, seed=1234)  # [BOS] r r fits in n_ctx
    val_probe = token_dataset(n_ctx=a.n_ctx, vocab_size=a.d_vocab, max_val_rows=32, seed=a.seed)[1]

    def on_step(step: int, model: torch.nn.Module) -> None:
        # ``step`` counts optimiser updates already made, minus one: the weights now are after step + 1 updates.
        done = step + 1
        if (
            a.snapshot_every and done % a.snapshot_every == 0 and done < a.n_steps + a.synthetic_steps
        ):  # the final weights are the checkpoint itself
            snaps.update(
                {f"step{done}.{k}": v.detach().to(torch.float16).clone() for k, v in model.state_dict().items()}
            )
        if a.track_every and (step == 0 or done % a.track_every == 0):
            model.eval()
            m = track_metrics(model, probe, val_probe)
            model.train()
            track.setdefault("step", []).append(done)
            track.setdefault("train_loss", []).append(0.0)
            for k, v in m.items():
                track.setdefault(k, []).append(v)

    model, hist = train_lm(
        mcfg,
        tcfg,
        vocab_size=a.d_vocab,
        repeat_frac=a.repeat_frac,
        synthetic_steps=a.synthetic_steps,
        warmup_without_mlps=a.warmup_without_mlps,
        kickstart=_kickstart(a),
        on_step=on_step if (a.snapshot_every or a.track_every) else None,
    )
    metrics: dict[str, Any] = dict(hist.summary())
    metrics["synthetic_steps"] = a.synthetic_steps
    metrics["repeat_frac"] = a.repeat_frac
    if a.warmup_without_mlps:
        metrics["warmup_without_mlps"] = True
    if a.kickstart_steps:
        metrics["kickstart"] = {"steps": a.kickstart_steps, "vocab": a.kickstart_vocab, "lr": a.kickstart_lr}
    if track:
        # the mean training loss over the steps since the previous log point
        edges = [0] + track["step"]
        track["train_loss"] = [sum(hist.train_loss[s:e]) / max(e - s, 1) for s, e in zip(edges[:-1], edges[1:])]
        metrics["track"] = track
    return model, hist, metrics, snaps


def _configs(a: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    mcfg = ModelConfig(
        d_vocab=a.d_vocab,
        n_ctx=a.n_ctx,
        d_model=a.d_model,
        n_layers=a.n_layers,
        n_heads=a.n_heads,
        d_head=a.d_model // a.n_heads,
        d_mlp=a.d_mlp,
        normalization_type=a.normalization_type,
        seed=a.seed,
    )
    tcfg = TrainConfig(
        n_steps=a.n_steps,
        batch_size=a.batch_size,
        lr=a.lr,
        weight_decay=a.weight_decay,
        warmup_steps=a.warmup_steps,
        eval_every=max(a.n_steps // 10, 1),
        seed=a.seed,
    )
    return mcfg, tcfg
