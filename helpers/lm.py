"""Language models on the course corpus: one recipe for notebooks 01-05.

``train_lm`` trains a model from a ``ModelConfig`` on the corpus's token rows and returns the
model and its history. ``lm_checkpoint`` loads a committed checkpoint from ``data/checkpoints``;
``python -m helpers.train lm ...`` reproduces it.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any, Callable

import torch
from jaxtyping import Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers.checkpoints import (
    checkpoint_exists, checkpoint_name, load_checkpoint, refuse_overwrite, save_checkpoint, write_atomic,
)  # fmt: skip
from helpers.configs import ModelConfig, TrainConfig
from helpers.data import token_dataset
from helpers.errors import (
    ArgumentParser, CheckpointError, ConfigError, MissingDataError, OutputExistsError, run_cli, with_flags,
)  # fmt: skip
from helpers.models import build_model, config_of
from helpers.tasks import repeated_random_tokens
from helpers.paths import data_dir, writable_dir
from helpers.training import History, eval_lm_loss, next_token_loss, train


def repeated_rows(n_rows: int, n_ctx: int, d_vocab: int, seed: int = 0, min_period: int = 8, max_period: int = 48) -> Int[Tensor, "n_rows n_ctx"]:
    """Synthetic rows ``[BOS] r r r ...`` (random tokens ``r`` of a random period), ``n_ctx`` long.

    Mixed into the corpus with ``train_lm(repeat_frac=...)`` they make induction heads form in
    fewer steps (notebook 03 says so and shows the difference).
    """
    gen = torch.Generator().manual_seed(seed)
    rows = torch.zeros(n_rows, n_ctx, dtype=torch.long)
    for i in range(n_rows):
        period = int(torch.randint(min_period, max_period + 1, (1,), generator=gen))
        r = torch.randint(1, d_vocab, (period,), generator=gen)
        rows[i, 1:] = r.repeat(n_ctx // period + 1)[: n_ctx - 1]
    return rows


def train_lm(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    vocab_size: int = 2048,
    max_val_rows: int = 128,
    progress: bool = True,
    repeat_frac: float = 0.0,
    on_step: Callable[[int, torch.nn.Module], None] | None = None,
    synthetic_steps: int = 0,
) -> tuple[TransformerBridge, History]:
    """Train a fresh model on the corpus (course BPE, rows of ``model_cfg.n_ctx`` tokens).

    Evaluates the validation loss every ``train_cfg.eval_every`` steps. ``repeat_frac > 0``
    mixes in synthetic repeated-random-token rows (``repeated_rows``) so that this fraction of
    the training rows is synthetic; the validation rows stay pure corpus.

    ``synthetic_steps > 0`` first trains that many steps on synthetic rows only (a warm-up in
    which induction heads form quickly; notebook 03 says why), then ``train_cfg.n_steps`` steps
    on the corpus mix. ``on_step`` and the history count the steps of both phases in one sequence.
    """
    if not 0.0 <= repeat_frac < 1.0:
        raise ConfigError(f"repeat_frac must be in [0, 1), got {repeat_frac}.")
    if synthetic_steps < 0:
        raise ConfigError(f"synthetic_steps must be 0 or more, got {synthetic_steps}.")
    train_rows, val_rows, tok = token_dataset(n_ctx=model_cfg.n_ctx, vocab_size=vocab_size, max_val_rows=max_val_rows, seed=train_cfg.seed)
    if tok.vocab_size != model_cfg.d_vocab:
        raise ValueError(f"model d_vocab={model_cfg.d_vocab} but the tokenizer has {tok.vocab_size} tokens; set d_vocab={tok.vocab_size}.")
    if repeat_frac > 0:
        n_syn = round(len(train_rows) * repeat_frac / (1 - repeat_frac))
        train_rows = torch.cat([train_rows, repeated_rows(n_syn, model_cfg.n_ctx, model_cfg.d_vocab, seed=train_cfg.seed)])
    model = build_model(model_cfg)
    eval_fn = lambda m: {"val_loss": eval_lm_loss(m, val_rows)}  # noqa: E731
    warm = None
    if synthetic_steps:
        syn = repeated_rows(max(len(train_rows), 4096), model_cfg.n_ctx, model_cfg.d_vocab, seed=train_cfg.seed + 1)
        warm_cfg = dataclasses.replace(train_cfg, n_steps=synthetic_steps, warmup_steps=min(train_cfg.warmup_steps, synthetic_steps), eval_every=synthetic_steps)
        warm = train(model, syn, warm_cfg, eval_fn=eval_fn, progress=progress, on_step=on_step)
    shifted = None if on_step is None else (lambda step, m: on_step(step + synthetic_steps, m))
    hist = train(model, train_rows, train_cfg, eval_fn=eval_fn, progress=progress, on_step=shifted)
    if warm is not None:
        hist = _concat(warm, hist)
    return model, hist


def _concat(first: History, second: History) -> History:
    """One history for two consecutive training phases (the second's steps shifted)."""
    n = len(first.steps)
    out = History()
    out.steps = first.steps + [s + n for s in second.steps]
    out.train_loss = first.train_loss + second.train_loss
    out.eval_steps = first.eval_steps + [s + n for s in second.eval_steps]
    for k in set(first.metrics) | set(second.metrics):
        out.metrics[k] = first.metrics.get(k, []) + second.metrics.get(k, [])
    out.seconds = first.seconds + second.seconds
    return out


def snapshots_path(name: str) -> Path:
    return data_dir() / "checkpoints" / f"{name}_snapshots.safetensors"


def lm_snapshots(name: str) -> list[tuple[int, TransformerBridge]]:
    """The training snapshots saved with ``--snapshot-every`` as ``(step, model)`` pairs, oldest first.

    They are stored in fp16 (to keep the file small) and loaded into fp32 models.
    """
    from safetensors.torch import load_file

    model, card = lm_checkpoint(name)
    path = snapshots_path(name)
    if not path.exists():
        raise MissingDataError(f"No snapshots {path}. Re-create them with the command in {checkpoint_path(name)}.json (notes).")
    steps = card.get("metrics", {}).get("snapshot_steps")
    if not steps:
        raise MissingDataError(
            f"The checkpoint {name!r} was trained without --snapshot-every, so {path} is not its snapshots. "
            f"Re-create both with the command in {checkpoint_path(name)}.json (notes), with --snapshot-every."
        )
    try:
        flat = load_file(str(path))
    except Exception as e:  # SafetensorError: truncated or not safetensors
        raise CheckpointError(f"The snapshots {path} cannot be read ({e}). Re-create them with the command in {checkpoint_path(name)}.json (notes).") from e
    out = []
    for step in steps:
        prefix = f"step{int(step)}."
        sd = {k[len(prefix) :]: v.float() for k, v in flat.items() if k.startswith(prefix)}
        if not sd:
            raise CheckpointError(
                f"The snapshots {path} hold no step {step}, which the card of {name!r} lists: they come from another run. "
                f"Re-create them with the command in {checkpoint_path(name)}.json (notes)."
            )
        m = build_model(config_of(model))
        m.load_state_dict(sd)
        m.eval()
        out.append((int(step), m))
    return out


@torch.no_grad()
def track_metrics(model: TransformerBridge, probe: Int[Tensor, "batch pos"], val_rows: Int[Tensor, "batch n_ctx"]) -> dict[str, Any]:
    """Cheap in-context metrics logged during training (notebook 03's phase change).

    ``probe`` is ``[BOS] r r`` repeated random tokens: the loss on each repeat and the
    induction score of every head. ``icl_score`` is the loss late in a corpus row minus the
    loss early in it (Olsson et al. 2022, scaled to our context: token ~100 minus token ~10).
    """
    from helpers.heads import induction_score

    cfg = config_of(model)
    period = (probe.shape[1] - 1) // 2
    logits, cache = model.run_with_cache(probe)
    loss = next_token_loss(logits, probe)  # [batch, pos-1]: position j predicts token j+1
    out: dict[str, Any] = {
        "loss_repeat1": float(loss[:, 1:period].mean()),
        "loss_repeat2": float(loss[:, period + 1 :].mean()),
        "induction": [induction_score(cache[f"blocks.{l}.attn.hook_pattern"], period).tolist() for l in range(cfg.n_layers)],
    }
    vloss = next_token_loss(model(val_rows), val_rows)
    # Undefined (None, not NaN: a card is strict JSON) when rows are too short to have a token ~100.
    out["icl_score"] = float(vloss[:, 95:105].mean() - vloss[:, 5:15].mean()) if vloss.shape[1] >= 105 else None
    return out


def checkpoint_path(name: str) -> Path:
    return data_dir() / "checkpoints" / checkpoint_name(name, "name")


def lm_checkpoint(name: str) -> tuple[TransformerBridge, dict]:
    """Load a committed language-model checkpoint by name (e.g. ``"attn2l"``), with its card."""
    path = checkpoint_path(name)
    if not checkpoint_exists(path):
        raise MissingDataError(
            f"No checkpoint {name!r} in {path.parent}. Re-create it with the command in "
            "Documentation/checkpoints.md (python -m helpers.train lm ...)."
        )
    return load_checkpoint(path)


# Config fields as the lm command spells them, so that an error names the flag a user typed.
LM_FLAGS = {
    "n_steps": "--steps", "warmup_steps": "--warmup", "lr": "--lr", "weight_decay": "--weight-decay",
    "batch_size": "--batch-size", "d_vocab": "--vocab-size", "vocab_size": "--vocab-size", "n_ctx": "--n-ctx",
    "d_model": "--d-model", "n_heads": "--heads", "n_layers": "--layers", "d_mlp": "--d-mlp",
    "repeat_frac": "--repeat-frac", "synthetic_steps": "--synthetic-steps",
}  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m helpers.train lm", description=cli_main.__doc__)
    ap.add_argument("--name", required=True, help="checkpoint name under data/checkpoints (or --out); dots allowed")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: data/checkpoints)")
    ap.add_argument("--force", action="store_true", help="replace an existing checkpoint of this name")
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
    ap.add_argument("--warmup", type=int, default=None, help="linear warm-up steps (default 100; a tenth of --steps if --steps < 100)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat-frac", type=float, default=0.0, help="fraction of training rows that are synthetic repeated random tokens")
    ap.add_argument("--synthetic-steps", type=int, default=0, help="first train this many steps on synthetic repeated random tokens only")
    ap.add_argument("--snapshot-every", type=int, default=None, help="save fp16 weight snapshots every N steps to NAME_snapshots.safetensors")
    ap.add_argument("--track-every", type=int, default=None, help="log in-context metrics (induction scores, repeat losses) every N steps into the card")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return ap


