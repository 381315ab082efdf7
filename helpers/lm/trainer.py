"""Training a language model on the course corpus (``train_lm``) and the in-context metrics logged while it trains."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import torch
from jaxtyping import Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers.configs import ModelConfig, TrainConfig
from helpers.data import token_dataset
from helpers.errors import (
    ConfigError,
)  # fmt: skip
from helpers.models import build_model, config_of
from helpers.tasks import repeated_rows
from helpers.training import History, concat_histories, eval_lm_loss, next_token_loss, train


def check_data_mix(
    repeat_frac: float,
    synthetic_steps: int,
    warmup_without_mlps: bool,
    d_mlp: int | None,
    kickstart: Kickstart | None = None,
    d_vocab: int | None = None,
) -> None:
    """The synthetic-data options of ``train_lm``, checked (the command checks them before loading anything).

    Messages name config fields; the command rewrites them as the flags the user typed."""
    if not 0.0 <= repeat_frac < 1.0:
        raise ConfigError(
            f"repeat_frac must be in [0, 1) (a fraction of synthetic rows), got {repeat_frac}. Fix: e.g. repeat_frac 0.25."
        )
    if synthetic_steps < 0:
        raise ConfigError(f"synthetic_steps must be 0 or more, got {synthetic_steps}.")
    if warmup_without_mlps and not (synthetic_steps and d_mlp):
        raise ConfigError(
            "warmup_without_mlps needs a synthetic warm-up and MLPs. Fix: add synthetic_steps N and d_mlp N, or drop it."
        )
    if kickstart is None or not kickstart.steps:
        return
    if kickstart.steps < 0 or kickstart.steps > synthetic_steps:
        raise ConfigError(
            f"kickstart_steps must be between 0 and synthetic_steps ({synthetic_steps}): the kick-start is the first "
            f"part of the synthetic warm-up; got {kickstart.steps}. Fix: e.g. kickstart_steps 400 with synthetic_steps 1000."
        )
    if not 2 <= kickstart.vocab <= (d_vocab or kickstart.vocab):
        raise ConfigError(
            f"kickstart_vocab must be between 2 and d_vocab ({d_vocab}), got {kickstart.vocab}. Fix: e.g. kickstart_vocab 64."
        )
    if not kickstart.lr > 0:
        raise ConfigError(f"kickstart_lr must be positive, got {kickstart.lr}. Fix: e.g. kickstart_lr 0.01.")


@dataclasses.dataclass(frozen=True)
class Kickstart:
    """The first ``steps`` of the synthetic warm-up: repeated random tokens drawn from only the first
    ``vocab`` token ids, at learning rate ``lr`` (``attn2l``'s recipe; notebook 03 says why).

    With 2048 token types the copying circuit must be learned for every token, and the induction
    circuit forms late and with a strength that depends on the seed. With 64 token types a 2-layer
    model grows it in a few hundred steps at lr 1e-2; the full-vocabulary rows that follow then only
    have to extend a circuit that already exists to every token."""

    steps: int = 0
    vocab: int = 64
    lr: float = 1e-2


def train_lm(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    vocab_size: int = 2048,
    max_val_rows: int = 128,
    progress: bool = True,
    repeat_frac: float = 0.0,
    on_step: Callable[[int, torch.nn.Module], None] | None = None,
    synthetic_steps: int = 0,
    warmup_without_mlps: bool = False,
    kickstart: Kickstart | None = None,
) -> tuple[TransformerBridge, History]:
    """Train a fresh model on the corpus (course BPE, rows of ``model_cfg.n_ctx`` tokens).

    Evaluates the validation loss every ``train_cfg.eval_every`` steps. ``repeat_frac > 0``
    mixes in synthetic repeated-random-token rows (``repeated_rows``) so that this fraction of
    the training rows is synthetic; the validation rows stay pure corpus.

    ``synthetic_steps > 0`` first trains that many steps on synthetic rows only (a warm-up in
    which induction heads form quickly; notebook 03 says why), then ``train_cfg.n_steps`` steps
    on the corpus mix. ``on_step`` and the history count the steps of both phases in one sequence.

    ``warmup_without_mlps``: during that warm-up the MLPs are switched off (``mlps_switched_off``),
    so the model trains as an attention-only one; they switch on, at zero output, for the corpus.
    With MLPs (and LayerNorm) on synthetic rows, the model settles for copying any token already in
    the row and grows no induction head (Documentation/checkpoints.md has the runs); ``full2l`` uses it.

    ``kickstart``: the warm-up's first ``kickstart.steps`` steps use a small vocabulary and their own
    learning rate (``Kickstart``); ``attn2l`` uses it.
    """
    check_data_mix(repeat_frac, synthetic_steps, warmup_without_mlps, model_cfg.d_mlp, kickstart, model_cfg.d_vocab)
    train_rows, val_rows, tok = token_dataset(
        n_ctx=model_cfg.n_ctx, vocab_size=vocab_size, max_val_rows=max_val_rows, seed=train_cfg.seed
    )
    if tok.vocab_size != model_cfg.d_vocab:
        raise ValueError(
            f"model d_vocab={model_cfg.d_vocab} but the tokenizer has {tok.vocab_size} tokens; set d_vocab={tok.vocab_size}."
        )
    if repeat_frac > 0:
        n_syn = round(len(train_rows) * repeat_frac / (1 - repeat_frac))
        train_rows = torch.cat(
            [train_rows, repeated_rows(n_syn, model_cfg.n_ctx, model_cfg.d_vocab, seed=train_cfg.seed)]
        )
    model = build_model(model_cfg)
    eval_fn = lambda m: {"val_loss": eval_lm_loss(m, val_rows)}  # noqa: E731
    # The phases, in order: (rows, config); the kick-start and the synthetic warm-up train on synthetic rows only.
    phases: list[tuple[torch.Tensor, TrainConfig]] = []
    kick = kickstart.steps if kickstart is not None else 0
    if kick:
        small = repeated_rows(max(len(train_rows), 4096), model_cfg.n_ctx, kickstart.vocab, seed=train_cfg.seed + 2)
        phases.append((small, _phase_cfg(train_cfg, kick, lr=kickstart.lr)))
    if synthetic_steps > kick:
        syn = repeated_rows(max(len(train_rows), 4096), model_cfg.n_ctx, model_cfg.d_vocab, seed=train_cfg.seed + 1)
        phases.append((syn, _phase_cfg(train_cfg, synthetic_steps - kick)))
    phases.append((train_rows, train_cfg))
    hist, done = None, 0
    for i, (rows, cfg) in enumerate(phases):
        shifted = None if on_step is None else (lambda step, m, done=done: on_step(step + done, m))
        warmup = i < len(phases) - 1 and warmup_without_mlps
        with mlps_switched_off(model) if warmup else contextlib.nullcontext():
            part = train(model, rows, cfg, eval_fn=eval_fn, progress=progress, on_step=shifted)
        hist = part if hist is None else concat_histories(hist, part)
        done += cfg.n_steps
    return model, hist


def _phase_cfg(train_cfg: TrainConfig, n_steps: int, lr: float | None = None) -> TrainConfig:
    """A warm-up phase's training config: ``n_steps`` steps, one evaluation at its end."""
    return dataclasses.replace(
        train_cfg,
        n_steps=n_steps,
        lr=train_cfg.lr if lr is None else lr,
        warmup_steps=min(train_cfg.warmup_steps, n_steps),
        eval_every=n_steps,
    )


@contextlib.contextmanager
def mlps_switched_off(model: TransformerBridge) -> Iterator[None]:
    """Inside: every MLP outputs zero (its output weights and bias are zeroed) and none of its weights train.

    On leaving, the MLPs train again, starting from zero output: the model is the attention-only
    model the block trained, and the MLPs grow from there."""
    named = [(name, p) for name, p in model.named_parameters() if ".mlp." in name]
    if not named:
        raise ConfigError("mlps_switched_off: this model has no MLP parameters. Fix: use a model with d_mlp set.")
    with torch.no_grad():
        for name, p in named:
            if "fc_out" in name:
                p.zero_()
            p.requires_grad_(False)
    try:
        yield
    finally:
        for _, p in named:
            p.requires_grad_(True)


@torch.no_grad()
def track_metrics(
    model: TransformerBridge, probe: Int[Tensor, "batch pos"], val_rows: Int[Tensor, "n_rows n_ctx"]
) -> dict[str, Any]:
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
        "induction": [
            induction_score(cache[f"blocks.{l}.attn.hook_pattern"], period).tolist() for l in range(cfg.n_layers)
        ],
    }
    vloss = next_token_loss(model(val_rows), val_rows)
    # Undefined (None, not NaN: a card is strict JSON) when rows are too short to have a token ~100.
    out["icl_score"] = float(vloss[:, 95:105].mean() - vloss[:, 5:15].mean()) if vloss.shape[1] >= 105 else None
    return out
