"""A small training loop: AdamW, history, snapshots, progress bar (introduced in notebook 00).

``train`` works for every model in the course. It takes the data as one tensor (language
modelling: a row of tokens per example) or a tuple of tensors indexed together (tokens and
labels), a ``loss_fn(model, batch) -> scalar``, and optional ``eval_fn(model) -> metrics``.
Batches are drawn with a generator seeded by ``TrainConfig.seed``, so a run is repeatable.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import no_type_check

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from helpers.configs import TrainConfig
from helpers.errors import DivergedError, ShapeError
from helpers.progress import Progress

Batch = tuple[Tensor, ...]
LossFn = Callable[[torch.nn.Module, Batch], Tensor]
EvalFn = Callable[[torch.nn.Module], dict[str, float]]


@dataclass
class History:
    """What happened in a run: per-step training loss, periodic metrics, snapshots."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    snapshots: list[tuple[int, dict[str, Tensor]]] = field(default_factory=list)
    seconds: float = 0.0

    def log_eval(self, step: int, metrics: dict[str, float]) -> None:
        self.eval_steps.append(step)
        for k, v in metrics.items():
            self.metrics.setdefault(k, []).append(float(v))

    def last(self, name: str) -> float:
        """The latest value of a metric (or of ``train_loss``)."""
        if name == "train_loss":
            return self.train_loss[-1]
        return self.metrics[name][-1]

    def summary(self) -> dict[str, float]:
        out = {"steps": float(self.steps[-1] + 1 if self.steps else 0), "seconds": round(self.seconds, 2)}
        out.update({k: v[-1] for k, v in self.metrics.items()})
        return out


def lm_loss(model: torch.nn.Module, batch: Batch) -> Tensor:
    """Mean next-token cross-entropy of a language model on a batch of token rows."""
    (tokens,) = batch
    logits = model(tokens)
    return next_token_loss(logits, tokens).mean()


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def next_token_loss(
    logits: Float[Tensor, "batch pos d_vocab"], tokens: Int[Tensor, "batch pos"]
) -> Float[Tensor, "batch pos_minus_1"]:
    """Per-token cross-entropy of predicting ``tokens[:, 1:]`` from ``logits[:, :-1]``."""
    if logits.shape[:2] != tokens.shape:
        raise ShapeError(f"logits {tuple(logits.shape)} and tokens {tuple(tokens.shape)} disagree on [batch, pos].")
    b, p, v = logits.shape
    flat = F.cross_entropy(logits[:, :-1].reshape(-1, v), tokens[:, 1:].reshape(-1), reduction="none")
    return flat.view(b, p - 1)


def last_position_loss(model: torch.nn.Module, batch: Batch) -> Tensor:
    """Cross-entropy of the prediction at the last position against a label (the algorithmic tasks)."""
    tokens, labels = batch
    return F.cross_entropy(model(tokens)[:, -1], labels)


@torch.no_grad()
def last_position_accuracy(model: torch.nn.Module, tokens: Tensor, labels: Tensor, batch_size: int = 4096) -> float:
    """Accuracy of the argmax prediction at the last position."""
    correct = 0
    for i in range(0, len(tokens), batch_size):
        correct += (model(tokens[i : i + batch_size])[:, -1].argmax(-1) == labels[i : i + batch_size]).sum().item()
    return correct / max(len(tokens), 1)


@torch.no_grad()
def eval_lm_loss(model: torch.nn.Module, tokens: Int[Tensor, "batch pos"], batch_size: int = 64) -> float:
    """Mean next-token loss over all rows of ``tokens``."""
    total, count = 0.0, 0
    for i in range(0, len(tokens), batch_size):
        chunk = tokens[i : i + batch_size]
        total += next_token_loss(model(chunk), chunk).sum().item()
        count += chunk.shape[0] * (chunk.shape[1] - 1)
    return total / count


def _lr_lambda(cfg: TrainConfig) -> Callable[[int], float]:
    def f(step: int) -> float:
        return min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0

    return f


def make_optimizer(model: torch.nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW over the trainable parameters, with the config's lr, betas and weight decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay)


def train(
    model: torch.nn.Module,
    data: Tensor | Sequence[Tensor],
    cfg: TrainConfig,
    loss_fn: LossFn = lm_loss,
    eval_fn: EvalFn | None = None,
    progress: bool = True,
    on_step: Callable[[int, torch.nn.Module], None] | None = None,
) -> History:
    """Train ``model`` in place with AdamW for ``cfg.n_steps`` steps; return its ``History``.

    - ``data``: a tensor (one example per row) or a tuple of tensors of equal length.
    - ``eval_fn`` runs every ``cfg.eval_every`` steps and after the last step.
    - ``cfg.snapshot_every`` keeps a copy of the weights every so many steps (and at step 0),
      for studying how circuits form (notebooks 03, 06).
    - ``on_step(step, model)`` runs after each optimiser step (e.g. a gradient filter).
    """
    tensors: tuple[Tensor, ...] = (data,) if isinstance(data, Tensor) else tuple(data)
    n = len(tensors[0])
    if n == 0 or any(len(t) != n for t in tensors):
        raise ShapeError(f"data tensors must be non-empty and of equal length, got {[len(t) for t in tensors]}.")
    device = next(model.parameters()).device
    tensors = tuple(t.to(device) for t in tensors)
    full_batch = cfg.batch_size is None or cfg.batch_size >= n
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = make_optimizer(model, cfg)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _lr_lambda(cfg))
    hist = History()

    bar = Progress(cfg.n_steps, leave=False, enabled=progress, mininterval=0.1)

    start = time.perf_counter()
    model.train()
    for step in range(cfg.n_steps):
        if cfg.snapshot_every and step % cfg.snapshot_every == 0:
            hist.snapshots.append((step, copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})))
        if full_batch:
            batch = tensors
        else:
            idx = torch.randint(0, n, (cfg.batch_size,), generator=gen).to(device)  # type: ignore[arg-type]
            batch = tuple(t[idx] for t in tensors)
        loss = loss_fn(model, batch)
        if not math.isfinite(loss.item()):
            raise DivergedError(
                f"training diverged: the loss became {loss.item()} at step {step} (lr {cfg.lr:g}). "
                f"Fix: a smaller --lr (learning rate), e.g. {min(cfg.lr / 10, 1e-3):g}."
            )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        if on_step is not None:
            on_step(step, model)
        hist.steps.append(step)
        hist.train_loss.append(loss.item())
        last = step == cfg.n_steps - 1
        if eval_fn is not None and (step % cfg.eval_every == 0 or last):
            model.eval()
            hist.log_eval(step, eval_fn(model))
            model.train()
        bar.update(1)
        if step % 20 == 0 or last:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    if cfg.snapshot_every:
        hist.snapshots.append((cfg.n_steps, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}))
    hist.seconds = time.perf_counter() - start
    bar.close()
    model.eval()
    return hist


def concat_histories(first: History, second: History) -> History:
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
