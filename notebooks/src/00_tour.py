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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mechinterp-course/mechinterp-from-scratch/blob/main/notebooks/00_tour.ipynb)
#
# # 00 · A tour of the toolkit
#
# Every notebook in this course follows the same path: **build** a small transformer from a
# config, **train** it on a CPU in seconds to minutes, then **open it up** — read its attention,
# cache its activations, intervene with hooks — and **state what we found as checks** that CI
# re-runs, so a claim in this course is never just a sentence.
#
# ## You will learn
# - to build a TransformerLens model from a frozen, validated `ModelConfig`;
# - to run it with a cache and find any activation by its hook name (`blocks.0.attn.hook_pattern`);
# - to read an attention pattern with circuitsvis and with a plotly heatmap;
# - to change a forward pass with a hook (ablate one head) and measure the effect;
# - to train with the course's loop and save / load a checkpoint (safetensors + a JSON card);
# - how exercises (self-checks, hidden solutions) and claims (asserted results) work here.
#
# Runs in well under a minute on a laptop CPU.

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
# ## 1. A model from a config
#
# *Objectives: make a `ModelConfig`; see that an impossible config fails at once, with the fix.*
#
# A config is a frozen dataclass: you cannot change it after it is made, and impossible values
# are rejected when it is made, not deep inside a forward pass. The names are TransformerLens's:
# `d_vocab`, `n_ctx` (longest sequence), `d_model` (residual stream width), `n_heads`, `d_head`,
# `n_layers`, and `d_mlp` (`None` means attention-only).

# %%
import torch

from helpers import checkpoints, checks, data, models, plots, training
from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import ConfigError
from helpers.tokens import to_str_tokens

tokenizer = data.get_tokenizer("bpe", vocab_size=2048)  # the course's BPE, trained on Shakespeare
cfg = ModelConfig(d_vocab=tokenizer.vocab_size, n_ctx=64, d_model=64, n_layers=2, n_heads=4, d_head=16, seed=0)
model = models.build_model(cfg)
print(cfg)
print(f"{models.n_params(model):,} parameters")

# %%
try:
    ModelConfig(d_vocab=2048, n_ctx=64, d_model=64, n_heads=4, d_head=32)
except ConfigError as e:
    print("ConfigError:", e)

# %% [markdown]
# The weights carry TransformerLens's names and shapes: `W_E` is `[d_vocab, d_model]`, `W_Q` is
# `[n_layers, n_heads, d_model, d_head]`, and `model.OV` is the per-head `W_V W_O` as a
# low-rank `FactoredMatrix`.

# %%
for name in ["W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_U"]:
    print(f"{name:6s} {tuple(getattr(model, name).shape)}")
print("OV", model.OV.shape, "rank", model.OV.rdim)

# %% [markdown]
# ## 2. Run with a cache
#
# *Objectives: tokenize text; run the model and keep every intermediate activation.*
#
# Token id 0 is the beginning-of-sequence token `<|bos|>`; the course puts it at the start of
# every row. `run_with_cache` returns the logits and an `ActivationCache` keyed by hook name.

# %%
text = "ROMEO.\nBut soft, what light through yonder window breaks?"
tokens = torch.tensor([[0] + tokenizer.encode(text)])
str_tokens = to_str_tokens(tokenizer, tokens[0])
print(len(str_tokens), "tokens:", str_tokens)

logits, cache = model.run_with_cache(tokens)
print("logits", tuple(logits.shape))
for name in [
    "hook_embed",
    "blocks.0.hook_resid_pre",
    "blocks.0.attn.hook_q",
    "blocks.0.attn.hook_pattern",
    "blocks.1.hook_resid_post",
]:
    print(f"{name:28s} {tuple(cache[name].shape)}")


# %% [markdown]
# Every exercise in the course has the same shape: a header with its difficulty, importance
# and time, the task with shapes, a hint you can unfold, a function to fill in, and a check.
# Leave a function as it is (`return None`) and the notebook goes on with the reference
# solution; `checks.show_solution("name")` prints it when you want to compare.
#
# ### Exercise 1 — queries and keys from the residual stream
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# This model has no LayerNorm, so a head's queries are a linear map of the residual stream:
# `q = x W_Q + b_Q`. Given `resid` `[batch, pos, d_model]`, a layer's `W` `[n_heads, d_model, d_head]`
# and `b` `[n_heads, d_head]`, return `[batch, pos, n_heads, d_head]`. The same function gives
# the keys from `W_K`, `b_K`.
#
# <details><summary>Hint</summary>
#
# `torch.einsum("bpm,hmd->bphd", resid, W)` contracts `d_model`; `b` then broadcasts over batch and pos.
#
# </details>


