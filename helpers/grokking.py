"""Grokking modular arithmetic on a CPU: a fast exact trainer and its CLI (notebooks 06 and 07).

The model of Nanda et al. (2023), "Progress measures for grokking via mechanistic
interpretability": one layer, d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm, on
inputs ``[a, b, =]``. The notebooks analyse it as a TransformerLens model
(``helpers.models.build_model``). Training that model directly is slow on a CPU, so
``FastGrokModel`` computes *the same function* more cheaply:

- the loss reads only the last position, so the MLP and the unembedding run only there
  (the other two positions are needed only as attention keys and values);
- every input is 3 (position, token) pairs, and a batch holds only a few hundred distinct
  pairs: keys, values and queries are computed once per distinct pair and looked up;
- everything linear is regrouped around the attention pattern: what a (pair, head) writes to
  the residual stream is multiplied by ``W_in`` and ``W_U`` once per pair (a small table), and
  each example only takes a pattern-weighted sum of 12 table rows (``F.embedding_bag``). The
  MLP's output goes to the logits through the [d_vocab, d_mlp] product ``W_U @ W_out``. So the
  big per-example products ``@ W_O``, ``@ W_in``, ``@ W_U`` disappear; one remains;
- the loss's softmax in float64, as in the paper (float32 "slingshots" once the train loss is
  ~1e-7); fused AdamW; full batch.

``FastGrokModel.from_tl`` / ``to_tl`` move the weights to and from the TransformerLens model
(``tests/test_grokking.py`` proves the logits and every weight's gradient agree). ``train_grokking`` adds an optional
Grokfast-EMA gradient filter (Lee et al. 2024): ``g <- g + lambda * EMA_alpha(g)``.

CLI: ``python -m helpers.train grokking --prime 113 --train-frac 0.3 --epochs 25000 --out DIR``.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from helpers.configs import ModelConfig, _Config
from helpers.errors import (
    ArgumentParser, CheckpointError, ConfigError, DivergedError, MissingDataError, OutputExistsError, ShapeError,
    run_cli, with_flags,
)  # fmt: skip
from helpers.tasks import SupervisedSplit, modular_arithmetic


@dataclass(frozen=True)
class GrokConfig(_Config):
    """One grokking run: task, model size, optimiser and the optional Grokfast filter.

    Defaults are the paper's: p = 113, 30% of pairs for training, full-batch AdamW with
    lr 1e-3, weight decay 1.0, betas (0.9, 0.98). ``grokfast_alpha=None`` turns Grokfast off.
    ``stop_at_test_acc`` ends the run early once test accuracy reaches it (checked every
    ``eval_every`` steps).
    """

    p: int = 113
    op: str = "add"
    train_frac: float = 0.3
    n_steps: int = 25_000
    lr: float = 1e-3
    weight_decay: float = 1.0
    betas: tuple[float, float] = (0.9, 0.98)
    grokfast_alpha: float | None = None
    grokfast_lambda: float = 2.0
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    eval_every: int = 100
    snapshot_every: int | None = None
    stop_at_test_acc: float | None = None
    seed: int = 0
    loss_dtype: str = "float64"

    def __post_init__(self) -> None:
        if not isinstance(self.p, int) or isinstance(self.p, bool) or self.p < 3:
            raise ConfigError(f"p (the modulus) must be an integer >= 3, got {self.p!r}. Fix: e.g. --prime 113.")
        if not _is_prime(self.p):
            # Z_p is a field only for a prime p: the Fourier algorithm the course finds (notebook 06)
            # and its key frequencies assume it, and a composite modulus has a different algorithm.
            raise ConfigError(
                f"p (the modulus) must be prime, got {self.p} = {_smallest_factor(self.p)} x {self.p // _smallest_factor(self.p)}. "
                "Fix: a prime such as 113 (the paper's), 59, 13 or 7."
            )
        if self.op not in ("add", "sub"):
            raise ConfigError(f"op must be 'add' or 'sub', got {self.op!r}.")
        if not 0 < self.train_frac < 1:
            raise ConfigError(f"train_frac must be in (0, 1), got {self.train_frac}. Fix: e.g. --train-frac 0.3.")
        n_train = int(round(self.train_frac * self.p * self.p))  # as helpers.tasks.modular_arithmetic splits
        if not 1 <= n_train < self.p * self.p:
            raise ConfigError(
                f"train_frac {self.train_frac} of the {self.p * self.p} pairs of p={self.p} leaves {n_train} training and "
                f"{self.p * self.p - n_train} test pairs; both need at least one. "
                f"Fix: a train_frac between {1 / self.p**2:.3g} and {1 - 1 / self.p**2:.3g} (e.g. 0.3), or a larger p."
            )
        for name in ("n_steps", "lr", "d_model", "n_heads", "d_mlp", "eval_every"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be positive (and finite), got {value!r}.")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}).")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ConfigError(f"weight_decay must be 0 or more (and finite), got {self.weight_decay}. Fix: e.g. 1.0 (the paper's).")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas!r}.")
        if self.grokfast_alpha is not None and not 0 <= self.grokfast_alpha < 1:
            raise ConfigError(
                f"grokfast_alpha must be in [0, 1) (e.g. 0.98), or None to turn Grokfast off; got {self.grokfast_alpha}."
            )
        if not (self.grokfast_lambda >= 0 and math.isfinite(self.grokfast_lambda)):
            raise ConfigError(f"grokfast_lambda must be 0 or more and finite (e.g. 2.0), got {self.grokfast_lambda}.")
        if self.snapshot_every is not None and self.snapshot_every <= 0:
            raise ConfigError(f"snapshot_every must be positive or None, got {self.snapshot_every}.")
        if self.snapshot_every is not None and self.snapshot_every % self.eval_every:
            raise ConfigError(
                f"snapshot_every ({self.snapshot_every}) must be a multiple of eval_every ({self.eval_every}): "
                "snapshots are taken at evaluation steps."
            )
        if self.loss_dtype not in ("float32", "float64"):
            raise ConfigError(f"loss_dtype must be 'float32' or 'float64', got {self.loss_dtype!r}.")
        if self.stop_at_test_acc is not None and not 0 < self.stop_at_test_acc <= 1:
            raise ConfigError(f"stop_at_test_acc must be in (0, 1], got {self.stop_at_test_acc}.")

    def model_config(self) -> ModelConfig:
        """The TransformerLens model this run trains (vocabulary: 0..p-1 and '=' = p)."""
        return ModelConfig(
            d_vocab=self.p + 1,
            n_ctx=3,
            d_model=self.d_model,
            n_heads=self.n_heads,
            d_head=self.d_model // self.n_heads,
            d_mlp=self.d_mlp,
            act_fn="relu",
            normalization_type=None,
            seed=self.seed,
        )


def _smallest_factor(n: int) -> int:
    return next((k for k in range(2, math.isqrt(n) + 1) if n % k == 0), n)


def _is_prime(n: int) -> bool:
    return n >= 2 and _smallest_factor(n) == n


# TransformerLens state-dict names of the 1-layer model, and the FastGrokModel attribute for each.
TL_NAMES = {
    "embed.weight": "W_E",
    "pos_embed.weight": "W_pos",
    "blocks.0.attn.q.weight": "W_Q",
    "blocks.0.attn.q.bias": "b_Q",
    "blocks.0.attn.k.weight": "W_K",
    "blocks.0.attn.k.bias": "b_K",
    "blocks.0.attn.v.weight": "W_V",
    "blocks.0.attn.v.bias": "b_V",
    "blocks.0.attn.o.weight": "W_O",
    "blocks.0.attn.o.bias": "b_O",
    "blocks.0.mlp.in.weight": "W_in",
    "blocks.0.mlp.in.bias": "b_in",
    "blocks.0.mlp.out.weight": "W_out",
    "blocks.0.mlp.out.bias": "b_out",
    "unembed.weight": "W_U",
    "unembed.bias": "b_U",
}


class FastGrokModel(torch.nn.Module):
    """The 1-layer grokking transformer, computed only at the last position.

    Weights are stored in ``torch.nn.Linear`` layout (``[out, in]``), as in the TransformerLens
    state dict. ``b_U`` is a buffer: TransformerLens does not train the unembedding bias either.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.n_layers != 1 or cfg.d_mlp is None or cfg.normalization_type is not None or cfg.act_fn != "relu":
            raise ConfigError(
                "FastGrokModel is the grokking model only: n_layers=1, an MLP, act_fn='relu', no LayerNorm. "
                "Fix: build the config with GrokConfig(...).model_config()."
            )
        self.cfg = cfg
        d, v, m = cfg.d_model, cfg.d_vocab, cfg.d_mlp
        shapes = {
            "W_E": (v, d), "W_pos": (cfg.n_ctx, d),
            "W_Q": (d, d), "b_Q": (d,), "W_K": (d, d), "b_K": (d,), "W_V": (d, d), "b_V": (d,),
            "W_O": (d, d), "b_O": (d,), "W_in": (m, d), "b_in": (m,), "W_out": (d, m), "b_out": (d,),
            "W_U": (v, d),
        }  # fmt: skip
        for name, shape in shapes.items():
            setattr(self, name, torch.nn.Parameter(torch.zeros(shape)))
        self.register_buffer("b_U", torch.zeros(v))

    @classmethod
    def from_tl(cls, model: torch.nn.Module) -> "FastGrokModel":
        """A fast copy of a TransformerLens grokking model (same weights)."""
        from helpers.models import config_of

        fast = cls(config_of(model))
        fast.load_tl_state_dict(model.state_dict())
        return fast

    def load_tl_state_dict(self, sd: dict[str, Tensor]) -> None:
        missing = sorted(set(TL_NAMES) - set(sd))
        if missing:
            raise ShapeError(f"The state dict lacks {missing}; is it from a 1-layer grokking model?")
        with torch.no_grad():
            for tl_name, name in TL_NAMES.items():
                getattr(self, name).copy_(sd[tl_name].float())

    def tl_state_dict(self) -> dict[str, Tensor]:
        """The weights under TransformerLens's names (load with ``model.load_state_dict``)."""
        return {tl_name: getattr(self, name).detach().clone() for tl_name, name in TL_NAMES.items()}

    def to_tl(self) -> torch.nn.Module:
        """A TransformerLens model with these weights (for analysis with hooks and caches)."""
        from helpers.models import build_model

        model = build_model(self.cfg)
        model.load_state_dict(self.tl_state_dict())
        return model

    def _pairs(self, tokens: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Distinct (position, token) pairs, each example's pair ids, and its 13 table rows.

        Full-batch training passes the same tokens every step, so the result is kept for the
        last tokens tensor seen (a weak reference plus its version counter: a new or modified
        tensor is recomputed)."""
        cached = getattr(self, "_pairs_cache", None)
        if cached is not None and cached[0]() is tokens and cached[1] == tokens._version:
            return cached[2]
        cfg, H = self.cfg, self.cfg.n_heads
        uniq, inv = torch.unique(tokens + torch.arange(cfg.n_ctx) * cfg.d_vocab, return_inverse=True)
        # Rows of the table in step 3: (pair, head) for each key position, then the query's base row.
        rows = torch.cat([(inv.unsqueeze(-1) * H + torch.arange(H)).flatten(1), len(uniq) * H + inv[:, -1:]], 1)
        self._pairs_cache = (weakref.ref(tokens), tokens._version, (uniq, inv, rows))
        return uniq, inv, rows

    def forward(self, tokens: Int[Tensor, "batch 3"]) -> Float[Tensor, "batch d_vocab"]:
        """Logits at the last position (what the TL model gives at ``[:, -1]``).

        The same function as the TL model, regrouped so that the big matrix products act on
        small per-(position, token) tables instead of on every example (see the module doc).
        """
        cfg = self.cfg
        if tokens.dim() != 2 or tokens.shape[1] != cfg.n_ctx:
            raise ShapeError(f"tokens must have shape [batch, {cfg.n_ctx}], got {tuple(tokens.shape)}.")
        n_ctx, H, dh, v, m = cfg.n_ctx, cfg.n_heads, cfg.d_head, cfg.d_vocab, cfg.d_mlp
        # Each example is 3 (position, token) pairs, and only a few hundred distinct pairs occur
        # in a batch: compute everything per distinct pair, then look it up per example
        # (F.embedding's backward is much faster on a CPU than advanced indexing's).
        uniq, inv, rows = self._pairs(tokens)
        x = F.embedding(uniq % v, self.W_E) + F.embedding(uniq // v, self.W_pos)  # [pair, d_model]
        last = inv[:, -1]  # the query position's pair, per example

        # 1. Attention pattern of the last position (it attends to all positions: the causal mask
        #    hides nothing from it). Scores for every (query pair, key pair, head) form a small
        #    table; each example looks up its 3 scores.
        n_pair = uniq.shape[0]
        q = F.linear(x, self.W_Q, self.b_Q).view(n_pair, H, dh)
        k = F.linear(x, self.W_K, self.b_K).view(n_pair, H, dh)
        score_tab = torch.einsum("qha,kha->qkh", q, k) / math.sqrt(dh)  # [pair, pair, head]
        scores = F.embedding(last.unsqueeze(1) * n_pair + inv, score_tab.reshape(n_pair * n_pair, H))
        pattern = scores.softmax(dim=1)  # [batch, key_pos, head]

        # 2. What each (pair, head) writes, already multiplied by everything linear that reads the
        #    residual stream: W_in (the MLP's input) and W_U (the direct path to the logits).
        W_read = torch.cat([self.W_in, self.W_U])  # [d_mlp + d_vocab, d_model]
        v_pair = F.linear(x, self.W_V, self.b_V).view(-1, H, dh)
        ov = torch.einsum("tha,dha->thd", v_pair, self.W_O.view(-1, H, dh))  # [pair, head, d_model]
        read_tab = F.linear(ov, W_read)  # [pair, head, d_mlp + d_vocab]
        # The query position's own residual (embedding + b_O), read the same way, plus the biases.
        base = F.linear(x + self.b_O, W_read, torch.cat([self.b_in, self.b_U]))  # [pair, d_mlp + d_vocab]

        # 3. Per example: its base row plus the pattern-weighted sum of 12 table rows (3 key
        #    positions x 4 heads). embedding_bag with per-example weights does this gather-and-sum
        #    without materialising the rows; the base row rides along with weight 1.
        weights = torch.cat([pattern.flatten(1), torch.ones_like(pattern[:, :1, 0])], 1)
        table = torch.cat([read_tab.view(-1, m + v), base])  # [pair*head + pair, d_mlp + d_vocab]
        read = F.embedding_bag(rows, table, per_sample_weights=weights, mode="sum")
        pre, direct = read[:, :m], read[:, m:]  # MLP pre-activation; residual stream @ W_U^T (+ b_U)

        # 4. MLP output straight to the logits: W_U @ W_out is only [d_vocab, d_mlp].
        return direct + F.linear(F.relu(pre), self.W_U @ self.W_out, self.W_U @ self.b_out)


def weight_norm(model: torch.nn.Module) -> float:
    """The total L2 norm of all trainable weights (weight decay shrinks it during cleanup)."""
    return float(torch.sqrt(sum((p.detach().float() ** 2).sum() for p in model.parameters())))


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
    half = next((s for s, loss in zip(hist.steps[peak:], hist.test_loss[peak:]) if loss < hist.test_loss[peak] / 2), grok)
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
        raise ConfigError(f"The data has {len(data.train_labels)} training and {len(data.test_labels)} test pairs; both need at least one.")
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

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=cfg.n_steps, initial=start, desc="training", mininterval=1.0)
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
            if bar is not None:
                bar.set_postfix(train_acc=f"{hist.train_acc[-1]:.3f}", test_acc=f"{te_acc:.3f}", refresh=False)
            if step == cfg.n_steps or (cfg.stop_at_test_acc is not None and te_acc >= cfg.stop_at_test_acc):
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
        if bar is not None:
            bar.update(1)
        if on_save is not None and save_every and (step + 1) % save_every == 0:
            on_save(state(step + 1))
    if bar is not None:
        bar.close()
    hist.seconds = time.perf_counter() - t0
    return model, hist


# ----------------------------------------------------------------------------------------------
# A run on disk: OUT/metrics.json (the record), OUT/step_NNNNNN.{safetensors,json} (snapshots),
# OUT/resume.safetensors (weights, AdamW moments and Grokfast EMA in fp32, for --resume).

RESUME_FILE = "resume.safetensors"
RESUME_FORMAT = "mechinterp-course-grok-resume/1"


def _state_tensors(state: GrokState) -> dict[str, Tensor]:
    """A state as flat fp32 tensors for safetensors (never pickle): model, AdamW per parameter, EMA."""
    out = {f"model.{k}": v.detach().clone() for k, v in state.model.state_dict().items()}
    params = [p for p in state.model.parameters() if p.requires_grad]
    for i, p in enumerate(params):
        for k, v in state.optimizer.state.get(p, {}).items():
            out[f"adamw.{i}.{k}"] = (v if torch.is_tensor(v) else torch.tensor(float(v))).detach().clone()
    for i, e in enumerate(state.ema or []):
        out[f"ema.{i}"] = e.detach().clone()
    return out


def save_state(out: Path, state: GrokState, cfg: GrokConfig) -> None:
    """Write ``out/resume.safetensors`` atomically: everything ``load_state`` needs to continue exactly."""
    from safetensors.torch import save_file

    from helpers.checkpoints import write_atomic

    meta = {
        "format": RESUME_FORMAT, "config": json.dumps(cfg.to_dict()), "next_step": str(state.next_step),
        "finished": str(state.finished), "history": json.dumps(state.history.to_dict(), allow_nan=False),
    }  # fmt: skip
    tensors = _state_tensors(state)
    write_atomic(out / RESUME_FILE, lambda p: save_file(tensors, str(p), metadata=meta))


def load_state(out: Path, cfg: GrokConfig) -> GrokState:
    """The state saved by ``save_state`` for this config, ready for ``train_grokking(resume=...)``."""
    from safetensors import safe_open

    path = out / RESUME_FILE
    if not path.exists():
        raise MissingDataError(
            f"--resume: {out} has no {RESUME_FILE} (the run stopped before its first save). "
            "Fix: start it again with --force instead of --resume."
        )
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:  # SafetensorError: truncated or not safetensors
        raise CheckpointError(f"{path} cannot be read ({e}): it is truncated or corrupted. Fix: start the run again with --force.") from e
    if meta.get("format") != RESUME_FORMAT or json.loads(meta.get("config", "null")) != cfg.to_dict():
        raise CheckpointError(f"{path} is not the resume state of this run's config. Fix: start the run again with --force.")
    model = FastGrokModel(cfg.model_config())
    model.load_state_dict({k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")})
    opt, ema = _optimizer(cfg, model)
    params = [p for p in model.parameters() if p.requires_grad]
    for i, p in enumerate(params):
        st = {k.split(".", 2)[2]: v for k, v in tensors.items() if k.startswith(f"adamw.{i}.")}
        if st:
            opt.state[p].update(st)
    for i, e in enumerate(ema or []):
        e.copy_(tensors[f"ema.{i}"])
    hist = GrokHistory.from_dict(json.loads(meta["history"]))
    return GrokState(int(meta["next_step"]), model, opt, ema, hist, meta.get("finished") == "True")


def _write_record(out: Path, cfg: GrokConfig, hist: GrokHistory, command: str, fp16: bool, status: str, next_step: int) -> None:
    """``out/metrics.json`` (strict JSON, written atomically): config, command, status, curves."""
    from helpers.checkpoints import write_atomic

    snapshot_steps = [s for s in hist.steps if cfg.snapshot_every is not None and s % cfg.snapshot_every == 0 and s < next_step]
    record = {"config": cfg.to_dict(), "command": command, "snapshot_steps": snapshot_steps}
    record["metrics"] = hist.to_dict()
    record.update(status=status, next_step=next_step, fp16=fp16)
    text = json.dumps(record, allow_nan=False) + "\n"
    write_atomic(out / "metrics.json", lambda p: p.write_text(text))


def _save_snapshot(out: Path, cfg: GrokConfig, step: int, sd: dict[str, Tensor], fp16: bool, command: str) -> None:
    from helpers.checkpoints import save_checkpoint
    from helpers.models import build_model

    sd = {k: (v.half() if fp16 else v) for k, v in sd.items()}
    save_checkpoint(
        build_model(cfg.model_config()), out / f"step_{step:06d}", state_dict=sd,
        metrics={"step": step, "grok_config": cfg.to_dict()},
        notes=f"Snapshot at step {step}. Reproduce: {command}",
    )  # fmt: skip


def save_run(out: Path, cfg: GrokConfig, hist: GrokHistory, fp16: bool = False, command: str = "") -> None:
    """Write ``out/metrics.json`` (config + curves) and one safetensors checkpoint per snapshot."""
    out.mkdir(parents=True, exist_ok=True)
    for step, sd in hist.snapshots:
        _save_snapshot(out, cfg, step, sd, fp16, command)
    _write_record(out, cfg, hist, command, fp16, "finished", hist.n_steps_run + 1)


def _read_record(out: Path) -> dict[str, Any]:
    path = Path(out) / "metrics.json"
    if not path.exists():
        raise MissingDataError(f"No grokking run at {path}. Make it with: python -m helpers.train grokking --out {out}")
    try:
        record = json.loads(path.read_text())
        GrokConfig.from_dict(record["config"])
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ConfigError) as e:
        raise CheckpointError(
            f"{path} is not a grokking run record ({type(e).__name__}: {e}): it is truncated or corrupted. "
            f"Re-create the run with: python -m helpers.train grokking ... --out {out} --force"
        ) from e
    return record


def load_run(out: str | Path) -> tuple[GrokConfig, GrokHistory, list[int]]:
    """Read a run written by the CLI: its config, history (no snapshots) and snapshot steps."""
    record = _read_record(Path(out))
    return GrokConfig.from_dict(record["config"]), GrokHistory.from_dict(record["metrics"]), record["snapshot_steps"]


def load_snapshot(out: str | Path, step: int) -> torch.nn.Module:
    """The TransformerLens model of a CLI run's snapshot at ``step`` (fp32).

    The snapshot must belong to the run in ``out/metrics.json`` (same config, a listed step), so
    a folder holding pieces of two runs fails here instead of mixing them.
    """
    from helpers.checkpoints import load_checkpoint

    path = Path(out) / f"step_{step:06d}"
    model, card = load_checkpoint(path)
    if (Path(out) / "metrics.json").exists():
        record = _read_record(Path(out))
        if card.get("metrics", {}).get("grok_config") != record["config"] or step not in record["snapshot_steps"]:
            raise CheckpointError(
                f"The snapshot {path}.safetensors is not from the run in {Path(out) / 'metrics.json'} (another config, or a "
                f"step it does not list). Re-create the run with: {record.get('command') or 'python -m helpers.train grokking'} --force"
            )
    return model.float()


# ----------------------------------------------------------------------------------------------
# Command line: python -m helpers.train grokking ...

# Config fields as the command spells them, so that an error names the flag a user typed.
GROK_FLAGS = {
    "p": "--prime", "train_frac": "--train-frac", "n_steps": "--epochs", "lr": "--lr", "weight_decay": "--weight-decay",
    "grokfast_alpha": "--grokfast-alpha", "grokfast_lambda": "--grokfast-lambda", "eval_every": "--eval-every",
    "snapshot_every": "--checkpoint-every", "stop_at_test_acc": "--stop-at-test-acc", "loss_dtype": "--loss-dtype",
}  # fmt: skip


def _flag(name: str) -> list[str]:
    """A flag and its underscore spelling (``--train-frac``, ``--train_frac``: the paper's code uses the latter)."""
    return [name, "--" + name[2:].replace("-", "_")] if "-" in name[2:] else [name]


def _parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(
        prog="python -m helpers.train grokking",
        description="Train the 1-layer modular-arithmetic transformer (Nanda et al. 2023) with the fast trainer.",
    )
    ap.add_argument("--prime", type=int, default=113, help="the modulus p, a prime (default 113)")
    ap.add_argument("--op", choices=["add", "sub"], default="add", help="a+b or a-b mod p")
    ap.add_argument(*_flag("--train-frac"), type=float, default=0.3, help="fraction of the p^2 pairs used for training")
    ap.add_argument("--epochs", type=int, default=25_000, help="full-batch steps (one epoch = one step)")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument(*_flag("--weight-decay"), type=float, default=1.0)
    ap.add_argument("--beta2", type=float, default=0.98)
    ap.add_argument(*_flag("--grokfast-alpha"), type=float, default=None, help="Grokfast-EMA decay, e.g. 0.98 (off if unset)")
    ap.add_argument(*_flag("--grokfast-lambda"), type=float, default=2.0, help="Grokfast amplification (default 2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        *_flag("--loss-dtype"), choices=["float64", "float32"], default="float64",
        help="precision of the softmax in the loss (default float64, as in the paper: float32 makes training "
        "'slingshot' once the train loss is ~1e-7)",
    )  # fmt: skip
    ap.add_argument(*_flag("--eval-every"), type=int, default=100, help="log metrics every this many steps")
    ap.add_argument(*_flag("--checkpoint-every"), type=int, default=None, help="save a snapshot every this many steps")
    ap.add_argument(*_flag("--stop-at-test-acc"), type=float, default=None, help="stop once test accuracy reaches this")
    ap.add_argument("--fp16", action="store_true", help="store snapshots in float16 (half the size)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    ap.add_argument("--out", type=Path, required=True, help="output folder for snapshots and metrics.json")
    ap.add_argument("--force", action="store_true", help="replace a run already in --out")
    ap.add_argument("--resume", action="store_true", help="continue the run in --out from its last save (same flags as it was made with)")
    ap.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return ap


class _StopOnCtrlC:
    """The first Ctrl-C asks the trainer to stop before its next step, where it saves; a second stops at once."""

    def __enter__(self) -> "_StopOnCtrlC":
        self.requested = False
        try:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: Ctrl-C keeps its default meaning
            self.previous = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nCtrl-C: saving the run at the next step (press Ctrl-C again to stop at once) ...", file=sys.stderr, flush=True)

    def __call__(self) -> bool:
        return self.requested

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


RUN_FILES = ("metrics.json", RESUME_FILE, "step_*.safetensors", "step_*.json")


def _prepare_out(out: Path, force: bool, resume: bool) -> None:
    """Check ``--out`` before training: writable, and holding no run unless --force or --resume say what to do."""
    from helpers.paths import writable_dir

    writable_dir(out, "--out")
    existing = [p for pattern in RUN_FILES for p in sorted(out.glob(pattern))]
    if resume:
        if not (out / "metrics.json").exists():
            raise MissingDataError(f"--resume: there is no run in {out} to continue (no metrics.json). Fix: drop --resume.")
        return
    if existing and not force:
        raise OutputExistsError(
            f"--out {out} already holds a run ({existing[0].name}); it is never overwritten silently. "
            "Fix: add --resume to continue it, --force to replace it, or choose another --out."
        )
    for p in existing:  # --force: an old run's files must not pass for this run's
        p.unlink()


def _config_from_args(args: argparse.Namespace) -> GrokConfig:
    for flag, value in (("--threads", args.threads), ("--checkpoint-every", args.checkpoint_every)):
        if value is not None and value < 1:
            raise ConfigError(f"{flag} must be 1 or more, got {value}. Fix: e.g. {flag} 1, or leave it out.")
    if not 0 <= args.beta2 < 1:
        raise ConfigError(f"--beta2 must be in [0, 1), got {args.beta2}. Fix: e.g. --beta2 0.98 (the paper's).")
    try:
        return GrokConfig(
            p=args.prime, op=args.op, train_frac=args.train_frac, n_steps=args.epochs, lr=args.lr,
            weight_decay=args.weight_decay, betas=(0.9, args.beta2), grokfast_alpha=args.grokfast_alpha,
            grokfast_lambda=args.grokfast_lambda, eval_every=args.eval_every,
            snapshot_every=args.checkpoint_every, stop_at_test_acc=args.stop_at_test_acc, seed=args.seed,
            loss_dtype=args.loss_dtype,
        )  # fmt: skip
    except ConfigError as e:
        raise ConfigError(with_flags(str(e), GROK_FLAGS)) from e


def _resume_state(out: Path, cfg: GrokConfig, fp16: bool) -> GrokState:
    record = _read_record(out)
    if record["config"] != cfg.to_dict() or bool(record.get("fp16", fp16)) != fp16:
        differ = sorted(k for k, v in cfg.to_dict().items() if record["config"].get(k) != v)
        raise ConfigError(
            f"--resume: the run in {out} was made with other settings ({', '.join(GROK_FLAGS.get(k, k) for k in differ) or '--fp16'}). "
            f"Fix: repeat its command with --resume: {record.get('command', '')} --resume"
        )
    if record.get("status", "finished") == "finished":
        raise ConfigError(f"--resume: the run in {out} is finished ({record['metrics']['n_steps_run']} steps); nothing to continue.")
    state = load_state(out, cfg)
    if state.finished:
        raise ConfigError(f"--resume: the run in {out} is finished; nothing to continue.")
    return state


def cli_main(argv: list[str] | None = None) -> int:
    """``python -m helpers.train grokking``: train, saving as it goes; one line per user error."""
    return run_cli(_cli, argv)


def _cli(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    cfg = _config_from_args(args)
    out: Path = args.out
    if args.force and args.resume:
        raise ConfigError("--force and --resume contradict each other. Fix: --resume to continue the run in --out, --force to replace it.")
    _prepare_out(out, args.force, args.resume)
    resume = _resume_state(out, cfg, args.fp16) if args.resume else None
    argv_cmd = [a for a in argv if a not in ("--resume", "--force", "--debug")]
    command = "python -m helpers.train grokking " + " ".join(argv_cmd)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    def report(step: int, hist: GrokHistory, model: FastGrokModel) -> None:
        if hist.snapshots and hist.snapshots[-1][0] == step:  # written as the run goes, not at its end
            _save_snapshot(out, cfg, step, hist.snapshots.pop()[1], args.fp16, command)
        if step % (10 * cfg.eval_every) == 0:
            print(
                f"step {step:6d}  train loss {hist.train_loss[-1]:.3e} acc {hist.train_acc[-1]:.3f}  "
                f"test loss {hist.test_loss[-1]:.3e} acc {hist.test_acc[-1]:.3f}  "
                f"{hist.ms_per_step:.1f} ms/step",
                flush=True,
            )

    # What is on disk: a record always matches the last resume state (its history is a copy, as
    # the trainer keeps appending to its own).
    saved: dict[str, Any] = {"step": 0, "status": "running", "hist": GrokHistory()}

    def on_save(state: GrokState) -> None:
        save_state(out, state, cfg)
        status = "finished" if state.finished else "running"
        saved.update(step=state.next_step, status=status, hist=GrokHistory.from_dict(state.history.to_dict()))
        _write_record(out, cfg, saved["hist"], command, args.fp16, status, state.next_step)

    if resume is None:
        _write_record(out, cfg, saved["hist"], command, args.fp16, "running", 0)  # --out now holds a run
    else:
        saved.update(step=resume.next_step, hist=GrokHistory.from_dict(resume.history.to_dict()))
        print(f"resuming {out} at step {resume.next_step}", flush=True)
    try:
        with _StopOnCtrlC() as stop:
            _, hist = train_grokking(cfg, callback=report, resume=resume, on_save=on_save, save_every=10 * cfg.eval_every, stop=stop)
    except DivergedError:
        _write_record(out, cfg, saved["hist"], command, args.fp16, "diverged", saved["step"])
        raise
    except KeyboardInterrupt:
        _write_record(out, cfg, saved["hist"], command, args.fp16, "interrupted", saved["step"])
        print(f"interrupted: {out} holds the run up to step {saved['step']}; continue it with: {command} --resume", file=sys.stderr)
        return 130
    if saved["status"] != "finished":
        _write_record(out, cfg, saved["hist"], command, args.fp16, "interrupted", saved["step"])
        print(f"stopped: {out} holds the run up to step {saved['step']}; continue it with: {command} --resume", file=sys.stderr)
        return 130
    d = hist.to_dict()
    n_snapshots = len(json.loads((out / "metrics.json").read_text())["snapshot_steps"])
    print(
        f"done: {hist.n_steps_run} steps in {hist.seconds:.1f} s ({hist.ms_per_step:.1f} ms/step); "
        f"train acc 100% at step {d['step_train_acc_100']}, test acc 99% at step {d['step_test_acc_99']}; "
        f"wrote {out}/metrics.json and {n_snapshots} snapshot(s)."
    )
    return 0


def all_pairs(p: int) -> Int[Tensor, "p*p 3"]:
    """Every input ``[a, b, =]`` in grid order (row ``a * p + b``)."""
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    return torch.stack([a, b, torch.full_like(a, p)], dim=1)


def grid_logits(model: torch.nn.Module, p: int) -> Float[Tensor, "p p d_vocab"]:
    """The last-position logits for every ``(a, b)``, as a grid ``[a, b, c]``.

    Works for a ``FastGrokModel`` or a TransformerLens model.
    """
    with torch.no_grad():
        out = model(all_pairs(p))
        if out.dim() == 3:  # a TransformerLens model returns every position
            out = out[:, -1]
    return out.reshape(p, p, -1)


@dataclass(frozen=True)
class TrendEvidence:
    """How a grid of steps-to-grok changes along one axis (``trend_evidence``)."""

    n_sooner: int  # neighbouring pairs where the larger setting grokked sooner
    n_later: int  # ... where it grokked later (or did not grok while the smaller one did)
    n_tied: int  # ... where both grokked at the same step
    n_uninformative: int  # ... where neither run grokked: a tie between two failures is no evidence

    @property
    def n_informative(self) -> int:
        return self.n_sooner + self.n_later + self.n_tied


def trend_evidence(steps: Any, axis: int) -> TrendEvidence:
    """Compare neighbouring cells of ``steps`` (steps to grok, ``inf`` for a run that missed the cap)
    along ``axis``, the axis of a setting listed in increasing order (notebook 07).

    A claim "more X makes grokking sooner" should rest on the pairs where at least one run grokked:
    two runs that both missed the cap tie at ``inf``, and counting that tie as "not later" would
    let a grid where nothing groks pass.
    """
    import numpy as np

    t = np.moveaxis(np.asarray(steps, dtype=float), axis, -1)
    a, b = t[..., :-1].ravel(), t[..., 1:].ravel()  # smaller setting, next larger setting
    both_failed = np.isinf(a) & np.isinf(b)
    return TrendEvidence(
        n_sooner=int((b < a).sum()),
        n_later=int((b > a).sum()),
        n_tied=int(((a == b) & ~both_failed).sum()),
        n_uninformative=int(both_failed.sum()),
    )

