# %% [markdown]
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

# %% [setup]

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
from helpers.tokens import to_str_tokens
from helpers.configs import ModelConfig, TrainConfig
from helpers.errors import ConfigError

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
for name in ["hook_embed", "blocks.0.hook_resid_pre", "blocks.0.attn.hook_q", "blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post"]:
    print(f"{name:28s} {tuple(cache[name].shape)}")

# %% [markdown]
# ### Exercise 1 — recompute an attention pattern
#
# A head's attention pattern is `softmax(q·k / sqrt(d_head))` over keys, with future keys
# masked out (a token cannot look ahead). Write it from the cached queries and keys, shaped
# `[batch, pos, n_heads, d_head]`, and return `[batch, n_heads, query_pos, key_pos]`.

# %%
def attention_pattern(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Causal attention pattern from queries and keys of shape [batch, pos, n_heads, d_head]."""
    return None  # YOUR CODE HERE

# %%
q, k = cache["blocks.0.attn.hook_q"], cache["blocks.0.attn.hook_k"]
attention_pattern = checks.check_exercise(
    "attention_pattern",
    attention_pattern,
    inputs=[(q, k)]
)
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
history = training.train(model, train_rows, train_cfg, eval_fn=lambda m: {"val_loss": training.eval_lm_loss(m, val_rows)})
print(history.summary())
plots.line({"train": history.train_loss}, title="training loss", xaxis="step", yaxis="loss (nats)")

# %%
uniform = torch.log(torch.tensor(2048.0)).item()
checks.claim(
    "200 steps take the validation loss at least 2 nats below guessing uniformly",
    history.last("val_loss") < uniform - 2.0,
    f"val loss {history.last('val_loss'):.2f} vs ln 2048 = {uniform:.2f}",
)

# %% [markdown]
# After training, the heads are no longer uniform: some look at the previous token, some at
# the first token, some at particular words.

# %%
logits, cache = model.run_with_cache(tokens)
plots.attention_heatmaps(cache["blocks.0.attn.hook_pattern"][0], str_tokens, title="layer 0, after 200 steps")

# %% [markdown]
# ## 5. Hooks: intervene on a forward pass
#
# *Objectives: write a hook function; ablate one head; measure what it did.*
#
# A hook receives an activation and the hook point, and may return a replacement.
# `blocks.L.attn.hook_z` holds each head's output before `W_O`, shaped
# `[batch, pos, n_heads, d_head]`; zeroing one head's slice removes that head from the model.

# %% [markdown]
# ### Exercise 2 — zero-ablate a head
#
# Return a copy of `z` in which head `head` is all zeros, and every other head unchanged.

# %%
def ablate_head(z: torch.Tensor, head: int) -> torch.Tensor:
    """z: [batch, pos, n_heads, d_head] -> the same with head `head` zeroed."""
    return None  # YOUR CODE HERE

# %%
z = cache["blocks.0.attn.hook_z"]
ablate_head = checks.check_exercise(
    "ablate_head", ablate_head, inputs=[(z, 0), (z, 3)]
)

val_batch = val_rows[:32]
clean = training.next_token_loss(model(val_batch), val_batch).mean().item()
effects = []
for layer in range(cfg.n_layers):
    for head in range(cfg.n_heads):
        hook = (f"blocks.{layer}.attn.hook_z", lambda z, hook, h=head: ablate_head(z, h))
        ablated = model.run_with_hooks(val_batch, fwd_hooks=[hook])
        effects.append(training.next_token_loss(ablated, val_batch).mean().item() - clean)
effects = torch.tensor(effects).view(cfg.n_layers, cfg.n_heads)
plots.imshow(effects, x=[f"H{h}" for h in range(cfg.n_heads)], y=["L0", "L1"], title="loss increase when a head is ablated", xaxis="head", yaxis="layer")

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
#   heads stop attending uniformly.
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
