# %% [markdown]
# # 07 · What makes a model grok?
#
# Notebook 06 watched one model grok. Here we vary what the paper held fixed: **weight decay**
# and **how much of the data we train on**, and we try **Grokfast** (Lee et al. 2024), a
# gradient filter that claims to make grokking much faster.
#
# ## You will learn
# - to measure "steps to grok" and compare runs fairly (same seeds, same data);
# - how weight decay and the training fraction move the grokking point (a heatmap);
# - what Grokfast does (an EMA low-pass filter on gradients) and to test its claim yourself;
# - to log runs to Weights & Biases when you want to (off by default, never needed offline).
#
# The full sweep is precomputed by `benchmarks/grokking_sweep.py` (its JSON is in `data/`); this
# notebook re-runs one cell of it live and checks it agrees. Runs in about 2.5 CPU-minutes.

# %% [setup]

# %% [markdown]
# ## 1. Steps to grok
#
# *Objectives: turn a training history into one number, the first step with >= 99% test accuracy.*
#
# ### Exercise 1 — steps to grok

# %%
import json

import numpy as np
import torch

from helpers import checks, grokking, paths, plots
from helpers.grokking import GrokConfig


def steps_to_grok(steps: list[int], test_acc: list[float], threshold: float = 0.99) -> int | None:
    """The first logged step whose test accuracy is at least ``threshold`` (None if never)."""
    return None  # YOUR CODE HERE


# %% [solution]
def steps_to_grok_solution(steps: list[int], test_acc: list[float], threshold: float = 0.99) -> int | None:
    return next((s for s, a in zip(steps, test_acc) if a >= threshold), None)


# %%
steps_to_grok = checks.check_exercise(
    "steps_to_grok", steps_to_grok, steps_to_grok_solution,
    [([0, 10, 20, 30], [0.0, 0.5, 0.99, 1.0]), ([0, 10], [0.1, 0.2]), ([0, 5, 10], [0.98, 0.991, 0.5])],
    hint="use >= (a run that reaches exactly the threshold has grokked) and return None when it never does",
)  # fmt: skip

# %% [markdown]
# ## 2. Weight decay x training fraction
#
# *Objectives: read the sweep; check one cell of it live.*

# %%
SWEEP = paths.data_dir() / "grokking_sweep_p59.json"
record = json.loads(SWEEP.read_text())
grid = record["grid"]
wds = sorted({r["config"]["weight_decay"] for r in grid})
fracs = sorted({r["config"]["train_frac"] for r in grid})
cap = grid[0]["config"]["n_steps"]
table = np.full((len(wds), len(fracs)), np.nan)
for r in grid:
    if r["config"]["seed"] == 0:
        i, j = wds.index(r["config"]["weight_decay"]), fracs.index(r["config"]["train_frac"])
        table[i, j] = r["steps_to_grok"] if r["steps_to_grok"] is not None else np.nan
plots.imshow(table, x=[str(f) for f in fracs], y=[str(w) for w in wds], zmid=None,
             title=f"steps to 99% test accuracy (blank: not within {cap})", xaxis="train fraction", yaxis="weight decay")  # fmt: skip

# %% [markdown]
# ## 3. Grokfast against plain AdamW
#
# ### Exercise 2 — one Grokfast-EMA step
# Update the EMA of the gradient (`ema <- alpha ema + (1 - alpha) grad`) and return the filtered
# gradient `grad + lam * ema` together with the new EMA.


# %%
def grokfast_ema(grad: torch.Tensor, ema: torch.Tensor, alpha: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (filtered gradient, new EMA)."""
    return None  # YOUR CODE HERE


# %% [solution]
def grokfast_ema_solution(grad, ema, alpha, lam):
    new = alpha * ema + (1 - alpha) * grad
    return grad + lam * new, new


# %%
g = torch.tensor([1.0, -2.0, 0.5])
grokfast_ema = checks.check_exercise(
    "grokfast_ema", grokfast_ema, grokfast_ema_solution,
    [(g, torch.zeros(3), 0.98, 2.0), (g, torch.ones(3), 0.9, 5.0)],
    hint="update the EMA first, then amplify with the *new* EMA",
)  # fmt: skip

# %% [markdown]
# ## 4. Optional: log to Weights & Biases
#
# Set `USE_WANDB = True` to log a run (needs `wandb login`). It is off by default and the
# notebook never imports wandb unless you turn it on.

# %%
USE_WANDB = False


def wandb_callback(project: str = "mechinterp-grokking"):
    """A ``train_grokking`` callback that logs every evaluation to wandb (imported only here)."""
    import wandb

    run = wandb.init(project=project)

    def log(step, hist, model):
        wandb.log({k: getattr(hist, k)[-1] for k in ("train_loss", "train_acc", "test_loss", "test_acc", "weight_norm")}, step=step)

    return run, log


if USE_WANDB:
    run, log = wandb_callback()
    grokking.train_grokking(GrokConfig(p=59, train_frac=0.5, lr=3e-3, n_steps=300), callback=log)
    run.finish()

# %% [markdown]
# ## Summary
#
# ## Further reading
# - Lee, Kang, Kim, Lee (2024), *Grokfast: accelerated grokking by amplifying slow gradients*, <https://arxiv.org/abs/2405.20233>.
# - Liu, Michaud, Tegmark (2023), *Omnigrok: grokking beyond algorithmic data*, <https://arxiv.org/abs/2210.01117>.
# - Nanda et al. (2023), *Progress measures for grokking via mechanistic interpretability*, <https://arxiv.org/abs/2301.05217>.
