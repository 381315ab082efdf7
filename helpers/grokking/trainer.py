"""The full-batch grokking trainer: history, phases, resumable state, ``train_grokking``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from helpers.errors import ConfigError, DivergedError
from helpers.grokking.config import GrokConfig
from helpers.grokking.model import FastGrokModel, weight_norm
from helpers.progress import Progress
from helpers.tasks import SupervisedSplit, modular_arithmetic


@dataclass
class GrokHistory:
    """Metrics every ``eval_every`` steps, snapshots (TransformerLens names), timing."""

    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_acc: list[float] = field(default_factory=list)
    weight_norm: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, Tensor]]] = field(default_factory=list)
    seconds: float = 0.0
    n_steps_run: int = 0

    def first_step(self, metric: str, threshold: float) -> int | None:
        """The first logged step where ``metric >= threshold`` (None if never)."""
        for s, v in zip(self.steps, getattr(self, metric)):
            if v >= threshold:
                return s
        return None

    @property
    def ms_per_step(self) -> float:
        return 1000 * self.seconds / max(self.n_steps_run, 1)

    def to_dict(self) -> dict[str, Any]:
        keys = ("steps", "train_loss", "train_acc", "test_loss", "test_acc", "weight_norm")
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out.update(
            seconds=round(self.seconds, 2),
            n_steps_run=self.n_steps_run,
            ms_per_step=round(self.ms_per_step, 2),
            step_train_acc_100=self.first_step("train_acc", 1.0),
            step_test_acc_99=self.first_step("test_acc", 0.99),
        )
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "GrokHistory":
        keys = ("steps", "train_loss", "train_acc", "test_loss", "test_acc", "weight_norm")
        h = cls(**{k: list(d[k]) for k in keys})
        h.seconds, h.n_steps_run = float(d.get("seconds", 0.0)), int(d.get("n_steps_run", 0))
        return h


def phases(hist: GrokHistory) -> dict[str, tuple[int, int]] | None:
    """The three phases of a grokking run (Nanda et al. 2023), as step spans (notebook 06).

    - memorisation: from the start until train accuracy first reaches 100%;
    - circuit formation: from then until cleanup starts;
    - cleanup: from the first step after the test-loss peak where test loss is below half its
      peak (the generalising circuit starts to win) until test accuracy first reaches 99%.

    None if the run never memorised or never generalised. Boundaries are logged steps, so they
    are only as fine as ``eval_every``.
    """
    mem, grok = hist.first_step("train_acc", 1.0), hist.first_step("test_acc", 0.99)
    if mem is None or grok is None:
        return None
    peak = max(range(len(hist.steps)), key=lambda i: hist.test_loss[i])
    half = next(
        (s for s, loss in zip(hist.steps[peak:], hist.test_loss[peak:]) if loss < hist.test_loss[peak] / 2), grok
    )
    cleanup = min(max(half, mem), grok)
    return {"memorisation": (0, mem), "circuit formation": (mem, cleanup), "cleanup": (cleanup, grok)}


def _evaluate(model: FastGrokModel, tokens: Tensor, labels: Tensor) -> tuple[float, float]:
    with torch.no_grad():
        logits = model(tokens)
        return float(F.cross_entropy(logits, labels)), float((logits.argmax(-1) == labels).float().mean())


@dataclass
class GrokState:
    """Everything that continues a run exactly where it stopped (``train_grokking(resume=state)``).

    ``next_step`` optimiser updates are done and the history holds every evaluation before step
    ``next_step``; the AdamW moments and the Grokfast EMA make the continuation bit-identical to
    a run that never stopped. ``finished``: the run reached its last step (or its target accuracy).
    """

    next_step: int
    model: FastGrokModel
    optimizer: torch.optim.Optimizer
    ema: list[Tensor] | None
    history: GrokHistory
    finished: bool = False


def _optimizer(cfg: GrokConfig, model: FastGrokModel) -> tuple[torch.optim.AdamW, list[Tensor] | None]:
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, fused=True)
    ema = [torch.zeros_like(p) for p in params] if cfg.grokfast_alpha is not None else None
    return opt, ema


def _diverged(what: str, value: float, step: int, cfg: GrokConfig) -> DivergedError:
    return DivergedError(
        f"training diverged: the {what} became {value} at step {step} (lr {cfg.lr:g}); the run stopped there. "
        f"Fix: a smaller --lr (learning rate), e.g. {min(cfg.lr / 10, 1e-3):g}."
    )


def train_grokking(
    cfg: GrokConfig,
    data: SupervisedSplit | None = None,
    model: FastGrokModel | None = None,
    callback: Callable[[int, GrokHistory, FastGrokModel], None] | None = None,
    progress: bool = False,
    resume: GrokState | None = None,
    on_save: Callable[[GrokState], None] | None = None,
    save_every: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> tuple[FastGrokModel, GrokHistory]:
    """Train the grokking model full-batch with AdamW (and Grokfast if configured).

    The initial weights are those of ``build_model(cfg.model_config())``, so a run is fixed by
    ``cfg.seed`` (which also picks the train/test split). Step ``s`` in the history means
    "after ``s`` optimiser steps". ``callback(step, history, model)`` runs after each eval.

    Long runs (the CLI): ``on_save(state)`` receives a ``GrokState`` every ``save_every`` steps,
    when ``stop()`` turns true (checked before each step: the run then ends there) and at the
    end; ``resume`` continues from such a state. A NaN or infinite loss raises ``DivergedError``.
    """
    from helpers.models import build_model

    data = data if data is not None else modular_arithmetic(cfg.p, cfg.op, cfg.train_frac, cfg.seed)  # type: ignore[arg-type]
    if data.d_vocab != cfg.p + 1 or data.n_ctx != 3:
        raise ConfigError(f"The data is for p={data.d_vocab - 1}, the config for p={cfg.p}. Make them agree.")
    if len(data.train_labels) == 0 or len(data.test_labels) == 0:
        raise ConfigError(
            f"The data has {len(data.train_labels)} training and {len(data.test_labels)} test pairs; both need at least one."
        )
    if resume is not None:
        model, opt, ema, hist, start = resume.model, resume.optimizer, resume.ema, resume.history, resume.next_step
    else:
        if model is None:
            model = FastGrokModel.from_tl(build_model(cfg.model_config()))
        (opt, ema), hist, start = _optimizer(cfg, model), GrokHistory(), 0
    params = [p for p in model.parameters() if p.requires_grad]
    # Once train loss is ~1e-7, float32 cannot resolve 1 - p(correct): the gradient loses its
    # balance and training "slingshots" (loss spikes every ~1,500 steps). The paper computes the
    # loss in float64; so do we (the logits are only [n_train, p], so it costs ~nothing).
    loss_dtype = getattr(torch, cfg.loss_dtype)
    x_tr, y_tr, x_te, y_te = data.train_tokens, data.train_labels, data.test_tokens, data.test_labels

    def state(next_step: int, finished: bool = False) -> GrokState:
        hist.seconds = time.perf_counter() - t0
        return GrokState(next_step, model, opt, ema, hist, finished)  # type: ignore[arg-type]

    bar = Progress(cfg.n_steps, initial=start, enabled=progress)
    stopped: str | None = None  # why the run ended before cfg.n_steps, for the progress bar
    t0 = time.perf_counter() - hist.seconds  # a resumed run keeps counting its time
    for step in range(start, cfg.n_steps + 1):
        if stop is not None and stop():
            if on_save is not None:
                on_save(state(step))
            break
        logits = model(x_tr)
        loss = F.cross_entropy(logits.to(loss_dtype), y_tr)
        loss_value = float(loss.detach())  # one number per step: the NaN guard costs ~nothing
        if not math.isfinite(loss_value):
            raise _diverged("training loss", loss_value, step, cfg)
        if step % cfg.eval_every == 0 or step == cfg.n_steps:
            # Train metrics come free from this step's forward pass (before its update).
            te_loss, te_acc = _evaluate(model, x_te, y_te)
            norm = weight_norm(model)
            for what, value in (("test loss", te_loss), ("weight norm", norm)):
                if not math.isfinite(value):
                    raise _diverged(what, value, step, cfg)
            hist.steps.append(step)
            hist.train_loss.append(loss_value)
            hist.train_acc.append(float((logits.argmax(-1) == y_tr).float().mean()))
            hist.test_loss.append(te_loss)
            hist.test_acc.append(te_acc)
            hist.weight_norm.append(norm)
            if cfg.snapshot_every is not None and step % cfg.snapshot_every == 0:
                hist.snapshots.append((step, model.tl_state_dict()))
            hist.seconds, hist.n_steps_run = time.perf_counter() - t0, step
            if callback is not None:
                callback(step, hist, model)
            bar.set_postfix(train_acc=f"{hist.train_acc[-1]:.3f}", test_acc=f"{te_acc:.3f}")
            if step == cfg.n_steps or (cfg.stop_at_test_acc is not None and te_acc >= cfg.stop_at_test_acc):
                if step < cfg.n_steps:
                    stopped = f"test accuracy {te_acc:.1%} >= {100 * cfg.stop_at_test_acc:g}%"
                if on_save is not None:
                    on_save(state(step + 1, finished=True))
                break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if ema is not None:
            # Grokfast-EMA: amplify the slow (low-frequency) part of the gradient.
            alpha, lam = cfg.grokfast_alpha, cfg.grokfast_lambda
            for p, e in zip(params, ema):
                e.mul_(alpha).add_(p.grad, alpha=1 - alpha)  # type: ignore[operator]
                p.grad.add_(e, alpha=lam)  # type: ignore[union-attr]
        opt.step()
        bar.update(1)
        if on_save is not None and save_every and (step + 1) % save_every == 0:
            on_save(state(step + 1))
    bar.close(stopped)
    hist.seconds = time.perf_counter() - t0
    return model, hist
