"""Frozen, validated configs for models and training (introduced in notebook 00).

A config is a frozen dataclass: it cannot change after it is made, and ``__post_init__``
rejects impossible values with a message that names the field and the fix. Configs turn into
plain dicts (``to_dict``) for checkpoint cards and back (``from_dict``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from helpers.cli import MISSING, option
from helpers.errors import ConfigError

NormType = Literal["LN", "LNPre"]
ActFn = Literal["relu", "gelu", "gelu_new", "silu"]

_C = TypeVar("_C", bound="_Config")


class _Config:
    """Shared ``to_dict`` / ``from_dict`` / ``replace`` for the course's configs."""

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls: type[_C], d: dict[str, Any]) -> _C:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"{cls.__name__} has no field(s) {unknown}. Valid fields: {sorted(names)}.")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**kwargs)

    def replace(self: _C, **changes: Any) -> _C:
        """A copy with some fields changed (and validated again)."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]


def _positive(name: str, value: int | float) -> None:
    # ``not value > 0`` also rejects NaN; infinity is no size, rate or count either.
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be positive (and finite), got {value!r}.")


def _non_negative(name: str, value: int | float, example: str) -> None:
    if not (value >= 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be 0 or more (and finite), got {value!r}. Fix: e.g. {name}={example}.")


@dataclass(frozen=True)
class ModelConfig(_Config):
    """A decoder-only transformer, in TransformerLens's names.

    ``d_mlp=None`` makes an attention-only model. ``n_layers=0`` is the bigram model of
    notebook 01: embedding straight into unembedding.
    """

    d_vocab: int = option(MISSING, "vocabulary size (tokens)", "--vocab-size")
    n_ctx: int = option(MISSING, "context length (tokens per row)")
    d_model: int = option(128, "residual stream width")
    n_layers: int = option(1, "transformer blocks (0: the bigram model)", "--layers")
    n_heads: int = option(4, "attention heads per layer", "--heads")
    d_head: int = option(32, "width of one head (the commands use d_model / n_heads)")
    d_mlp: int | None = option(None, "MLP width; omit for an attention-only model")
    act_fn: ActFn = option("relu", "the MLP's activation")
    normalization_type: NormType | None = option(None, "LayerNorm ('LN'); omit for none", ln="LN")
    seed: int = option(0, "seeds the weights, the data and the training order")

    def __post_init__(self) -> None:
        for name in ("d_vocab", "n_ctx", "d_model", "n_heads", "d_head"):
            _positive(name, getattr(self, name))
        if self.n_layers < 0:
            raise ConfigError(f"n_layers must be 0 or more, got {self.n_layers}.")
        if self.d_model != self.n_heads * self.d_head:
            raise ConfigError(
                f"d_model ({self.d_model}) must equal n_heads * d_head "
                f"({self.n_heads} * {self.d_head} = {self.n_heads * self.d_head}). "
                f"Fix: set d_head={self.d_model // self.n_heads} or d_model={self.n_heads * self.d_head}."
            )
        if self.d_mlp is not None:
            _positive("d_mlp", self.d_mlp)
        if self.act_fn not in ("relu", "gelu", "gelu_new", "silu"):
            raise ConfigError(f"act_fn must be one of relu, gelu, gelu_new, silu; got {self.act_fn!r}.")
        if self.normalization_type not in (None, "LN", "LNPre"):
            raise ConfigError(f"normalization_type must be None, 'LN' or 'LNPre'; got {self.normalization_type!r}.")

    @property
    def attn_only(self) -> bool:
        return self.d_mlp is None


@dataclass(frozen=True)
class TrainConfig(_Config):
    """How to train: AdamW, optional linear warm-up, optional gradient clipping.

    ``batch_size=None`` means full-batch (every row of the data at every step), which is how
    the grokking runs train.
    """

    n_steps: int = option(1000, "optimiser steps", "--steps")
    lr: float = option(1e-3, "AdamW learning rate")
    weight_decay: float = option(0.01, "AdamW weight decay")
    betas: tuple[float, float] = option((0.9, 0.99), "AdamW betas")
    batch_size: int | None = option(32, "rows per step (omit: full batch)")
    warmup_steps: int = option(0, "linear learning-rate warm-up steps", "--warmup")
    grad_clip: float | None = option(1.0, "clip the gradient norm to this")
    eval_every: int = option(100, "evaluate every this many steps")
    snapshot_every: int | None = option(None, "keep a weight snapshot every this many steps")
    seed: int = option(0, "seeds the weights, the data and the training order")

    def __post_init__(self) -> None:
        _positive("n_steps", self.n_steps)
        _positive("lr", self.lr)
        _positive("eval_every", self.eval_every)
        _non_negative("weight_decay", self.weight_decay, "0.01")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"betas must be two numbers in [0, 1), got {self.betas!r}.")
        if self.batch_size is not None:
            _positive("batch_size", self.batch_size)
        if self.warmup_steps < 0 or self.warmup_steps > self.n_steps:
            raise ConfigError(f"warmup_steps must be between 0 and n_steps ({self.n_steps}), got {self.warmup_steps}.")
        if self.grad_clip is not None:
            _positive("grad_clip", self.grad_clip)
        if self.snapshot_every is not None:
            _positive("snapshot_every", self.snapshot_every)
