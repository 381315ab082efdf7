"""The config of one grokking run (``GrokConfig``): the paper's defaults, validated (notebooks 06, 07)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from helpers.cli import option
from helpers.configs import ModelConfig, _Config
from helpers.errors import ConfigError


@dataclass(frozen=True)
class GrokConfig(_Config):
    """One grokking run: task, model size, optimiser and the optional Grokfast filter.

    Defaults are the paper's: p = 113, 30% of pairs for training, full-batch AdamW with
    lr 1e-3, weight decay 1.0, betas (0.9, 0.98). ``grokfast_alpha=None`` turns Grokfast off.
    ``stop_at_test_acc`` ends the run early once test accuracy reaches it (checked every
    ``eval_every`` steps).
    """

    p: int = option(113, "the modulus p, a prime", "--prime")
    op: Literal["add", "sub"] = option("add", "a+b or a-b mod p")
    train_frac: float = option(0.3, "fraction of the p^2 pairs used for training")
    n_steps: int = option(25_000, "full-batch steps (one epoch = one step)", "--epochs", "--steps")
    lr: float = option(1e-3, "AdamW learning rate")
    weight_decay: float = option(1.0, "AdamW weight decay")
    betas: tuple[float, float] = option((0.9, 0.98), "AdamW betas")
    grokfast_alpha: float | None = option(None, "Grokfast-EMA decay, e.g. 0.98 (off if unset)")
    grokfast_lambda: float = option(2.0, "Grokfast amplification")
    d_model: int = option(128, "residual stream width")
    n_heads: int = option(4, "attention heads", "--heads")
    d_mlp: int = option(512, "MLP width")
    eval_every: int = option(100, "log metrics every this many steps")
    snapshot_every: int | None = option(None, "save a snapshot every this many steps", "--checkpoint-every")
    stop_at_test_acc: float | None = option(None, "stop once test accuracy reaches this")
    seed: int = option(0, "seeds the weights and the train/test split")
    loss_dtype: Literal["float64", "float32"] = option(
        "float64",
        "precision of the softmax in the loss (float64, as in the paper: float32 makes training "
        "'slingshot' once the train loss is ~1e-7)",
    )

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
            raise ConfigError(
                f"weight_decay must be 0 or more (and finite), got {self.weight_decay}. Fix: e.g. 1.0 (the paper's)."
            )
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