# %%
def project(resid: torch.Tensor, W: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """resid: [batch, pos, d_model]; W: [n_heads, d_model, d_head]; b: [n_heads, d_head] -> [batch, pos, n_heads, d_head]."""
    return None  # YOUR CODE HERE


# %%
with torch.no_grad():
    resid = cache["blocks.0.hook_resid_pre"]
    W_Q, b_Q, W_K, b_K = model.W_Q[0], model.b_Q[0], model.W_K[0], model.b_K[0]
    project = checks.check_exercise(
        "project", project,
        inputs=[(resid, W_Q, b_Q), (resid, W_K, torch.randn_like(b_K))],  # the biases start at 0: test a nonzero one too
    )  # fmt: skip
    q, k = project(resid, W_Q, b_Q), project(resid, W_K, b_K)
print("max |q - cache's hook_q|:", float((q - cache["blocks.0.attn.hook_q"]).abs().max()),
      " max |k - cache's hook_k|:", float((k - cache["blocks.0.attn.hook_k"]).abs().max()))  # fmt: skip


# %% [markdown]
# ### Exercise 2 — recompute an attention pattern
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# A head's attention pattern is `softmax(q·k / sqrt(d_head))` over keys, with future keys
# masked out (a token cannot look ahead). Write it from the cached queries and keys, shaped
# `[batch, pos, n_heads, d_head]`, and return `[batch, n_heads, query_pos, key_pos]`.
#
# <details><summary>Hint</summary>
#
# `torch.einsum("bqhd,bkhd->bhqk", q, k)` gives the scores; divide by `sqrt(d_head)`; set the
# entries above the diagonal (`torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)`) to
# `-inf` with `masked_fill`; then `softmax(dim=-1)`, over the keys.
#
# </details>


# %%
def attention_pattern(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Causal attention pattern from queries and keys of shape [batch, pos, n_heads, d_head]."""
    return None  # YOUR CODE HERE


# %%
q, k = cache["blocks.0.attn.hook_q"], cache["blocks.0.attn.hook_k"]
attention_pattern = checks.check_exercise("attention_pattern", attention_pattern, inputs=[(q, k)])
checks.claim(
    "our pattern equals the model's own blocks.0.attn.hook_pattern",
    torch.allclose(attention_pattern(q, k), cache["blocks.0.attn.hook_pattern"], atol=1e-5),
)

# %% [markdown]
# ## 3. Read an attention pattern
#
# *Objectives: read a pattern two ways: interactively (circuitsvis) and as heatmaps (plotly).*
#
# In the circuitsvis view, hover a token to see where it attends. It loads its JavaScript from a
# CDN, so it needs the network; the plotly heatmaps below it show the same numbers and work
# offline. This model is untrained, so its heads attend almost uniformly: each row spreads its
# weight over the tokens before it. We will look again after training.

# %%
plots.attention_heads(cache["blocks.0.attn.hook_pattern"][0], str_tokens)

# %%
plots.attention_heatmaps(cache["blocks.0.attn.hook_pattern"][0], str_tokens, title="layer 0, untrained")


# %% [markdown]
# Two numbers summarise the patterns we will meet most: how much a head attends to the
# *previous* token, and how much to the *first* token.
#
# ### Exercise 3 — the previous-token score
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Given patterns `[batch, n_heads, query_pos, key_pos]`, return `[n_heads]`: for each head, the
# attention from query `i` to key `i - 1`, averaged over the batch and the queries `i >= 1`.
#
# <details><summary>Hint</summary>
#
# The pairs (query `i`, key `i - 1`) lie on one diagonal:
# `pattern.diagonal(offset=-1, dim1=-2, dim2=-1)` is `[batch, n_heads, pos - 1]`.
#
# </details>


# %%
def previous_token_score(pattern: torch.Tensor) -> torch.Tensor:
    """pattern: [batch, n_heads, q, k] -> [n_heads] mean attention from query i to key i - 1."""
    return None  # YOUR CODE HERE


# %%
untrained_patterns = [cache[f"blocks.{layer}.attn.hook_pattern"] for layer in range(cfg.n_layers)]
previous_token_score = checks.check_exercise(
    "previous_token_score", previous_token_score, inputs=[(p,) for p in untrained_patterns]
)


# %% [markdown]
# ### Exercise 4 — the first-token score
#
# > **Difficulty** 1/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Return `[n_heads]`: each head's attention on key 0, averaged over the batch and the queries
# `i >= 1`. (Query 0 has no choice: its only key is itself.)
#
# <details><summary>Hint</summary>
#
# `pattern[..., 1:, 0]` is `[batch, n_heads, pos - 1]`: average it over the batch and the queries.
#
# </details>


# %%
def first_token_score(pattern: torch.Tensor) -> torch.Tensor:
    """pattern: [batch, n_heads, q, k] -> [n_heads] mean attention on key 0 from queries 1, 2, ..."""
    return None  # YOUR CODE HERE


# %%
first_token_score = checks.check_exercise(
    "first_token_score", first_token_score, inputs=[(p,) for p in untrained_patterns]
)
for layer, p in enumerate(untrained_patterns):
    print(f"untrained layer {layer}: previous-token {[round(float(s), 2) for s in previous_token_score(p)]}, "
          f"first-token {[round(float(s), 2) for s in first_token_score(p)]}")  # fmt: skip

# %% [markdown]
# ## 4. Train for a few seconds
#
# *Objectives: train with the course loop; compare the loss with the baseline of guessing.*
#
# `training.train` runs AdamW on batches drawn with a seeded generator, logs the training loss
# every step and runs `eval_fn` every `eval_every` steps. The data is the course corpus —
# Shakespeare's plays, from the `shakespeare` package, offline — cut into rows of `n_ctx` tokens.
# A model that knows nothing predicts every token with probability 1/2048: a loss of
# ln 2048 ≈ 7.6 nats.

# %%
train_rows, val_rows, _ = data.token_dataset(n_ctx=cfg.n_ctx, vocab_size=2048, max_val_rows=64, seed=0)
print("train rows", tuple(train_rows.shape), "validation rows", tuple(val_rows.shape))
train_cfg = TrainConfig(n_steps=200, lr=3e-3, batch_size=32, warmup_steps=20, eval_every=50, seed=0)
history = training.train(
    model, train_rows, train_cfg, eval_fn=lambda m: {"val_loss": training.eval_lm_loss(m, val_rows)}
)
print(history.summary())
plots.line({"train": history.train_loss}, title="training loss", xaxis="step", yaxis="loss (nats)")


# %% [markdown]
# Guessing uniformly ignores that some tokens are far more common than others. A better
# context-free guess predicts every token with its frequency in the training rows: the
# *unigram* guess.
#
# ### Exercise 5 — the loss of a unigram guess
#
# > **Difficulty** 2/5 · **Importance** 3/5 · **Time** about 10 minutes
#
# Count how often each token occurs in `train_rows[:, 1:]` (`[n_rows, n_ctx]`; the BOS at
# position 0 is never predicted), add 0.1 to every count, normalise to probabilities `p`, and
# return the mean of `-log p(token)` over the tokens of `val_rows[:, 1:]`, in nats, as a float.
#
# <details><summary>Hint</summary>
#
# `torch.bincount(train_rows[:, 1:].reshape(-1), minlength=d_vocab)` counts; index the log-probabilities
# with `val_rows[:, 1:]` and average. `torch.log` is the natural log (nats), like the training loss.
#
# </details>


# %%
def unigram_loss(train_rows: torch.Tensor, val_rows: torch.Tensor, d_vocab: int) -> float:
    """Cross-entropy (nats) on val_rows[:, 1:] of guessing each token with its add-0.1 frequency in train_rows[:, 1:]."""
    return None  # YOUR CODE HERE


# %%
unigram_loss = checks.check_exercise(
    "unigram_loss", unigram_loss, inputs=[(train_rows[:200], val_rows, 2048), (train_rows, val_rows, 2048)]
)
print(f"validation loss of the unigram guess {unigram_loss(train_rows, val_rows, 2048):.2f} nats, "
      f"of the trained model {history.last('val_loss'):.2f}")  # fmt: skip

# %%
uniform = torch.log(torch.tensor(2048.0)).item()
checks.claim(
    "200 steps take the validation loss at least 2 nats below guessing uniformly",
    history.last("val_loss") < uniform - 2.0,
    f"val loss {history.last('val_loss'):.2f} vs ln 2048 = {uniform:.2f}",
)

# %% [markdown]
# After training, look at the same text again. Besides the two scores, we measure how evenly a
# head spreads its attention: the entropy of each query's pattern, averaged over the queries
# `i >= 1`. Uniform attention over the `i + 1` keys of query `i` has the largest possible entropy,
# `ln(i + 1)`; a head that puts all its weight on one key has 0.

# %%
logits, cache = model.run_with_cache(tokens)
plots.attention_heatmaps(cache["blocks.0.attn.hook_pattern"][0], str_tokens, title="layer 0, after 200 steps")


# %%
def mean_entropy(pattern: torch.Tensor) -> torch.Tensor:
    """pattern: [batch, n_heads, q, k] -> [n_heads] entropy (nats) of each query's pattern, mean over queries >= 1."""
    return -(pattern * pattern.clamp_min(1e-12).log()).sum(-1)[..., 1:].mean((0, 2))


n_keys = torch.arange(2, tokens.shape[1] + 1).float()  # query i (i >= 1) sees i + 1 keys
print(f"uniform attention on this text: previous-token and first-token scores {(1 / n_keys).mean():.2f}, "
      f"entropy {n_keys.log().mean():.2f} nats")  # fmt: skip
for layer in range(cfg.n_layers):  # the same text as the untrained scores above
    p = cache[f"blocks.{layer}.attn.hook_pattern"]
    print(f"trained layer {layer}: previous-token {[round(float(s), 2) for s in previous_token_score(p)]}, "
          f"first-token {[round(float(s), 2) for s in first_token_score(p)]}, "
          f"entropy {[round(float(s), 2) for s in mean_entropy(p)]} (untrained "
          f"{[round(float(s), 2) for s in mean_entropy(untrained_patterns[layer])]})")  # fmt: skip
drop = n_keys.log().mean() - torch.stack(
    [mean_entropy(cache[f"blocks.{layer}.attn.hook_pattern"]) for layer in range(cfg.n_layers)]
)
checks.claim(
    "after 200 steps no head attends uniformly: every head's mean entropy is at least 0.25 nats below uniform attention's",
    drop.min().item() > 0.25,
    f"drops of {drop.min():.2f} to {drop.max():.2f} nats",
)

# %% [markdown]
# So after 200 steps the heads no longer spread their attention evenly: on this text their
# entropy is 0.45 to 1.08 nats below uniform attention's (asserted), while the untrained heads
# were uniform. But no head has a clear job yet: the previous-token scores (0.09 to 0.16) and
# the first-token scores (0.05 to 0.11) are close to or below the 0.13 that uniform attention
# gives on this text. Heads with a clear job come in the longer-trained models of later
# notebooks: notebook 02 finds local heads and a long-range copying head in a 1-layer model, and
# notebook 03 a previous-token head and induction heads in a 2-layer one.


# %% [markdown]
# ## 5. Hooks: intervene on a forward pass
#
# *Objectives: write a hook function; ablate one head; measure what it did.*
#
# A hook receives an activation and the hook point, and may return a replacement.
# `blocks.L.attn.hook_z` holds each head's output before `W_O`, shaped
# `[batch, pos, n_heads, d_head]`; zeroing one head's slice removes that head from the model.

# %% [markdown]
# To measure what a change did, we need the loss of a forward pass.
#
# ### Exercise 6 — the next-token loss
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 10 minutes
#
# Given `logits` `[batch, pos, d_vocab]` and `tokens` `[batch, pos]`, return the cross-entropy of
# each prediction, `[batch, pos - 1]`: the logits at position `p` are scored on the token at `p + 1`.
#
# <details><summary>Hint</summary>
#
# `torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, d_vocab), tokens[:, 1:].reshape(-1), reduction="none")`,
# then `.view(batch, pos - 1)`.
#
# </details>


# %%
def next_token_loss(logits: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    """logits: [batch, pos, d_vocab]; tokens: [batch, pos] -> [batch, pos - 1] per-token cross-entropy (nats)."""
    return None  # YOUR CODE HERE


# %%
val_batch = val_rows[:32]
with torch.no_grad():
    val_logits = model(val_batch)
next_token_loss = checks.check_exercise("next_token_loss", next_token_loss, inputs=[(val_logits, val_batch)])
clean = next_token_loss(val_logits, val_batch).mean().item()
print(f"clean loss on 32 validation rows {clean:.3f} nats")


# %% [markdown]
# ### Exercise 7 — zero-ablate a head
#
# > **Difficulty** 1/5 · **Importance** 5/5 · **Time** about 5 minutes
#
# Given `z` `[batch, pos, n_heads, d_head]`, return a copy in which head `head` is all zeros,
# and every other head unchanged.
#
# <details><summary>Hint</summary>
#
# The head axis is axis 2: `z[:, :, head]`. Clone first: a hook must not change the cached
# activation in place.
#
# </details>


# %%
def ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    """z: [batch, pos, n_heads, d_head] -> the same with head `head` zeroed."""
    return None  # YOUR CODE HERE


# %%
z = cache["blocks.0.attn.hook_z"]
ablate_head = checks.check_exercise("ablate_head", ablate_head, inputs=[(z, 0), (z, 3)])


# %% [markdown]
# ### Exercise 8 — the effect of ablating each head
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 15 minutes
#
# Return `[n_layers, n_heads]`: for each head, the mean next-token loss on `tokens` with that
# head zeroed by `ablate(z, head)` at `blocks.{layer}.attn.hook_z`, minus the clean mean loss.
# A hook is a pair `(hook_name, fn)` with `fn(activation, hook)` returning the replacement,
# passed as `model.run_with_hooks(tokens, fwd_hooks=[...])`.
#
# <details><summary>Hint</summary>
#
# Loop over layers and heads; the hook is `(f"blocks.{layer}.attn.hook_z", lambda z, hook, h=head: ablate(z, h))`
# (the default argument `h=head` freezes the head in the lambda). Use `training.next_token_loss`
# (or yours) for both losses.
#
# </details>


# %%
def ablation_effects(model: torch.nn.Module, tokens: torch.Tensor, ablate) -> torch.Tensor:
    """[n_layers, n_heads]: loss with head (layer, head) zeroed by ablate(z, head), minus the clean loss."""
    return None  # YOUR CODE HERE


# %%
ablation_effects = checks.check_exercise("ablation_effects", ablation_effects, inputs=[(model, val_batch, ablate_head)])
effects = ablation_effects(model, val_batch, ablate_head)
plots.imshow(
    effects,
    x=[f"H{h}" for h in range(cfg.n_heads)],
    y=["L0", "L1"],
    title="loss increase when a head is ablated",
    xaxis="head",
    yaxis="layer",
)

# %%
checks.claim(
    "the trained heads matter: ablating at least 6 of the 8 raises the loss, one by over 0.1 nats",
    int((effects > 0).sum()) >= 6 and effects.max().item() > 0.1,
    f"{int((effects > 0).sum())}/8 heads raise it; largest increase {effects.max():.3f} nats",
)

# %% [markdown]
# ## 6. Save and load a checkpoint
#
# *Objectives: save weights with a card; load them back; see a mismatched card rejected.*
#
# Weights go to a `.safetensors` file (it cannot run code when loaded, unlike a pickle); the card
# beside it records the config, the training config and the metrics. Loading checks that the
# card and the weights agree.

# %%
import json
import tempfile
from pathlib import Path

folder = Path(tempfile.mkdtemp())
checkpoints.save_checkpoint(model, folder / "tour", train_cfg, history.summary())
loaded, card = checkpoints.load_checkpoint(folder / "tour")
print(json.dumps({k: card[k] for k in ("model_config", "metrics")}, indent=1)[:600])
checks.claim("the loaded model gives the same logits", torch.allclose(loaded(tokens), model(tokens)))

# %%
card["model_config"]["d_model"], card["model_config"]["d_head"] = 128, 32  # a card from another run
(folder / "tour.json").write_text(json.dumps(card))
try:
    checkpoints.load_checkpoint(folder / "tour")
except checkpoints.CheckpointError as e:
    print("CheckpointError:", str(e)[:300], "...")

# %% [markdown]
# ## Summary
#
# - A `ModelConfig` builds a TransformerLens model; bad configs fail at once with the fix.
# - `run_with_cache` exposes every activation by hook name; attention patterns are
#   `softmax(q·k/√d_head)` with a causal mask — we recomputed one exactly.
# - 200 training steps (seconds on a CPU) take the loss far below uniform guessing, and the
#   heads stop attending uniformly (asserted), though none is yet a previous-token or first-token
#   head: specialised heads come in notebooks 02 and 03.
# - Hooks change a forward pass: ablating a trained head raises the loss, some heads far more than others.
# - Checkpoints are safetensors plus a JSON card, checked on load.
#
# Each ✔ line above is a **claim**: CI re-runs this notebook and fails if one stops holding.
#
# **Next:** [01 · the 0-layer transformer](01_bigram.ipynb) — what a model with no layers learns.
#
# ## Further reading
# - Elhage et al., [A Mathematical Framework for Transformer Circuits](https://transformer-circuits.pub/2021/framework/index.html) (2021).
# - Neel Nanda, [TransformerLens](https://github.com/TransformerLensOrg/TransformerLens) and its [Main Demo](https://transformerlensorg.github.io/TransformerLens/generated/demos/Main_Demo.html).
# - Andrej Karpathy, [nanoGPT](https://github.com/karpathy/nanoGPT): a transformer that fits on a few screens.
# - ARENA, [Chapter 1: Transformer interpretability](https://arena-chapter1-transformer-interp.streamlit.app/).