def default_warmup(steps: int) -> int:
    """100 warm-up steps (every committed recipe's), or a tenth of a run shorter than 100 steps."""
    return 100 if steps >= 100 else steps // 10


def _validate(a: argparse.Namespace) -> None:
    """Every flag, before anything is trained (config fields are checked again by the configs)."""
    checkpoint_name(a.name, "--name")
    for flag, value in (("--threads", a.threads), ("--snapshot-every", a.snapshot_every), ("--track-every", a.track_every)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be 1 or more, got {value}. Fix: e.g. {flag} 1, or leave it out.")
    if a.heads < 1:
        raise ConfigError(f"--heads must be 1 or more, got {a.heads}. Fix: e.g. --heads 4.")
    if a.d_model % a.heads:
        raise ConfigError(f"--d-model ({a.d_model}) must be divisible by --heads ({a.heads}).")
    if a.n_ctx < 3:
        raise ConfigError(f"--n-ctx must be at least 3 (BOS and a repeated token for the probes), got {a.n_ctx}. Fix: e.g. --n-ctx 128.")
    if a.vocab_size < 300:
        raise ConfigError(f"--vocab-size must be at least 300 for the byte-level BPE (256 bytes + merges), got {a.vocab_size}. Fix: e.g. --vocab-size 2048.")
    if not 0.0 <= a.repeat_frac < 1.0:
        raise ConfigError(f"--repeat-frac must be in [0, 1) (a fraction of synthetic rows), got {a.repeat_frac}. Fix: e.g. --repeat-frac 0.25.")
    if a.synthetic_steps < 0:
        raise ConfigError(f"--synthetic-steps must be 0 or more, got {a.synthetic_steps}.")


def cli_main(argv: list[str] | None = None) -> int:
    """``python -m helpers.train lm``: train a language model on the corpus and save a checkpoint."""
    return run_cli(_cli, argv)


def _cli(argv: list[str]) -> int:
    a = _parser().parse_args(argv)
    if a.warmup is None:
        a.warmup = default_warmup(a.steps)
    _validate(a)
    try:
        mcfg, tcfg = _configs(a)
    except ConfigError as e:
        raise ConfigError(with_flags(str(e), LM_FLAGS)) from e
    folder = writable_dir(a.out if a.out is not None else data_dir() / "checkpoints", "--out")
    out = folder / a.name
    snap_path = folder / f"{a.name}_snapshots.safetensors"
    refuse_overwrite(out, a.force)
    if snap_path.exists() and not a.force:
        raise OutputExistsError(f"{snap_path} exists (snapshots of an earlier run). Fix: choose another --name, or add --force.")
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    try:
        model, hist, metrics, snaps = _train_cli(a, mcfg, tcfg)
    except KeyboardInterrupt:
        print(f"interrupted (Ctrl-C): nothing was saved; {out} is unchanged.", file=sys.stderr)
        return 130
    cmd = "python -m helpers.train lm " + " ".join(argv)
    if snaps:
        from safetensors.torch import save_file

        metrics["snapshot_steps"] = sorted({int(k.split(".")[0][4:]) for k in snaps})
        write_atomic(snap_path, lambda p: save_file(snaps, str(p)))
    else:
        snap_path.unlink(missing_ok=True)  # --force: an old run's snapshots must not pass for this run's
    save_checkpoint(model, out, tcfg, metrics, notes=f"made by: {cmd}")
    print(f"saved {out}.safetensors: {hist.summary()}")
    return 0


def _train_cli(a: argparse.Namespace, mcfg: ModelConfig, tcfg: TrainConfig) -> tuple[TransformerBridge, History, dict[str, Any], dict[str, Tensor]]:
    """Train as the command asked: the model, its history, the card's metrics and the fp16 snapshots."""
    snaps: dict[str, Tensor] = {}
    track: dict[str, list] = {}
    probe = repeated_random_tokens(16, min(40, (a.n_ctx - 1) // 2), a.vocab_size, seed=1234)  # [BOS] r r fits in n_ctx
    val_probe = token_dataset(n_ctx=a.n_ctx, vocab_size=a.vocab_size, max_val_rows=32, seed=a.seed)[1]

    def on_step(step: int, model: torch.nn.Module) -> None:
        # ``step`` counts optimiser updates already made, minus one: the weights now are after step + 1 updates.
        done = step + 1
        if a.snapshot_every and done % a.snapshot_every == 0 and done < a.steps + a.synthetic_steps:  # the final weights are the checkpoint itself
            snaps.update({f"step{done}.{k}": v.detach().to(torch.float16).clone() for k, v in model.state_dict().items()})
        if a.track_every and (step == 0 or done % a.track_every == 0):
            model.eval()
            m = track_metrics(model, probe, val_probe)
            model.train()
            track.setdefault("step", []).append(done)
            track.setdefault("train_loss", []).append(0.0)
            for k, v in m.items():
                track.setdefault(k, []).append(v)

    model, hist = train_lm(mcfg, tcfg, vocab_size=a.vocab_size, repeat_frac=a.repeat_frac, synthetic_steps=a.synthetic_steps, on_step=on_step if (a.snapshot_every or a.track_every) else None)
    metrics: dict[str, Any] = dict(hist.summary())
    metrics["synthetic_steps"] = a.synthetic_steps
    metrics["repeat_frac"] = a.repeat_frac
    if track:
        # the mean training loss over the steps since the previous log point
        edges = [0] + track["step"]
        track["train_loss"] = [sum(hist.train_loss[s:e]) / max(e - s, 1) for s, e in zip(edges[:-1], edges[1:])]
        metrics["track"] = track
    return model, hist, metrics, snaps


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
