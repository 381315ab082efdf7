"""Linear probes on the residual stream, their controls, and steering along a probe (notebook 12).

A probe is multinomial logistic regression from one layer's activations to a label. High test
accuracy says the label is *linearly decodable* there, not that the model uses it: a probe with
enough capacity can also learn labels the model never computed. Hence the controls.

- ``ProbeConfig``: how to fit (full-batch L-BFGS, L2 weight decay, the train/test split).
- ``fit_probe``: a ``Probe`` with train and test accuracy, ``predict`` and ``direction``.
- ``probe_split``: which rows ``fit_probe`` trains on and which it holds out.
- ``control_labels``: Hewitt & Liang's (2019) control task, each word type a fixed random label;
  ``shuffled_labels``: the labels in a random order (a second control, blind to word types).
- ``selectivity``: task accuracy minus control accuracy.
- ``probe_layers``: a task probe and a control probe per layer, one row each.
- ``steer``: run the model with ``alpha * direction`` added to the residual stream (a causal test);
  one direction for every row, or one per row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import no_type_check

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens.model_bridge import TransformerBridge

from helpers.errors import ConfigError, ShapeError


@dataclass(frozen=True)
class ProbeConfig:
    """Full-batch L-BFGS from zero weights: the loss is convex, so the fit is deterministic."""

    n_steps: int = 300  # L-BFGS iterations at most
    weight_decay: float = 1e-3  # L2 penalty on the weights (not the bias), in standardised units
    test_frac: float = 0.25  # held-out share of the rows, for test accuracy
    seed: int = 0  # seeds the train/test split

    def __post_init__(self) -> None:
        if not (isinstance(self.n_steps, int) and self.n_steps > 0):
            raise ConfigError(f"n_steps must be a positive integer, got {self.n_steps!r}. Fix: e.g. n_steps=300.")
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise ConfigError(f"weight_decay must be 0 or more (finite), got {self.weight_decay!r}. Fix: e.g. 1e-3.")
        if not 0 < self.test_frac < 1:
            raise ConfigError(f"test_frac must be in (0, 1), got {self.test_frac!r}. Fix: e.g. test_frac=0.25.")
        if not isinstance(self.seed, int):
            raise ConfigError(f"seed must be an integer, got {self.seed!r}. Fix: e.g. seed=0.")


@dataclass(frozen=True)
class Probe:
    """A fitted probe: logits = ``weight @ ((x - mean) / std) + bias`` for raw activations ``x``."""

    weight: Float[Tensor, "n_classes d"]
    bias: Float[Tensor, " n_classes"]
    mean: Float[Tensor, " d"]  # the train split's, to map weights back to residual space
    std: Float[Tensor, " d"]
    train_acc: float
    test_acc: float

    def logits(self, acts: Float[Tensor, "n d"]) -> Float[Tensor, "n n_classes"]:
        return ((acts - self.mean) / self.std) @ self.weight.T + self.bias

    def predict(self, acts: Float[Tensor, "n d"]) -> Int[Tensor, " n"]:
        return self.logits(acts).argmax(dim=-1)

    def direction(self, class_a: int, class_b: int) -> Float[Tensor, " d"]:
        """The unit vector in raw residual space that raises class_a's logit most relative to class_b's."""
        k = self.weight.shape[0]
        if not (0 <= class_a < k and 0 <= class_b < k and class_a != class_b):
            raise ConfigError(f"class_a and class_b must differ and be in 0..{k - 1}, got {class_a}, {class_b}.")
        w = (self.weight[class_a] - self.weight[class_b]) / self.std  # the gradient of the logit gap w.r.t. x
        return w / w.norm()


def probe_split(n: int, config: ProbeConfig | None = None) -> tuple[Int[Tensor, " n_train"], Int[Tensor, " n_test"]]:
    """The rows ``fit_probe`` trains on and the rows it holds out for ``test_acc`` (notebook 12): a
    permutation seeded by ``config.seed``, its first ``round(test_frac * n)`` rows held out."""
    config = config or ProbeConfig()
    n_test = round(config.test_frac * n)
    if not 0 < n_test < n:
        raise ConfigError(f"test_frac={config.test_frac} of {n} rows leaves an empty split; use more rows.")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed))
    return order[n_test:], order[:n_test]


@no_type_check  # checks its own shapes, raising ShapeError with the fix (tests/shape_checks.py)
def fit_probe(
    acts: Float[Tensor, "n d"],
    labels: Int[Tensor, " n"],
    config: ProbeConfig | None = None,
    n_classes: int | None = None,
) -> Probe:
    """Fit a probe from ``acts`` to ``labels`` on a random train split; test accuracy on the rest."""
    config = config or ProbeConfig()
    if acts.dim() != 2 or labels.dim() != 1 or acts.shape[0] != labels.shape[0]:
        raise ShapeError(
            f"acts {tuple(acts.shape)} must be [n, d] and labels {tuple(labels.shape)} [n], with the same n: "
            "flatten batch and position first, e.g. acts[:, pos] or acts.reshape(-1, d_model)."
        )
    if labels.is_floating_point() or labels.is_complex() or (labels < 0).any():
        raise ConfigError("labels must be integer class ids 0, 1, ...; use torch.unique(x, return_inverse=True)[1].")
    k = int(labels.max()) + 1 if n_classes is None else n_classes
    if k <= int(labels.max()):
        raise ConfigError(f"n_classes={k} but labels go up to {int(labels.max())}; omit n_classes or raise it.")
    if labels.unique().numel() < 2:
        raise ConfigError(f"labels has a single class ({int(labels[0])}); a probe needs at least 2 classes.")
    train, test = probe_split(labels.shape[0], config)
    x = acts.detach().float()
    labels = labels.to(x.device)
    mean, std = x[train].mean(0), x[train].std(0)
    std = torch.where(std > 1e-8, std, torch.ones_like(std))  # a constant feature carries nothing: leave it
    z = (x - mean) / std

    weight = torch.zeros(k, x.shape[1], device=x.device, requires_grad=True)  # zero start: deterministic
    bias = torch.zeros(k, device=x.device, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], max_iter=config.n_steps, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(z[train] @ weight.T + bias, labels[train]) + config.weight_decay * weight.square().sum()
        loss.backward()
        return loss

    with torch.enable_grad():  # a notebook may call this under no_grad
        opt.step(closure)
    weight, bias = weight.detach(), bias.detach()
    correct = ((z @ weight.T + bias).argmax(-1) == labels).float()
    return Probe(weight, bias, mean, std, correct[train].mean().item(), correct[test].mean().item())


def control_labels(word_ids: Int[Tensor, " n"], n_classes: int, seed: int = 0) -> Int[Tensor, " n"]:
    """Hewitt & Liang's control task: every word type (id) gets one random label, shared by its rows.

    Types are spread evenly over the classes (``randperm % n_classes``). A type's label depends on
    the seed and on which ids occur, so call this once on all rows, before any split.
    """
    if n_classes < 2:
        raise ConfigError(f"n_classes must be at least 2, got {n_classes}. Fix: use the task's number of classes.")
    types, inverse = torch.unique(word_ids, return_inverse=True)
    gen = torch.Generator().manual_seed(seed)
    return (torch.randperm(types.numel(), generator=gen) % n_classes)[inverse]


def shuffled_labels(labels: Int[Tensor, " n"], seed: int = 0) -> Int[Tensor, " n"]:
    """The same labels in a random order: same class balance, no link to the activations."""
    return labels[torch.randperm(labels.shape[0], generator=torch.Generator().manual_seed(seed))]


def selectivity(task_acc: float, control_acc: float) -> float:
    """Task accuracy minus control accuracy: high when the probe reads the layer, not memorises types."""
    for name, acc in (("task_acc", task_acc), ("control_acc", control_acc)):
        if not 0 <= acc <= 1:
            raise ConfigError(f"{name} must be an accuracy in [0, 1], got {acc!r}.")
    return float(task_acc - control_acc)


@no_type_check  # checks its own shapes, raising ShapeError with the fix
def probe_layers(
    resid_by_layer: Sequence[Tensor] | Float[Tensor, "layer n d"],
    labels: Int[Tensor, " n"],
    control: Int[Tensor, " n"],
    config: ProbeConfig | None = None,
) -> list[dict[str, float]]:
    """Per layer: test accuracy of a task probe and of a control probe, and their difference."""
    config = config or ProbeConfig()
    if control.shape != labels.shape:
        raise ShapeError(f"control {tuple(control.shape)} must match labels {tuple(labels.shape)}: one per row.")
    rows = []
    for layer, acts in enumerate(resid_by_layer):
        if acts.shape[0] != labels.shape[0]:
            raise ShapeError(f"layer {layer}'s acts {tuple(acts.shape)} must have one row per label ({len(labels)}).")
        task, ctrl = fit_probe(acts, labels, config).test_acc, fit_probe(acts, control, config).test_acc
        rows.append({"layer": layer, "task_acc": task, "control_acc": ctrl, "selectivity": selectivity(task, ctrl)})
    return rows


@no_type_check  # checks its own shapes, raising ShapeError with the fix
def steer(
    model: TransformerBridge,
    tokens: Int[Tensor, "batch pos"],
    hook_name: str,
    direction: Float[Tensor, " d_model"] | Float[Tensor, "batch d_model"],
    alpha: float,
    positions: Int[Tensor, " batch"] | None = None,
) -> Float[Tensor, "batch pos d_vocab"]:
    """The model's logits with ``alpha * direction`` added at ``hook_name`` (a [batch, pos, d_model] hook).

    ``direction`` is one ``[d_model]`` vector for every row, or ``[batch, d_model]``, one per row
    (notebook 12 pushes each row from its own subject's name to another). ``positions[i]`` is where
    row i is steered; ``None`` steers every position. Pass unit directions (``Probe.direction``)
    so that ``alpha`` is in the residual stream's units.
    """
    if tokens.dim() != 2:
        raise ShapeError(f"tokens {tuple(tokens.shape)} must be [batch, pos]; add a batch axis with tokens[None].")
    batch, n_pos = tokens.shape
    if direction.shape not in ((model.cfg.d_model,), (batch, model.cfg.d_model)):
        raise ShapeError(
            f"direction {tuple(direction.shape)} must be [d_model] = ({model.cfg.d_model},) or [batch, d_model] = "
            f"({batch}, {model.cfg.d_model})."
        )
    ok = positions is None or (positions.shape == (batch,) and positions.ge(0).all() and positions.lt(n_pos).all())
    if not ok:
        raise ShapeError(f"positions {positions.tolist()} must be [batch] = ({batch},), each in 0..{n_pos - 1}.")
    if hook_name not in model.hook_dict:
        raise ConfigError(f"no hook named {hook_name!r}; use e.g. 'blocks.0.hook_resid_pre' (see model.hook_dict).")

    def hook(act: Tensor, hook: object) -> Tensor:
        if act.dim() != 3 or act.shape[-1] != direction.shape[-1]:
            raise ShapeError(f"{hook_name} gives {tuple(act.shape)}; steer a residual hook, [batch, pos, d_model].")
        act = act.clone()  # never edit in place: TransformerLens may still hold the activation
        push = alpha * direction.to(act)  # [d_model] or [batch, d_model]
        if positions is None:
            act += push if push.dim() == 1 else push[:, None]
        else:
            act[torch.arange(act.shape[0], device=act.device), positions.to(act.device)] += push
        return act

    with torch.no_grad():
        return model.run_with_hooks(tokens, fwd_hooks=[(hook_name, hook)])
