"""Grokking modular arithmetic on a CPU: a fast exact trainer and its CLI (notebooks 06 and 07).

The model of Nanda et al. (2023), "Progress measures for grokking via mechanistic
interpretability": one layer, d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm, on
inputs ``[a, b, =]``. The notebooks analyse it as a TransformerLens model
(``helpers.models.build_model``). Training that model directly is slow on a CPU, so
``FastGrokModel`` computes *the same function* more cheaply:

- the loss reads only the last position, so the MLP and the unembedding run only there
  (the other two positions are needed only as attention keys and values);
- every input is 3 (position, token) pairs, and a batch holds only a few hundred distinct
  pairs: keys, values and queries are computed once per distinct pair and looked up;
- everything linear is regrouped around the attention pattern: what a (pair, head) writes to
  the residual stream is multiplied by ``W_in`` and ``W_U`` once per pair (a small table), and
  each example only takes a pattern-weighted sum of 12 table rows (``F.embedding_bag``). The
  MLP's output goes to the logits through the [d_vocab, d_mlp] product ``W_U @ W_out``. So the
  big per-example products ``@ W_O``, ``@ W_in``, ``@ W_U`` disappear; one remains;
- the loss's softmax in float64, as in the paper (float32 "slingshots" once the train loss is
  ~1e-7); fused AdamW; full batch.

``FastGrokModel.from_tl`` / ``to_tl`` move the weights to and from the TransformerLens model
(``tests/test_grokking.py`` proves the logits and every weight's gradient agree). ``train_grokking`` adds an optional
Grokfast-EMA gradient filter (Lee et al. 2024): ``g <- g + lambda * EMA_alpha(g)``.

CLI: ``python -m helpers.train grokking --prime 113 --train-frac 0.3 --epochs 25000 --out DIR``.

Modules: ``config`` (``GrokConfig``), ``model`` (``FastGrokModel``, ``all_pairs``, ``grid_logits``),
``trainer`` (``train_grokking``, ``GrokHistory``, ``phases``, ``GrokState``), ``runs`` (a run on disk:
``load_run``, ``load_snapshot``, resume state), ``cli`` (the command), ``trends`` (``trend_evidence``).
"""

from helpers.grokking.cli import cli_main
from helpers.grokking.config import GrokConfig
from helpers.grokking.model import TL_NAMES, FastGrokModel, all_pairs, grid_logits, weight_norm
from helpers.grokking.runs import RESUME_FILE, RESUME_FORMAT, load_run, load_snapshot, load_state, save_run, save_state
from helpers.grokking.trainer import GrokHistory, GrokState, phases, train_grokking
from helpers.grokking.trends import TrendEvidence, trend_evidence

__all__ = [
    "RESUME_FILE",
    "RESUME_FORMAT",
    "TL_NAMES",
    "FastGrokModel",
    "GrokConfig",
    "GrokHistory",
    "GrokState",
    "TrendEvidence",
    "all_pairs",
    "cli_main",
    "grid_logits",
    "load_run",
    "load_snapshot",
    "load_state",
    "phases",
    "save_run",
    "save_state",
    "train_grokking",
    "trend_evidence",
    "weight_norm",
]
