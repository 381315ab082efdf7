"""Which tokens decide (notebook 05): linear baselines, per-token direct logit attribution,
and how far the two agree."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor

from helpers.errors import ConfigError
from helpers.sentiment.classifier import AttnOnlyClassifier, Encoded
from helpers.sentiment.reviews import Reviews

# --- the linear baseline -------------------------------------------------------------------


def logistic_baseline(enc: Encoded, C: float = 0.5, seed: int = 0) -> tuple[float, Float[Tensor, " vocab"]]:
    """Bag-of-tokens logistic regression on the same split: (validation accuracy, weight per token)."""
    from sklearn.linear_model import LogisticRegression

    X_train, X_val = enc.vocab.bag(enc.train_tokens), enc.vocab.bag(enc.val_tokens)
    clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed)
    clf.fit(X_train, enc.train_labels.numpy())
    return float(clf.score(X_val, enc.val_labels.numpy())), torch.tensor(clf.coef_[0], dtype=torch.float32)


def word_baseline(reviews: Reviews, C: float = 0.5, seed: int = 0) -> float:
    """The textbook baseline: logistic regression on a bag of *words* (scikit-learn's tokeniser)."""
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = CountVectorizer(binary=True)
    X_train = vec.fit_transform(reviews.train_texts)
    clf = LogisticRegression(C=C, max_iter=2000, solver="liblinear", random_state=seed).fit(
        X_train, reviews.train_labels
    )
    return float(clf.score(vec.transform(reviews.val_texts), reviews.val_labels))


# --- which tokens decide -------------------------------------------------------------------


def logit_diff_direction(model: AttnOnlyClassifier) -> Float[Tensor, " d_model"]:
    """The residual direction that raises 'positive' over 'negative': W_U[:, 1] - W_U[:, 0]."""
    return model.W_U[:, 1] - model.W_U[:, 0]


@torch.no_grad()
def token_attributions(model: AttnOnlyClassifier, tokens: Int[Tensor, "batch pos"]) -> dict[str, Tensor]:
    """How much each source token matters to the [CLS] position's decision, three ways.

    Returned (each ``[batch, pos]``, summed over the last layer's heads):

    - ``attention``: attention from [CLS] to each token (averaged over heads);
    - ``norm_weighted``: attention times the size of what the token writes, ``A * |x W_V W_O|``;
    - ``dla``: the token's direct contribution to the logit difference through the last layer,
      ``A * (x W_V W_O) . (W_U[:,1] - W_U[:,0])``. With ``remainder`` (the [CLS] residual's own
      direct term plus ``b_U``) it sums exactly to the logit difference: ``logit_diff``.
    """
    logits, cache = model.run_with_cache(tokens)
    last = len(model.blocks) - 1
    pattern = cache[f"blocks.{last}.attn.hook_pattern"][:, :, -1]  # [batch head k]
    outs = model.blocks[last].head_outputs(cache[f"blocks.{last}.hook_resid_pre"])  # [batch head k d]
    direction = logit_diff_direction(model)
    dla = torch.einsum("bhk,bhkd,d->bk", pattern, outs, direction)
    remainder = cache[f"blocks.{last}.hook_resid_pre"][:, -1] @ direction + model.b_U[1] - model.b_U[0]
    return {
        "attention": pattern.mean(1),
        "norm_weighted": (pattern * outs.norm(dim=-1)).sum(1),
        "dla": dla,
        "remainder": remainder,
        "logit_diff": logits[:, 1] - logits[:, 0],
    }


def mean_dla_per_token(model: AttnOnlyClassifier, enc: Encoded, min_count: int = 20) -> dict[int, float]:
    """Each token's average DLA over its occurrences in the validation reviews (frequent tokens only)."""
    dla = token_attributions(model, enc.val_tokens)["dla"]
    ids, vals = enc.val_tokens.flatten(), dla.flatten()
    sums = torch.zeros(enc.vocab.size).index_add_(0, ids, vals)
    counts = torch.zeros(enc.vocab.size).index_add_(0, ids, torch.ones_like(vals))
    specials = {enc.vocab.pad, enc.vocab.cls, enc.vocab.unk}
    return {
        i: float(sums[i] / counts[i]) for i in range(enc.vocab.size) if counts[i] >= min_count and i not in specials
    }


def sign_agreement(top_ids: Sequence[int], model_scores: dict[int, float], weights: Tensor) -> float:
    """Fraction of ``top_ids`` whose model score and baseline weight have the same sign."""
    if not top_ids:
        raise ConfigError("sign_agreement needs at least one token id.")
    return sum((model_scores[i] > 0) == (float(weights[i]) > 0) for i in top_ids) / len(top_ids)
