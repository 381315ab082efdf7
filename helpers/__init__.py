"""Helpers for the course *Mechanistic interpretability of small transformers, from scratch*.

A thin, typed package. Each module has one job; each function's docstring names the notebook
that introduces the idea. Importing ``helpers`` does nothing but define things: import the
modules you need, e.g. ``from helpers import configs, models, training``.

Modules
-------
- ``configs``     frozen, validated dataclass configs for models and training (notebook 00)
- ``models``      TransformerLens models built from those configs (notebook 00)
- ``checkpoints`` safetensors checkpoints with a JSON card, checked on load (notebook 00)
- ``data``        the offline corpus, hub corpora when online, tokenizers (notebooks 00, 01)
- ``tasks``       synthetic tasks: repeated tokens, modular arithmetic, min/median (03, 06, 08, 09)
- ``training``    a small training loop with history and snapshots (notebook 00)
- ``heads``       attention-head detectors: previous-token, induction, duplicate, first-token (03, 04)
- ``lm``          the language-model training recipe and its CLI (notebooks 01-04)
- ``bigram``      count-based bigram tables and the 0-layer model's bigram (notebook 01)
- ``circuits``    logit decomposition, QK/OV circuits, copying scores, composition, patching (02, 03)
- ``dla``         direct logit attribution through LayerNorm, logit lens, neurons (notebook 04)
- ``sentiment``   the review corpus, a readable classifier, baselines, tokenizers compared (05)
- ``sweep``       small local hyperparameter sweeps, optional wandb (notebook 05)
- ``report``      regenerates Documentation/Report.md from the notebooks' outputs
- ``train``       the training command line: ``python -m helpers.train TASK``
- ``analysis``    evaluation and small analysis tools shared across notebooks
- ``plots``       plotly figures and circuitsvis views that render offline (notebook 00)
- ``checks``      exercise self-checks and claim assertions (notebook 00)
- ``runtime``     device choice, seeding and notebook set-up (notebook 00)
"""

__version__ = "0.1.0"
